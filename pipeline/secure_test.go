package pipeline_test

import (
	"testing"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestDemoEndToEndOverTLSAndSASL runs the demo events end to end (the checks
// of TestDemoEventsEndToEnd: Zoho state, dead letters, counts, commits) on a
// kfake cluster that accepts only TLS, for TLS alone, mutual TLS and each
// SASL mechanism kfake supports: the consumer, the dead-letter producer and
// the commits all go through kafkaconn's TLS and SASL options. (OAUTHBEARER
// and AWS_MSK_IAM, which kfake lacks, are covered by kafkaconn's tests and
// the real broker's SASL_SSL run.)
func TestDemoEndToEndOverTLSAndSASL(t *testing.T) {
	if kafkatest.External() {
		t.Skip("runs on in-process kfake clusters; the real broker's SASL_SSL run is make test-kafka's")
	}
	for _, sec := range []kafkatest.FakeSecurity{
		{},
		{MutualTLS: true},
		{Mechanism: "PLAIN"},
		{Mechanism: "SCRAM-SHA-256"},
		{Mechanism: "SCRAM-SHA-512"},
	} {
		name := "TLS"
		if sec.Mechanism != "" {
			name += "+SASL_" + sec.Mechanism
		}
		if sec.MutualTLS {
			name = "mutualTLS"
		}
		t.Run(name, func(t *testing.T) {
			_, brokers, _ := kafkatest.SecureFakeCluster(t, sec)
			checkDemoEndToEnd(t, newHarnessOn(t, brokers, 3, zohosim.Options{}))
		})
	}
}
