package replay_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/dlq/replay"
	"github.com/zohosink/zohosink/internal/kafkatest"
)

// TestOpenRefusesMissingTopic: a replay of a dead-letter topic that does not
// exist says so, naming the topic and its key, instead of Kafka's bare
// UNKNOWN_TOPIC_OR_PARTITION.
func TestOpenRefusesMissingTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	adm := kadm.NewClient(kafkatest.Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	_, err := replay.Open(ctx, adm, replay.Config{Brokers: brokers, KafkaOptions: kafkatest.ConnOptions(t, brokers), DLQTopic: "zohosink-missing-dlq", Group: "zohosink-replay-missing"})
	var missing *dlq.MissingTopicError
	if !errors.As(err, &missing) || missing.Topic != "zohosink-missing-dlq" || !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("Open: err = %v, want a *dlq.MissingTopicError for zohosink-missing-dlq", err)
	}
}
