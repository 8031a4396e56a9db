package kafkaconn_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/kafkaconn"
)

const probeTimeout = 20 * time.Second

// TestOptionsRoundTripOverEachMechanism: a client made of Options alone
// produces to and consumes from a cluster that requires TLS (and mutual
// TLS, and each SASL mechanism kfake supports).
func TestOptionsRoundTripOverEachMechanism(t *testing.T) {
	for _, sec := range []kafkatest.FakeSecurity{
		{}, {MutualTLS: true}, {Mechanism: "PLAIN"}, {Mechanism: "SCRAM-SHA-256"}, {Mechanism: "SCRAM-SHA-512"},
	} {
		t.Run(sec.Mechanism+map[bool]string{true: "mTLS", false: "TLS"}[sec.MutualTLS], func(t *testing.T) {
			_, brokers, _ := kafkatest.SecureFakeCluster(t, sec)
			k := kafkatest.Settings(brokers)
			opts, err := kafkaconn.Options(k)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic("events"), kgo.AllowAutoTopicCreation(),
				kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
			defer cancel()
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("hello")}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			fs := cl.PollRecords(ctx, 1)
			if err := fs.Err0(); err != nil || len(fs.Records()) != 1 || string(fs.Records()[0].Value) != "hello" {
				t.Fatalf("consume: %v %v", fs.Records(), err)
			}
		})
	}
}

// TestDiagnose: each way a connection fails is told apart, names the key to
// fix, and never shows the password.
func TestDiagnose(t *testing.T) {
	const password = "kafkatest-superuser-password"
	_, scram, _ := kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{Mechanism: "SCRAM-SHA-256", Password: password})
	_, mtls, _ := kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{MutualTLS: true})
	good := kafkatest.Settings(scram)
	closed := kafkatest.ClosedAddr(t)

	for _, tc := range []struct {
		name   string
		k      func() config.Kafka
		kind   kafkaconn.Kind
		key    string
		reason string
	}{
		{"wrong SCRAM password", func() config.Kafka { k := good; k.SASL.Password = "wrong-password"; return k },
			kafkaconn.SASLAuthentication, "kafka.sasl.password", `SASL authentication failed: the broker closed the connection while authenticating SCRAM-SHA-256 as "zohosink"`},
		{"unknown user", func() config.Kafka { k := good; k.SASL.Username = "nobody"; return k },
			kafkaconn.SASLAuthentication, "kafka.sasl.password", `authenticating SCRAM-SHA-256 as "nobody"`},
		{"mechanism the broker lacks", func() config.Kafka {
			k := good
			k.SASL = config.KafkaSASL{Mechanism: "OAUTHBEARER", OAuthTokenFile: tokenFile(t, "eyJhbGciOiJub25lIn0.e30.")}
			return k
		}, kafkaconn.SASLAuthentication, "kafka.sasl.mechanism", "the broker does not enable mechanism OAUTHBEARER"},
		{"CA not configured (system roots)", func() config.Kafka { k := good; k.TLS.CAFile = ""; return k },
			kafkaconn.TLSHandshake, "kafka.tls.ca_file", "TLS handshake failed: the broker's certificate is signed by an authority the system does not trust"},
		{"another CA", func() config.Kafka {
			k := good
			k.TLS.CAFile = kafkatest.Settings(mtls).TLS.CAFile
			return k
		}, kafkaconn.TLSHandshake, "kafka.tls.ca_file", "the broker's certificate is not signed by a CA in"},
		{"name mismatch", func() config.Kafka { k := good; k.TLS.ServerName = "kafka.example.com"; return k },
			kafkaconn.TLSHandshake, "kafka.tls.server_name", "the broker's certificate is for localhost, 127.0.0.1, ::1, not kafka.example.com"},
		{"TLS to a PLAINTEXT listener", func() config.Kafka {
			return config.Kafka{Brokers: []string{plaintextKafka(t)}, TLS: good.TLS}
		}, kafkaconn.TLSHandshake, "kafka.tls.enabled", "the broker closed the connection during the TLS handshake"},
		{"no TLS to a TLS listener", func() config.Kafka { k := good; k.TLS = config.KafkaTLS{}; return k },
			kafkaconn.Unreachable, "kafka.brokers", "the broker closed the connection: a TLS listener needs kafka.tls.enabled: true"},
		{"no client certificate for mutual TLS", func() config.Kafka {
			k := kafkatest.Settings(mtls)
			k.TLS.CertFile, k.TLS.KeyFile = "", ""
			return k
		}, kafkaconn.TLSHandshake, "kafka.tls.cert_file", "the broker requires a client certificate (mutual TLS)"},
		{"nothing listening", func() config.Kafka { return config.Kafka{Brokers: []string{closed}} },
			kafkaconn.Unreachable, "kafka.brokers", "broker unreachable: cannot connect to " + closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kafkaconn.Probe(context.Background(), tc.k(), probeTimeout)
			var f *kafkaconn.Failure
			if !errors.As(err, &f) {
				t.Fatalf("Probe = %v (%T), want a *Failure", err, err)
			}
			if f.Kind != tc.kind || f.Key != tc.key || !strings.Contains(f.Reason, tc.reason) {
				t.Errorf("Failure = %q (kind %q, key %q), want kind %q, key %q, reason containing %q", f.Error(), f.Kind, f.Key, tc.kind, tc.key, tc.reason)
			}
			if strings.Contains(f.Error(), password) {
				t.Errorf("the failure shows the password: %s", f)
			}
		})
	}
	if _, err := kafkaconn.Probe(context.Background(), good, probeTimeout); err != nil {
		t.Fatalf("the good settings fail: %v", err)
	}
}

// plaintextKafka is a listener that does what a Kafka PLAINTEXT listener does
// with a TLS ClientHello: it reads the first bytes, takes them for the size of
// a request far above socket.request.max.bytes, and closes the connection.
// (kfake instead waits for the announced bytes, so a client would time out.)
func plaintextKafka(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 4))
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func tokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOAuthBearerRereadsTokenFile: every authentication reads the token file
// again, so a rotated token is used from the next connection on.
func TestOAuthBearerRereadsTokenFile(t *testing.T) {
	path := tokenFile(t, "token-one")
	m, err := kafkaconn.Mechanism(config.KafkaSASL{Mechanism: "oauthbearer", OAuthTokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	first := func() []byte {
		t.Helper()
		_, msg, err := m.Authenticate(context.Background(), "127.0.0.1:9092")
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	if msg := first(); !bytes.Contains(msg, []byte("auth=Bearer token-one\x01")) {
		t.Fatalf("first message %q lacks the token", msg)
	}
	if err := os.WriteFile(path, []byte("token-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := first(); !bytes.Contains(msg, []byte("auth=Bearer token-two\x01")) {
		t.Fatalf("after rotation, the message %q lacks the new token", msg)
	}
	if err := os.WriteFile(path, []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Authenticate(context.Background(), "127.0.0.1:9092"); err == nil || !strings.Contains(err.Error(), "kafka.sasl.oauth_token_file") {
		t.Fatalf("empty token file: err = %v", err)
	}
}

// TestAWSMSKIAMUsesEnvironment: AWS_MSK_IAM signs with the credentials of the
// standard AWS variables, read at each authentication, and names the
// variables (not their values) when they are missing.
func TestAWSMSKIAMUsesEnvironment(t *testing.T) {
	t.Setenv(config.EnvAWSAccessKeyID, "AKIDFIRST")
	t.Setenv(config.EnvAWSSecretAccessKey, "secret-key-value")
	t.Setenv(config.EnvAWSSessionToken, "")
	m, err := kafkaconn.Mechanism(config.KafkaSASL{Mechanism: "AWS_MSK_IAM"})
	if err != nil {
		t.Fatal(err)
	}
	const host = "b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"
	_, msg, err := m.Authenticate(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"x-amz-credential":"AKIDFIRST/`, `/eu-west-1/kafka-cluster/aws4_request"`, `"user-agent":"zohosink"`} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("signed request %s lacks %s", msg, want)
		}
	}
	if bytes.Contains(msg, []byte("secret-key-value")) {
		t.Error("the signed request contains the secret key")
	}
	t.Setenv(config.EnvAWSAccessKeyID, "AKIDROTATED")
	t.Setenv(config.EnvAWSSessionToken, "session-token")
	if _, msg, err = m.Authenticate(context.Background(), host); err != nil || !bytes.Contains(msg, []byte("AKIDROTATED/")) || !bytes.Contains(msg, []byte(`"x-amz-security-token":"session-token"`)) {
		t.Errorf("rotated credentials not used: %s %v", msg, err)
	}
	t.Setenv(config.EnvAWSSecretAccessKey, "")
	if _, _, err := m.Authenticate(context.Background(), host); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY must be set") {
		t.Errorf("missing secret key: err = %v", err)
	}
}

// TestOptionsErrorsNameTheKey: files that cannot be used are errors naming
// their key.
func TestOptionsErrorsNameTheKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for key, k := range map[string]config.Kafka{
		"kafka.tls.ca_file":    {TLS: config.KafkaTLS{Enabled: true, CAFile: missing}},
		"kafka.tls.cert_file":  {TLS: config.KafkaTLS{Enabled: true, CertFile: missing, KeyFile: missing}},
		"kafka.sasl.mechanism": {SASL: config.KafkaSASL{Mechanism: "GSSAPI"}},
	} {
		_, err := kafkaconn.Options(k)
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Key != key {
			t.Errorf("Options(%+v) = %v, want a problem of %s", k, err, key)
		}
	}
}

// TestConnExplain: Explain turns a failed request of the Conn's clients into
// the Failure naming the key, and leaves every other error as it is: the
// command's own, and an HTTP call's (Zoho) even after a Kafka connection
// failed.
func TestConnExplain(t *testing.T) {
	closed := kafkatest.ClosedAddr(t)
	c, err := kafkaconn.Connect(config.Kafka{Brokers: []string{closed}})
	if err != nil {
		t.Fatal(err)
	}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	own := errors.New("--since and --from are alternatives: give one")
	if c.Explain(nil) != nil || c.Explain(own) != own || c.Explain(dial) != dial {
		t.Fatal("Explain changed nil, a command's error, or a dial error no client of the Conn had")
	}

	cl, err := kgo.NewClient(append(c.Options(), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	reqErr := cl.Ping(ctx)
	var f *kafkaconn.Failure
	if err := c.Explain(reqErr); !errors.As(err, &f) || f.Kind != kafkaconn.Unreachable || f.Key != "kafka.brokers" || !errors.Is(err, reqErr) {
		t.Fatalf("Explain(%v) = %v, want the unreachable failure of kafka.brokers wrapping it", reqErr, err)
	}
	if again := c.Explain(f); again != f {
		t.Errorf("Explain of a Failure = %v, want it as it is", again)
	}
	zoho := &url.Error{Op: "Post", URL: "https://accounts.zoho.eu/oauth/v2/token", Err: dial}
	if err := c.Explain(zoho); err != zoho {
		t.Errorf("Explain took an HTTP error for Kafka's: %v", err)
	}
}
