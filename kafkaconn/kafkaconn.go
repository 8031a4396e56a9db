// Package kafkaconn is how zohosink reaches and authenticates to Kafka.
//
// Options turns the connection part of the configuration — kafka.brokers,
// kafka.client_id, kafka.tls.* and kafka.sasl.* — into franz-go client
// options. Every Kafka client of the product is built from them: the
// pipeline's consumer and its dead-letter producer, the replayer, and every
// operator command (offsets show/reset, dlq inspect/stats/replay, config
// validate --online). So when one of them connects, all of them do, with the
// same TLS roots, client certificate and SASL credentials.
//
//	config.Kafka ──Options──▶ kgo.SeedBrokers, kgo.ClientID,
//	                          kgo.DialTLSConfig (system roots or ca_file, client cert, server_name),
//	                          kgo.SASL (PLAIN | SCRAM-SHA-256/512 | OAUTHBEARER | AWS_MSK_IAM)
//
// Secrets are read where they are used: the SASL password is handed to
// franz-go's mechanism, the OAUTHBEARER token file and the AWS credentials in
// the environment are read again at every authentication (a new connection or
// a KIP-368 re-authentication), so rotated tokens and keys are picked up
// without a restart. No error of this package contains a secret.
//
// Diagnose explains a failed request in the terms of the configuration:
// broker unreachable, TLS handshake failed (unknown authority, name mismatch,
// client certificate refused, not a TLS listener), SASL authentication
// failed, or not authorized for a topic or the group — each naming the key to
// look at. A Conn (Connect) is the connection of one command: its Options
// carry a hook that follows how far connections got, and its Explain turns
// any of its clients' failed requests into that diagnosis (and leaves every
// other error alone), so every operator command reports a broken connection
// the same way, key first.
package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/zohosink/zohosink/config"
)

// Options returns the franz-go options that connect to the cluster k
// describes: kgo.SeedBrokers(k.Brokers...), kgo.ClientID(k.ClientID) when
// set, kgo.DialTLSConfig when k.TLS.Enabled, and kgo.SASL when
// k.SASL.Mechanism is set. Callers add their own options (consumer group,
// producer limits) after them.
//
// It reads kafka.tls.ca_file, cert_file and key_file now; an unreadable or
// invalid file, or an unknown mechanism, is a *config.FieldError naming the
// key (Validate reports the same problems earlier, with every other one).
func Options(k config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(k.Brokers...)}
	if k.ClientID != "" {
		opts = append(opts, kgo.ClientID(k.ClientID))
	}
	if k.TLS.Enabled {
		tc, err := TLSConfig(k.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if k.SASL.MechanismName() != "" {
		m, err := Mechanism(k.SASL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// TLSConfig builds the client TLS configuration of kafka.tls (Enabled is not
// looked at): TLS 1.2 or later; the CA certificates of CAFile as the only
// roots, or the system roots when it is empty; the client certificate of
// CertFile and KeyFile for mutual TLS; ServerName as the name sent and
// verified (franz-go uses each broker's host when it is empty).
func TLSConfig(t config.KafkaTLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, // only when set explicitly, and then warned about (config.Kafka.SecurityWarnings)
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &config.FieldError{Key: "kafka.tls.ca_file", Problem: err.Error(), Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.FieldError{Key: "kafka.tls.ca_file", Problem: fmt.Sprintf("%q holds no PEM certificate", t.CAFile)}
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, &config.FieldError{Key: "kafka.tls.cert_file", Problem: "with kafka.tls.key_file: " + err.Error(), Err: err}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Mechanism returns franz-go's SASL mechanism for kafka.sasl:
//   - PLAIN: plain.Auth of Username and Password;
//   - SCRAM-SHA-256, SCRAM-SHA-512: scram.Auth of Username and Password;
//   - OAUTHBEARER: oauth.Auth whose token is OAuthTokenFile's content
//     (surrounding white space trimmed), read at every authentication;
//   - AWS_MSK_IAM: aws.Auth from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN (EnvCredentials), read at every authentication.
//
// An empty or unknown mechanism is an error.
func Mechanism(s config.KafkaSASL) (sasl.Mechanism, error) {
	switch mech := s.MechanismName(); mech {
	case config.SASLPlain:
		return plain.Auth{User: s.Username, Pass: s.Password.Value()}.AsMechanism(), nil
	case config.SASLScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.Password.Value()}.AsSha256Mechanism(), nil
	case config.SASLScramSHA512:
		return scram.Auth{User: s.Username, Pass: s.Password.Value()}.AsSha512Mechanism(), nil
	case config.SASLOAuthBearer:
		path := s.OAuthTokenFile
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			token, err := ReadToken(path)
			return oauth.Auth{Token: token}, err
		}), nil
	case config.SASLAWSMSKIAM:
		return aws.ManagedStreamingIAM(func(context.Context) (aws.Auth, error) {
			return EnvCredentials()
		}), nil
	default:
		return nil, &config.FieldError{Key: "kafka.sasl.mechanism", Problem: fmt.Sprintf("unknown mechanism %q (want one of %s)", s.Mechanism, strings.Join(config.SASLMechanisms, ", "))}
	}
}

// ReadToken returns the OAUTHBEARER token in the file at path, white space
// around it trimmed. A missing, unreadable or empty file is a
// *config.FieldError of kafka.sasl.oauth_token_file naming the path (never
// the token).
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &config.FieldError{Key: "kafka.sasl.oauth_token_file", Problem: err.Error(), Err: err}
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", &config.FieldError{Key: "kafka.sasl.oauth_token_file", Problem: fmt.Sprintf("%q is empty", path)}
	}
	return token, nil
}

// EnvCredentials returns the AWS credentials of the standard environment
// variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (for temporary
// credentials) AWS_SESSION_TOKEN, with user agent "zohosink". A missing key
// ID or secret key is an error naming the variables (never their values).
// Other AWS credential sources (profiles, instance metadata, web identity)
// are not read: export their credentials into these variables.
func EnvCredentials() (aws.Auth, error) {
	a := aws.Auth{
		AccessKey:    os.Getenv(config.EnvAWSAccessKeyID),
		SecretKey:    os.Getenv(config.EnvAWSSecretAccessKey),
		SessionToken: os.Getenv(config.EnvAWSSessionToken),
		UserAgent:    "zohosink",
	}
	if a.AccessKey == "" || a.SecretKey == "" {
		return aws.Auth{}, errors.New("AWS_MSK_IAM: " + config.EnvAWSAccessKeyID + " and " + config.EnvAWSSecretAccessKey + " must be set")
	}
	return a, nil
}

// AdminTimeout bounds every admin request of the operators' commands
// (offsets, config validate --online), retries included.
const AdminTimeout = 30 * time.Second

// Admin returns an admin client connected as Options(k) connects, with
// client id k.ClientID+"-admin" and requests retried for up to AdminTimeout,
// and a function that closes it. Its error is Options' or the client's.
// Commands whose errors an operator reads use Conn.Admin instead, so that
// Conn.Explain can diagnose them.
func Admin(k config.Kafka) (*kadm.Client, func(), error) {
	conn, err := Options(k)
	if err != nil {
		return nil, nil, err
	}
	return admin(conn, k.ClientID)
}

// admin is Admin over the connection options conn.
func admin(conn []kgo.Opt, clientID string) (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(append(conn,
		kgo.ClientID(clientID+"-admin"),
		kgo.RetryTimeout(AdminTimeout),
	)...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}
