// Package config loads, defaults, validates and prints zohosink's configuration.
//
// Where a value comes from, highest priority first:
//
//	command-line flag  (only flags in the FlagSet given to Load, and only when set)
//	environment        ZOHOSINK_ + key path upper-cased, "." → "_" (ZOHOSINK_ZOHO_CLIENT_SECRET)
//	YAML file          the optional path given to Load (see example.yaml beside this file)
//	default            Defaults()
//
// An empty environment variable counts as unset (ZOHOSINK_ZOHO_MODULE= leaves
// zoho.module to the file or the default), so the environment cannot set a
// key to ""; zoho.token_cache_file accepts "off" for that reason.
//
// Every key of the contract in DESIGN.md ("Contract: configuration") is a field of
// Config; the key is the snake_case path of mapstructure tags (kafka.dlq_topic,
// batch.max_records; a struct field is a group one level deeper:
// kafka.tls.ca_file, kafka.sasl.mechanism, a nested mapping in the file). Load remembers which of the four sources supplied each key,
// so that Print ("consumer config print") can say so.
//
// Guarantees:
//   - Validate reports every problem at once, each as a *FieldError naming the key;
//     Load also reports keys in the file and non-empty ZOHOSINK_* variables
//     that zohosink does not know (typos are never silently ignored; the
//     project's non-configuration variables are listed in OtherEnvVars), and
//     a value that cannot be decoded once, naming its source
//     ("batch.max_records (from ZOHOSINK_BATCH_MAX_RECORDS): "abc" is not a
//     whole number"), without Validate's follow-on verdict on its zero value.
//   - Secrets (zoho.client_secret, zoho.refresh_token, kafka.sasl.password) are of type Secret, which
//     redacts itself in fmt, JSON, YAML and text encodings; no error produced by
//     this package contains a secret's value.
//   - Credentials that still hold a placeholder of the shipped examples
//     (config/example.yaml, the Kubernetes Secret example, the commands in
//     README.md and --help; placeholder.go, tested against those files) are
//     refused, naming the key (*FieldError wrapping ErrPlaceholder).
//   - kafka.tls and kafka.sasl are checked as kafkaconn will use them: files
//     readable and PEM, pairs complete, each mechanism's credentials present.
//   - The package imports only zohoapi's data-center helpers, so the hosts are
//     checked exactly as the client will use them.
package config
