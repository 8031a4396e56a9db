package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	zapobserver "go.uber.org/zap/zaptest/observer"

	"github.com/zohosink/zohosink/batcher"
)

// TestBrokerHooksSilentAfterRun: franz-go may run a broker hook (a dial that
// was under way) after the client's Close returned; once Run returned, such
// a hook neither logs (the logger may belong to a finished test or a closed
// sink) nor changes readiness.
func TestBrokerHooksSilentAfterRun(t *testing.T) {
	core, logs := zapobserver.New(zap.DebugLevel)
	p, err := New(Options{
		Brokers: []string{"127.0.0.1:1"}, Topics: []string{"events"}, Group: "g", DLQTopic: "events-dlq",
		Module: "Leads", Zoho: &ackingZoho{},
		Batch:          batcher.Config{MaxRecords: 1, MaxInFlight: 1, MaxBuffered: 1},
		CommitInterval: time.Second, SessionTimeout: 10 * time.Second,
		RetryInitial: time.Second, RetryMax: time.Second, ThrottleBackoff: time.Second,
		BreakerFailures: 1, BreakerOpenTimeout: time.Second, ShutdownGrace: time.Second,
		Logger: zap.New(core),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = p.Run(ctx) // its error is not the point: the hooks after it are
	before, down, ok := logs.Len(), p.kafkaDown.Load(), p.kafkaOK.Load()

	h := brokerHook{p}
	h.OnBrokerConnect(kgo.BrokerMetadata{}, 0, nil, errors.New("dial tcp 127.0.0.1:1: connection refused"))
	h.OnBrokerRead(kgo.BrokerMetadata{}, kmsg.Fetch.Int16(), 0, 0, 0, nil)
	if after := logs.All()[before:]; len(after) != 0 {
		t.Errorf("broker hooks after Run logged %d lines, first %q; want none", len(after), after[0].Message)
	}
	if p.kafkaDown.Load() != down || p.kafkaOK.Load() != ok {
		t.Error("broker hooks after Run changed the Kafka state")
	}
}
