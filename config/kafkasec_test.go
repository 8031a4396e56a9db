package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zohosink/zohosink/internal/tlstest"
)

// TestValidateKafkaSecurityListsEveryProblem: each bad kafka.tls / kafka.sasl
// setting is one problem naming its key, all reported at once.
func TestValidateKafkaSecurityListsEveryProblem(t *testing.T) {
	ca := tlstest.New(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	empty := filepath.Join(dir, "empty-token")
	for _, f := range []string{notPEM, empty} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	t.Setenv(EnvAWSAccessKeyID, "")
	t.Setenv(EnvAWSSecretAccessKey, "")

	for _, tc := range []struct {
		name string
		tls  KafkaTLS
		sasl KafkaSASL
		want []string // "key: part of the problem"
	}{
		{
			name: "unreadable CA, cert without key, misspelled mechanism",
			tls:  KafkaTLS{Enabled: true, CAFile: missing, CertFile: ca.ClientCertFile},
			sasl: KafkaSASL{Mechanism: "SCRAM-SHA256", Username: "u", Password: "p"},
			want: []string{
				`kafka.tls.ca_file: cannot read "` + missing + `": no such file or directory`,
				"kafka.tls.key_file: is required with kafka.tls.cert_file",
				`kafka.sasl.mechanism: unknown mechanism "SCRAM-SHA256" (did you mean "SCRAM-SHA-256"?)`,
			},
		},
		{
			name: "CA file without a certificate, key without cert, mechanism without credentials",
			tls:  KafkaTLS{Enabled: true, CAFile: notPEM, KeyFile: ca.ClientKeyFile},
			sasl: KafkaSASL{Mechanism: "plain"},
			want: []string{
				`kafka.tls.ca_file: "` + notPEM + `" holds no PEM certificate`,
				"kafka.tls.cert_file: is required with kafka.tls.key_file",
				"kafka.sasl.username: is required with mechanism PLAIN",
				"kafka.sasl.password: is required with mechanism PLAIN (prefer ZOHOSINK_KAFKA_SASL_PASSWORD)",
			},
		},
		{
			name: "certificate and a key of another certificate",
			tls:  KafkaTLS{Enabled: true, CertFile: ca.ClientCertFile, KeyFile: ca.ServerKeyFile},
			want: []string{`kafka.tls.cert_file: "` + ca.ClientCertFile + `" and kafka.tls.key_file "` + ca.ServerKeyFile + `" are not a usable PEM certificate and key`},
		},
		{
			name: "TLS keys while TLS is off, credentials without mechanism",
			tls:  KafkaTLS{CAFile: ca.CAFile, InsecureSkipVerify: true},
			sasl: KafkaSASL{Username: "u"},
			want: []string{
				"kafka.tls.ca_file: is set but kafka.tls.enabled is false",
				"kafka.tls.insecure_skip_verify: is true but kafka.tls.enabled is false",
				"kafka.sasl.mechanism: is required when other kafka.sasl keys are set",
			},
		},
		{
			name: "OAUTHBEARER with an empty token file",
			tls:  KafkaTLS{Enabled: true},
			sasl: KafkaSASL{Mechanism: "OAUTHBEARER", OAuthTokenFile: empty},
			want: []string{`kafka.sasl.oauth_token_file: "` + empty + `" is empty`},
		},
		{
			name: "OAUTHBEARER without a token file",
			sasl: KafkaSASL{Mechanism: "OAUTHBEARER"},
			want: []string{"kafka.sasl.oauth_token_file: is required with mechanism OAUTHBEARER"},
		},
		{
			name: "AWS_MSK_IAM without credentials in the environment and without TLS",
			sasl: KafkaSASL{Mechanism: "AWS_MSK_IAM"},
			want: []string{
				"kafka.sasl.mechanism: AWS_MSK_IAM takes its credentials from the environment: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
				"kafka.tls.enabled: AWS_MSK_IAM needs TLS",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.Kafka.TLS, c.Kafka.SASL = tc.tls, tc.sasl
			err := c.Validate()
			got := FieldErrors(err)
			if len(got) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", len(got), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(fe *FieldError) bool { return strings.HasPrefix(fe.Error(), w) }) {
					t.Errorf("no problem %q in:\n%v", w, err)
				}
			}
		})
	}
}

// TestValidateKafkaSecurityAcceptsEachMechanism: a complete setting of each
// mechanism is valid.
func TestValidateKafkaSecurityAcceptsEachMechanism(t *testing.T) {
	ca := tlstest.New(t)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("eyJhbGciOiJub25lIn0.e30.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvAWSAccessKeyID, "AKIDEXAMPLE")
	t.Setenv(EnvAWSSecretAccessKey, "wJalrXUtnFEMI")
	mtls := KafkaTLS{Enabled: true, CAFile: ca.CAFile, CertFile: ca.ClientCertFile, KeyFile: ca.ClientKeyFile}
	for _, s := range []KafkaSASL{
		{},
		{Mechanism: "PLAIN", Username: "key", Password: "secret"},
		{Mechanism: "scram-sha-256", Username: "u", Password: "p"},
		{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"},
		{Mechanism: "OAUTHBEARER", OAuthTokenFile: token},
		{Mechanism: "AWS_MSK_IAM"},
	} {
		c := validConfig()
		c.Kafka.TLS, c.Kafka.SASL = mtls, s
		if err := c.Validate(); err != nil {
			t.Errorf("mechanism %q: %v", s.Mechanism, err)
		}
	}
	if !slices.Equal(SASLMechanisms, []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "AWS_MSK_IAM"}) {
		t.Errorf("SASLMechanisms = %q", SASLMechanisms)
	}
}

// TestSASLPasswordNeverShown: kafka.sasl.password from the environment is
// redacted in Print, fmt and problems about it.
func TestSASLPasswordNeverShown(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	const pw = "kafka-Pa55word-value-9"
	t.Setenv("ZOHOSINK_KAFKA_SASL_PASSWORD", pw)
	t.Setenv("ZOHOSINK_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512") // no username: a problem
	c, err := Load("", nil)
	if c == nil {
		t.Fatal(err)
	}
	if got := keysOf(err); !reflect.DeepEqual(got, []string{"kafka.sasl.username"}) {
		t.Errorf("problems %q: %v", got, err)
	}
	if c.Kafka.SASL.Password.Value() != pw {
		t.Errorf("password not loaded")
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"Print": buf.String(), "error": fmt.Sprintf("%v %#v", err, err), "fmt": fmt.Sprintf("%v %+v %#v", c.Kafka, c.Kafka.SASL, *c),
	} {
		if strings.Contains(out, pw) {
			t.Errorf("%s shows the password:\n%s", name, out)
		}
	}
	if !strings.Contains(buf.String(), "    password: '[redacted]' # env ZOHOSINK_KAFKA_SASL_PASSWORD\n") {
		t.Errorf("Print lacks the redacted password:\n%s", buf.String())
	}
}

// TestNestedKeysInFileAndPrint: kafka.tls and kafka.sasl are nested mappings
// in the file (unknown nested keys are reported with a suggestion) and in
// Print's output.
func TestNestedKeysInFileAndPrint(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	ca := tlstest.New(t)
	path := writeFile(t, fmt.Sprintf(`
kafka:
  tls:
    enabled: true
    ca_file: %q
    ca_flie: x
  sasl: PLAIN
`, ca.CAFile))
	c, err := Load(path, nil)
	if c == nil {
		t.Fatal(err)
	}
	if got, want := keysOf(err), []string{"kafka.sasl", "kafka.tls.ca_flie"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("problems %q, want %q: %v", got, want, err)
	}
	for _, s := range []string{`kafka.tls.ca_flie: unknown key (did you mean "kafka.tls.ca_file"?)`, "kafka.sasl: must be a mapping of keys"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
	if !c.Kafka.TLS.Enabled || c.Kafka.TLS.CAFile != ca.CAFile || c.Source("kafka.tls.ca_file") != SourceFile {
		t.Errorf("kafka.tls = %+v (source %s)", c.Kafka.TLS, c.Source("kafka.tls.ca_file"))
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("  start_offset: earliest # default\n  tls:\n    enabled: true # file\n    ca_file: %s # file\n", ca.CAFile)
	if !strings.Contains(buf.String(), want) {
		t.Errorf("Print lacks\n%s\nin\n%s", want, buf.String())
	}
	if !strings.Contains(buf.String(), "  sasl:\n    mechanism: \"\" # default\n") {
		t.Errorf("Print lacks the sasl group:\n%s", buf.String())
	}
}

// TestBoolFromEnv: kafka.tls.enabled takes true/false from the environment
// and names a bad value.
func TestBoolFromEnv(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	t.Setenv("ZOHOSINK_KAFKA_TLS_ENABLED", "yes please")
	_, err := Load("", nil)
	if want := `kafka.tls.enabled (from ZOHOSINK_KAFKA_TLS_ENABLED): is not true or false`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
	t.Setenv("ZOHOSINK_KAFKA_TLS_ENABLED", "true")
	c, err := Load("", nil)
	if err != nil || !c.Kafka.TLS.Enabled {
		t.Errorf("Load = %+v, %v", c.Kafka.TLS, err)
	}
}

func TestSecurityWarnings(t *testing.T) {
	for _, tc := range []struct {
		k    Kafka
		want []string
	}{
		{Kafka{}, nil},
		{Kafka{TLS: KafkaTLS{Enabled: true, InsecureSkipVerify: true}}, []string{"kafka.tls.insecure_skip_verify: true: the brokers' certificates are not verified"}},
		{Kafka{SASL: KafkaSASL{Mechanism: "PLAIN", Username: "u", Password: "p"}}, []string{"kafka.sasl.mechanism: PLAIN without kafka.tls.enabled sends the password in clear text"}},
		{Kafka{TLS: KafkaTLS{Enabled: true}, SASL: KafkaSASL{Mechanism: "AWS_MSK_IAM", Username: "u"}}, []string{"kafka.sasl.username: is set but not used with mechanism AWS_MSK_IAM"}},
	} {
		got := tc.k.SecurityWarnings()
		if len(got) != len(tc.want) {
			t.Errorf("%+v: warnings %q, want %q", tc.k, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("warning %q, want %q…", got[i], tc.want[i])
			}
		}
	}
}
