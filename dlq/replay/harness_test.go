package replay_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/dlq/replay"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/internal/simtest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// harness is a Kafka protocol broker (kfake, or the broker in
// KAFKA_BROKERS) with a fresh dead-letter topic, and a Zoho simulator.
type harness struct {
	t        *testing.T
	brokers  []string
	dlqTopic string
	sim      *zohosim.Server
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	h := &harness{t: t, brokers: brokers, dlqTopic: kafkatest.CreateTopic(t, brokers, 1), sim: zohosim.New(zohosim.Options{})}
	t.Cleanup(h.sim.Close)
	return h
}

// zohoClient is a real zohoapi client for the simulator.
func (h *harness) zohoClient() *zohoapi.Client {
	eps, err := zohoapi.ResolveEndpoints("", h.sim.URL(), h.sim.URL())
	if err != nil {
		h.t.Fatal(err)
	}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: h.sim.ClientSecret(), RefreshToken: h.sim.RefreshToken()},
		HTTPClient:  &http.Client{Timeout: 10 * time.Second},
	})
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
}

// options are fast test settings for a Replayer of group replayGroup.
func (h *harness) options() replay.Options {
	return replay.Options{
		Group:        replayGroup,
		DLQTopic:     h.dlqTopic,
		KafkaOptions: kafkatest.ConnOptions(h.t, h.brokers),
		Delivery: delivery.Options{
			Zoho: h.zohoClient(), Module: "Leads",
			RetryInitial: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, ThrottleBackoff: 100 * time.Millisecond,
			BreakerFailures: 5, BreakerOpenTimeout: 200 * time.Millisecond,
		},
		Mapping: mapping.MapperConfig{ConsentRequired: []string{"marketing"}},
		Batch:   batcher.Config{MaxRecords: 100, Linger: 50 * time.Millisecond, MaxInFlight: 4, MaxBuffered: 600},
		Logger:  zaptest.NewLogger(h.t),
	}
}

// deadLetters reads n records of the dead-letter topic.
func (h *harness) deadLetters(n int) []*kgo.Record {
	h.t.Helper()
	return kafkatest.Consume(h.t, h.brokers, h.dlqTopic, n)
}

// event builds an envelope with marketing consent and no properties (simtest.Event).
func event(typ, name string, traits map[string]any, userID string) []byte {
	return simtest.Event(typ, name, traits, nil, userID)
}

// deadLetter is a dead-letter record of value as the pipeline writes it after
// Zoho rejected the mapped record.
func deadLetter(value []byte, key string, offset int64) dlq.Record {
	return dlq.Record{
		Key: []byte(key), Value: value,
		Code: "INVALID_DATA", Message: "invalid field name", Field: "Plan_Typo",
		Details:     json.RawMessage(`{"api_name":"Plan_Typo","json_path":"$.data[0].Plan_Typo"}`),
		SourceTopic: "events", SourcePartition: 2, SourceOffset: offset,
		SourceTimestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Module:          "Leads",
		ZohoRecord:      json.RawMessage(`{"Email":"x@example.com","Plan_Typo":"pro"}`),
		FailedAt:        time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC),
	}
}

// replayGroup is the replay group of the tests.
const replayGroup = "g.dlq-replay"

// records are recs never replayed before (replay.count 0).
func records(recs ...dlq.Record) []replay.Record {
	out := make([]replay.Record, len(recs))
	for i, d := range recs {
		out[i] = replay.Record{Record: d}
	}
	return out
}
