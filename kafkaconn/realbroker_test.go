package kafkaconn_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/kafkaconn"
)

// Set by scripts/kafka-local secure-env: the mechanisms its SASL_SSL listener
// enables, a user without ACLs, and its PLAINTEXT listener.
const (
	envSASLSSLMechanisms = "KAFKA_SASL_SSL_MECHANISMS"
	envLimitedUser       = "KAFKA_SASL_LIMITED_USERNAME"
	envPlaintextBrokers  = "KAFKA_PLAINTEXT_BROKERS"
)

// realSecure returns the SASL_SSL listener of scripts/kafka-local, or skips.
func realSecure(t *testing.T) config.Kafka {
	t.Helper()
	if os.Getenv(envSASLSSLMechanisms) == "" {
		t.Skip("needs the SASL_SSL listener of scripts/kafka-local: env $(scripts/kafka-local secure-env) go test ...")
	}
	return kafkatest.Settings(kafkatest.Brokers(t))
}

// unsecuredJWT is a token Kafka's default OAUTHBEARER validator
// (OAuthBearerUnsecuredValidatorCallbackHandler) accepts: alg "none", a sub,
// iat and exp, and an empty signature.
func unsecuredJWT(sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	now := time.Now().Unix()
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(fmt.Appendf(nil, `{"sub":%q,"iat":%d,"exp":%d}`, sub, now, now+3600)) + "."
}

// TestRealBrokerEachMechanism: on Apache Kafka's SASL_SSL listener, every
// mechanism it enables authenticates through Options and a record makes a
// round trip; OAUTHBEARER reads its token from the file.
func TestRealBrokerEachMechanism(t *testing.T) {
	base := realSecure(t)
	topic := kafkatest.CreateTopic(t, base.Brokers, 1)
	for _, mech := range strings.Split(os.Getenv(envSASLSSLMechanisms), ",") {
		t.Run(mech, func(t *testing.T) {
			k := base
			k.SASL.Mechanism = mech
			if mech == config.SASLOAuthBearer {
				k.SASL = config.KafkaSASL{Mechanism: mech, OAuthTokenFile: tokenFile(t, unsecuredJWT(base.SASL.Username))}
			}
			opts, err := kafkaconn.Options(k)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic), kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
			defer cancel()
			value := "over " + mech
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
				t.Fatalf("produce over %s: %v", mech, err)
			}
			for {
				fs := cl.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatalf("consume over %s: %v", mech, err)
				}
				if slicesContainValue(fs.Records(), value) {
					return
				}
			}
		})
	}
}

func slicesContainValue(recs []*kgo.Record, v string) bool {
	for _, r := range recs {
		if string(r.Value) == v {
			return true
		}
	}
	return false
}

// TestRealBrokerDiagnose: Apache Kafka's answers to wrong settings are told
// apart: a refused password (kerr.SaslAuthenticationFailed), TLS to its
// PLAINTEXT listener, PLAINTEXT to its SASL_SSL listener, and a user its ACLs
// deny a topic.
func TestRealBrokerDiagnose(t *testing.T) {
	good := realSecure(t)
	check := func(name string, k config.Kafka, kind kafkaconn.Kind, key, reason string) {
		t.Helper()
		_, err := kafkaconn.Probe(context.Background(), k, probeTimeout)
		var f *kafkaconn.Failure
		if !errors.As(err, &f) || f.Kind != kind || f.Key != key || !strings.Contains(f.Reason, reason) {
			t.Errorf("%s: Probe = %v, want %s at %s with %q", name, err, kind, key, reason)
		}
		if err != nil && good.SASL.Password.IsSet() && strings.Contains(err.Error(), good.SASL.Password.Value()) {
			t.Errorf("%s: the failure shows the password", name)
		}
	}
	k := good
	k.SASL.Password = "wrong-password"
	check("wrong password", k, kafkaconn.SASLAuthentication, "kafka.sasl.password", `the broker refused SCRAM-SHA-512 as "zohosink"`)

	k = good
	k.Brokers = strings.Split(os.Getenv(envPlaintextBrokers), ",")
	check("TLS to PLAINTEXT", k, kafkaconn.TLSHandshake, "kafka.tls.enabled", "closed the connection during the TLS handshake")

	k = good
	k.TLS = config.KafkaTLS{}
	check("PLAINTEXT to SASL_SSL", k, kafkaconn.TLSHandshake, "kafka.tls.enabled", "the broker answered in TLS: this is an SSL or SASL_SSL listener")

	k = good
	k.TLS.ServerName = "kafka.example.com"
	check("name mismatch", k, kafkaconn.TLSHandshake, "kafka.tls.server_name", "not kafka.example.com")

	// A user without ACLs connects, then is denied the topic.
	topic := kafkatest.CreateTopic(t, good.Brokers, 1)
	k = good
	k.SASL.Username = os.Getenv(envLimitedUser)
	if _, err := kafkaconn.Probe(context.Background(), k, probeTimeout); err != nil {
		t.Fatalf("the limited user cannot connect: %v", err)
	}
	opts, err := kafkaconn.Options(k)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic), kgo.RecordRetries(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	perr := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	if f := kafkaconn.Diagnose(perr, k); f == nil || f.Kind != kafkaconn.NotAuthorized || f.Key != "kafka.topics" {
		t.Errorf("produce as the limited user: %v, diagnosed %v; want not authorized for the topic", perr, f)
	}
}
