package kafkatest_test

import (
	"os"
	"testing"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

// TestContainerBroker exercises the testcontainers path when it is asked for
// (ZOHOSINK_TESTCONTAINERS=1, KAFKA_BROKERS unset): a round trip on the
// container broker, or a skip that says why (no Docker engine, or a binary
// built without -tags testcontainers).
func TestContainerBroker(t *testing.T) {
	if os.Getenv(kafkatest.EnvTestcontainers) != "1" || os.Getenv(kafkatest.EnvBrokers) != "" {
		t.Skipf("set %s=1 (and leave %s unset) to test the container path", kafkatest.EnvTestcontainers, kafkatest.EnvBrokers)
	}
	brokers := kafkatest.Brokers(t) // skips here without Docker
	topic := kafkatest.CreateTopic(t, brokers, 2)
	kafkatest.Produce(t, brokers, topic, rec("k", "v"))
	got := kafkatest.Consume(t, brokers, topic, 1)
	if string(got[0].Key) != "k" || string(got[0].Value) != "v" {
		t.Fatalf("got %s=%s, want k=v", got[0].Key, got[0].Value)
	}
}
