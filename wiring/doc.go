// Package wiring turns a loaded, valid config.Config into the product's
// running parts: the logger, the Zoho client with its token source, and the
// pipeline's options. It is the one place where configuration keys meet the
// packages' options, so every command (consumer run, demo, dlq replay) and
// every test that needs "the pipeline as consumer run builds it" gets the
// same parts from the same keys.
//
//	config.Config ──PipelineOptions──▶ pipeline.Options (every setting a key:
//	     │                             kafka.*, zoho.*, consent.*, mapping.*,
//	     │                             batch.*, delivery.*; Kafka connection
//	     │                             from kafkaconn)
//	     ├──ZohoClient──▶ zohoapi.Client + TokenSource (zoho.* hosts, OAuth
//	     │                client, token cache, request timeout)
//	     ├──Logger──────▶ zap.Logger (log.level, log.format)
//	     └──ServeHTTP───▶ /healthz, /readyz, /metrics on http.listen
//
// Guarantees:
//
//   - Defaults come from config only (config.Defaults fills every key);
//     wiring copies values, it has none of its own, and the packages it
//     feeds refuse missing values instead of guessing.
//   - Secrets (zoho.client_secret, zoho.refresh_token) go from
//     config.Config.Credentials straight into the token source; nothing here
//     logs or formats them.
package wiring
