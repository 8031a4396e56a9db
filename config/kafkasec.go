package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// KafkaTLS configures TLS on every connection to the brokers (kafka.tls.*):
// the consumer, the dead-letter producer and every operator command.
type KafkaTLS struct {
	// Enabled turns TLS on. The brokers' certificates are verified against the
	// system roots, or against CAFile when it is set. Default false
	// (PLAINTEXT, or SASL_PLAINTEXT with kafka.sasl.mechanism).
	Enabled bool `mapstructure:"enabled" yaml:"enabled" json:"enabled"`
	// CAFile is a PEM file of the CA certificates that sign the brokers'
	// certificates, replacing the system roots. Default "" (system roots).
	CAFile string `mapstructure:"ca_file" yaml:"ca_file" json:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate (chain) and its
	// private key for mutual TLS; both or neither. Default "".
	CertFile string `mapstructure:"cert_file" yaml:"cert_file" json:"cert_file"`
	KeyFile  string `mapstructure:"key_file" yaml:"key_file" json:"key_file"`
	// ServerName overrides the name sent as SNI and verified against the
	// brokers' certificates. Default "": each broker's host name.
	ServerName string `mapstructure:"server_name" yaml:"server_name" json:"server_name"`
	// InsecureSkipVerify accepts any broker certificate. Only for tests: the
	// traffic, SASL credentials included, is then open to anyone on the
	// network path; SecurityWarnings says so. Default false.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify" yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
}

// KafkaSASL configures SASL authentication on every connection to the brokers
// (kafka.sasl.*).
type KafkaSASL struct {
	// Mechanism is one of SASLMechanisms (case-insensitive), or "" for no
	// SASL. Default "".
	Mechanism string `mapstructure:"mechanism" yaml:"mechanism" json:"mechanism"`
	// Username is the PLAIN or SCRAM user (Confluent Cloud: the API key).
	// Default "".
	Username string `mapstructure:"username" yaml:"username" json:"username"`
	// Password is the PLAIN or SCRAM password (Confluent Cloud: the API
	// secret). Default ""; always redacted: prefer ZOHOSINK_KAFKA_SASL_PASSWORD.
	Password Secret `mapstructure:"password" yaml:"password" json:"password"`
	// OAuthTokenFile is the file holding the OAUTHBEARER token (a JWT, as a
	// token sidecar or Kubernetes projected volume writes it); it is read
	// again at every authentication, so a rotated token is used from the next
	// connection or re-authentication on. Default "".
	OAuthTokenFile string `mapstructure:"oauth_token_file" yaml:"oauth_token_file" json:"oauth_token_file"`
}

// The SASL mechanisms of kafka.sasl.mechanism.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
	SASLOAuthBearer = "OAUTHBEARER"
	SASLAWSMSKIAM   = "AWS_MSK_IAM"
)

// SASLMechanisms lists the values kafka.sasl.mechanism accepts.
var SASLMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLOAuthBearer, SASLAWSMSKIAM}

// AWS environment variables AWS_MSK_IAM takes its credentials from (the AWS
// SDKs' standard names; "Environment variables to configure the AWS CLI").
const (
	EnvAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvAWSSessionToken    = "AWS_SESSION_TOKEN"
)

// MechanismName returns kafka.sasl.mechanism in its canonical upper-case
// spelling ("scram-sha-256" → "SCRAM-SHA-256"); "" means no SASL.
func (s KafkaSASL) MechanismName() string {
	return strings.ToUpper(strings.TrimSpace(s.Mechanism))
}

// validateKafkaSecurity checks kafka.tls.* and kafka.sasl.*: files that must
// be readable PEM, keys that come in pairs, the credentials each mechanism
// needs, and settings that would be ignored.
func (c *Config) validateKafkaSecurity(p *problems) {
	t := c.Kafka.TLS
	if !t.Enabled {
		for _, f := range []struct{ key, val string }{
			{"kafka.tls.ca_file", t.CAFile}, {"kafka.tls.cert_file", t.CertFile}, {"kafka.tls.key_file", t.KeyFile},
			{"kafka.tls.server_name", t.ServerName},
		} {
			if strings.TrimSpace(f.val) != "" {
				p.add(f.key, "is set but kafka.tls.enabled is false: set kafka.tls.enabled: true to use TLS")
			}
		}
		if t.InsecureSkipVerify {
			p.add("kafka.tls.insecure_skip_verify", "is true but kafka.tls.enabled is false")
		}
	} else {
		if t.CAFile != "" {
			if pem, err := os.ReadFile(t.CAFile); err != nil {
				p.add("kafka.tls.ca_file", fmt.Sprintf("cannot read %q: %v", t.CAFile, fileProblem(err)))
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				p.add("kafka.tls.ca_file", fmt.Sprintf("%q holds no PEM certificate", t.CAFile))
			}
		}
		switch {
		case t.CertFile != "" && t.KeyFile == "":
			p.add("kafka.tls.key_file", "is required with kafka.tls.cert_file (the client certificate's private key)")
		case t.CertFile == "" && t.KeyFile != "":
			p.add("kafka.tls.cert_file", "is required with kafka.tls.key_file (the client certificate)")
		case t.CertFile != "":
			c.validateKeyPair(p)
		}
	}

	s := c.Kafka.SASL
	mech := s.MechanismName()
	user, pass, token := strings.TrimSpace(s.Username) != "", s.Password.IsSet(), strings.TrimSpace(s.OAuthTokenFile) != ""
	switch mech {
	case "":
		if user || pass || token {
			p.add("kafka.sasl.mechanism", fmt.Sprintf("is required when other kafka.sasl keys are set (one of %s)", strings.Join(SASLMechanisms, ", ")))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if !user {
			p.add("kafka.sasl.username", "is required with mechanism "+mech)
		}
		if !pass {
			p.add("kafka.sasl.password", "is required with mechanism "+mech+" (prefer "+EnvVar("kafka.sasl.password")+")")
		}
	case SASLOAuthBearer:
		if !token {
			p.add("kafka.sasl.oauth_token_file", "is required with mechanism "+mech)
		} else if b, err := os.ReadFile(s.OAuthTokenFile); err != nil {
			p.add("kafka.sasl.oauth_token_file", fmt.Sprintf("cannot read %q: %v", s.OAuthTokenFile, fileProblem(err)))
		} else if strings.TrimSpace(string(b)) == "" {
			p.add("kafka.sasl.oauth_token_file", fmt.Sprintf("%q is empty", s.OAuthTokenFile))
		}
	case SASLAWSMSKIAM:
		var missing []string
		for _, v := range []string{EnvAWSAccessKeyID, EnvAWSSecretAccessKey} {
			if os.Getenv(v) == "" {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			p.add("kafka.sasl.mechanism", fmt.Sprintf("%s takes its credentials from the environment: set %s (and %s for temporary credentials)",
				mech, strings.Join(missing, " and "), EnvAWSSessionToken))
		}
		if !t.Enabled {
			p.add("kafka.tls.enabled", mech+" needs TLS (MSK's IAM listeners, port 9098, accept TLS only): set kafka.tls.enabled: true")
		}
	default:
		problem := fmt.Sprintf("unknown mechanism %q (want one of %s)", s.Mechanism, strings.Join(SASLMechanisms, ", "))
		if sug := suggest(mech, SASLMechanisms); sug != "" {
			problem = fmt.Sprintf("unknown mechanism %q (did you mean %q?)", s.Mechanism, sug)
		}
		p.add("kafka.sasl.mechanism", problem)
	}
}

// validateKeyPair checks that kafka.tls.cert_file and key_file are readable
// and belong together.
func (c *Config) validateKeyPair(p *problems) {
	t := c.Kafka.TLS
	ok := true
	for _, f := range []struct{ key, path string }{{"kafka.tls.cert_file", t.CertFile}, {"kafka.tls.key_file", t.KeyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			p.add(f.key, fmt.Sprintf("cannot read %q: %v", f.path, fileProblem(err)))
			ok = false
		}
	}
	if !ok {
		return
	}
	// The error names files and PEM structure, never key material.
	if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
		p.add("kafka.tls.cert_file", fmt.Sprintf("%q and kafka.tls.key_file %q are not a usable PEM certificate and key: %v", t.CertFile, t.KeyFile, err))
	}
}

// fileProblem shortens an os error to its cause ("no such file or
// directory", "permission denied"): the path is already in the message.
func fileProblem(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// SecurityWarnings returns what is allowed but unsafe or ignored in kafka.tls
// and kafka.sasl, one line each starting with the key: insecure_skip_verify, a
// PLAIN password sent without TLS, and credentials the mechanism does not use.
// Commands print or log them at start; Validate does not count them as problems.
func (k Kafka) SecurityWarnings() []string {
	var out []string
	if k.TLS.Enabled && k.TLS.InsecureSkipVerify {
		out = append(out, "kafka.tls.insecure_skip_verify: true: the brokers' certificates are not verified, so anyone on the network path can read and change the traffic (SASL credentials included); use it only for tests")
	}
	mech := k.SASL.MechanismName()
	if !k.TLS.Enabled && mech == SASLPlain {
		out = append(out, "kafka.sasl.mechanism: PLAIN without kafka.tls.enabled sends the password in clear text")
	}
	unused := func(key string, set bool) {
		if set {
			out = append(out, fmt.Sprintf("%s: is set but not used with mechanism %s", key, mech))
		}
	}
	switch mech {
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		unused("kafka.sasl.oauth_token_file", strings.TrimSpace(k.SASL.OAuthTokenFile) != "")
	case SASLOAuthBearer, SASLAWSMSKIAM:
		unused("kafka.sasl.username", strings.TrimSpace(k.SASL.Username) != "")
		unused("kafka.sasl.password", k.SASL.Password.IsSet())
		if mech == SASLAWSMSKIAM {
			unused("kafka.sasl.oauth_token_file", strings.TrimSpace(k.SASL.OAuthTokenFile) != "")
		}
	}
	return out
}
