package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/zohosink/zohosink/batcher"
)

// TestNewRefusesMissingSettings: the settings that are configuration keys
// have no defaults in the pipeline (config.Defaults holds them); New names
// every one that is missing, instead of guessing.
func TestNewRefusesMissingSettings(t *testing.T) {
	_, err := New(Options{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"events"}, Group: "g", DLQTopic: "dlq", Module: "Leads", Zoho: &byEmailZoho{}})
	if err == nil {
		t.Fatal("New accepted options without commit interval, retries, breaker, grace or batch sizes")
	}
	for _, name := range []string{"CommitInterval", "SessionTimeout", "RetryInitial", "ThrottleBackoff", "BreakerOpenTimeout", "ShutdownGrace", "BreakerFailures", "Batch.MaxRecords", "MaxInFlight", "Batch.MaxBuffered"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}
	o := Options{
		Brokers: []string{"127.0.0.1:1"}, Topics: []string{"events"}, Group: "g", DLQTopic: "dlq", Module: "Leads", Zoho: &byEmailZoho{},
		CommitInterval: 1, SessionTimeout: 10 * time.Second, RetryInitial: 2, RetryMax: 1, ThrottleBackoff: 1, BreakerOpenTimeout: 1, ShutdownGrace: 1, BreakerFailures: 1,
		Batch: batcher.Config{MaxRecords: 1, MaxInFlight: 1, MaxBuffered: 1},
	}
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "RetryMax") {
		t.Errorf("RetryMax below RetryInitial: err = %v", err)
	}
	o.RetryMax = 2
	p, err := New(o)
	if err != nil {
		t.Fatalf("complete options: %v", err)
	}
	p.batches.Close()
	p.cl.Close()
	if p.o.TopicCheckInterval != defaultTopicCheckInterval || p.log == nil {
		t.Errorf("TopicCheckInterval %v, logger %v: the zero values of the settings that are not keys were not applied", p.o.TopicCheckInterval, p.log)
	}
}
