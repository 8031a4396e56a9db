package kafkatest

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/tlstest"
	"github.com/zohosink/zohosink/kafkaconn"
)

// Environment variables that describe how to connect to the cluster of
// EnvBrokers when it is secured (scripts/kafka-local secure-env prints them
// for its SASL_SSL listener). Unset: PLAINTEXT.
const (
	// EnvTLSCAFile is a PEM CA file: set, the connection uses TLS verified
	// against it (kafka.tls.enabled + kafka.tls.ca_file).
	EnvTLSCAFile = "KAFKA_TLS_CA_FILE"
	// EnvSASLMechanism, EnvSASLUsername and EnvSASLPassword are
	// kafka.sasl.mechanism, username and password.
	EnvSASLMechanism = "KAFKA_SASL_MECHANISM"
	EnvSASLUsername  = "KAFKA_SASL_USERNAME"
	EnvSASLPassword  = "KAFKA_SASL_PASSWORD"
)

// EnvFakeSecurity names the environment variable that makes the kfake
// clusters of Brokers secured ones (SecureFakeCluster), so a whole suite runs
// over TLS and SASL: "TLS", "mTLS" (client certificates required), or a SASL
// mechanism kfake supports — PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 — over TLS.
const EnvFakeSecurity = "KAFKATEST_FAKE_SECURITY"

// secureFakeBrokers is Brokers' kfake cluster secured as sec (EnvFakeSecurity) says.
func secureFakeBrokers(t testing.TB, sec string) []string {
	t.Helper()
	var fs FakeSecurity
	switch strings.ToUpper(sec) {
	case "TLS":
	case "MTLS":
		fs.MutualTLS = true
	case config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512:
		fs.Mechanism = strings.ToUpper(sec)
	default:
		t.Fatalf("kafkatest: %s=%q: want TLS, mTLS, PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", EnvFakeSecurity, sec)
	}
	_, addrs, _ := SecureFakeCluster(t, fs)
	return addrs
}

// secured maps a bootstrap address of a secured cluster to its connection
// settings: the secured kfake clusters of SecureFakeCluster.
var secured sync.Map // string → config.Kafka

// Settings returns the kafka.* connection settings of brokers (an address
// list from Brokers or SecureFakeCluster): Brokers, and TLS and SASL when the
// cluster is secured (SecureFakeCluster's, or for $KAFKA_BROKERS those of
// EnvTLSCAFile and EnvSASL*). Tests that write a configuration put its TLS and
// SASL into kafka.tls / kafka.sasl (see SecurityYAML).
func Settings(brokers []string) config.Kafka {
	k := config.Kafka{Brokers: brokers}
	if len(brokers) == 0 {
		return k
	}
	if s, ok := secured.Load(brokers[0]); ok {
		s := s.(config.Kafka)
		k.TLS, k.SASL = s.TLS, s.SASL
		return k
	}
	if env := splitBrokers(os.Getenv(EnvBrokers)); len(env) > 0 && env[0] == brokers[0] {
		if ca := os.Getenv(EnvTLSCAFile); ca != "" {
			k.TLS = config.KafkaTLS{Enabled: true, CAFile: ca}
		}
		k.SASL = config.KafkaSASL{
			Mechanism: os.Getenv(EnvSASLMechanism),
			Username:  os.Getenv(EnvSASLUsername),
			Password:  config.Secret(os.Getenv(EnvSASLPassword)),
		}
	}
	return k
}

// Secured reports whether brokers need TLS or SASL (Settings).
func Secured(brokers []string) bool {
	k := Settings(brokers)
	return k.TLS.Enabled || k.SASL.MechanismName() != ""
}

// ConnOptions returns the franz-go options that connect to brokers:
// kafkaconn.Options of Settings(brokers), the product's own path. Give them
// to every client a test makes (pipeline.Options.KafkaOptions, dlq.Read …)
// so the test also runs on a secured cluster. A failure is fatal.
func ConnOptions(t testing.TB, brokers []string) []kgo.Opt {
	t.Helper()
	opts, err := connOptions(brokers)
	if err != nil {
		t.Fatalf("kafkatest: connection options: %v", err)
	}
	return opts
}

func connOptions(brokers []string) ([]kgo.Opt, error) {
	return kafkaconn.Options(Settings(brokers))
}

// SecurityYAML returns the kafka.tls and kafka.sasl keys of Settings(brokers)
// as YAML-ready maps, to merge into the "kafka" section of a test's
// configuration: {"tls": {...}, "sasl": {...}}, or an empty map for a
// PLAINTEXT cluster.
func SecurityYAML(brokers []string) map[string]any {
	k := Settings(brokers)
	out := map[string]any{}
	if k.TLS.Enabled {
		out["tls"] = map[string]any{"enabled": true, "ca_file": k.TLS.CAFile, "cert_file": k.TLS.CertFile, "key_file": k.TLS.KeyFile}
	}
	if k.SASL.MechanismName() != "" {
		out["sasl"] = map[string]any{"mechanism": k.SASL.Mechanism, "username": k.SASL.Username, "password": k.SASL.Password.Value()}
	}
	return out
}

// FakeSecurity is how SecureFakeCluster secures a kfake cluster.
type FakeSecurity struct {
	// Mechanism is the SASL mechanism kfake checks: PLAIN, SCRAM-SHA-256 or
	// SCRAM-SHA-512 (kfake supports no other); "" for TLS only.
	Mechanism string
	// User and Password are the superuser's credentials (default
	// "zohosink" and a fixed test password).
	User, Password string
	// MutualTLS makes the cluster require a client certificate signed by its
	// CA; Settings then carries the client certificate.
	MutualTLS bool
}

// SecureFakeCluster starts an in-process kfake cluster (FakeCluster, plus
// opts) that accepts only TLS connections, with a certificate of a CA made
// for this test (tlstest), and with sec.Mechanism only SASL-authenticated
// ones of a superuser. It returns the cluster, its addresses and its CA;
// Settings, ConnOptions, SecurityYAML and every helper of this package
// connect to it with TLS and SASL.
func SecureFakeCluster(t testing.TB, sec FakeSecurity, opts ...kfake.Opt) (*kfake.Cluster, []string, *tlstest.CA) {
	t.Helper()
	if sec.User == "" {
		sec.User = "zohosink"
	}
	if sec.Password == "" {
		sec.Password = "kafkatest-superuser-password"
	}
	ca := tlstest.New(t)
	opts = append(opts, kfake.TLS(ca.ServerConfig(sec.MutualTLS)))
	if sec.Mechanism != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(sec.Mechanism, sec.User, sec.Password))
	}
	c := FakeCluster(t, opts...)
	k := config.Kafka{TLS: config.KafkaTLS{Enabled: true, CAFile: ca.CAFile}}
	if sec.MutualTLS {
		k.TLS.CertFile, k.TLS.KeyFile = ca.ClientCertFile, ca.ClientKeyFile
	}
	if sec.Mechanism != "" {
		k.SASL = config.KafkaSASL{Mechanism: sec.Mechanism, Username: sec.User, Password: config.Secret(sec.Password)}
	}
	addrs := c.ListenAddrs()
	for _, a := range addrs {
		secured.Store(a, k)
	}
	t.Cleanup(func() {
		for _, a := range addrs {
			secured.Delete(a)
		}
	})
	return c, addrs, ca
}

// AddSCRAMUser creates user with password for SCRAM-SHA-512 on the cluster
// of brokers, as its superuser (Client's credentials), failing tb otherwise:
// a principal that ACLs can then limit.
func AddSCRAMUser(tb testing.TB, brokers []string, user, password string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	adm := kadm.NewClient(Client(tb, brokers))
	if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: password}}); err != nil {
		tb.Fatalf("kafkatest: creating SCRAM user %s: %v", user, err)
	}
}
