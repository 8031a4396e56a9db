package wiring

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
)

// TestPipelineOptionsCopyEveryKey: each setting of the pipeline comes from
// its key, and batch.max_buffered 0 becomes config's effective value. (The
// demo runs the pipeline on config.Defaults through NewPipeline.)
func TestPipelineOptionsCopyEveryKey(t *testing.T) {
	cfg := config.Defaults()
	cfg.Kafka.ClientID = "cid"
	cfg.Kafka.CommitInterval = 7 * time.Second
	cfg.Kafka.SessionTimeout = 11 * time.Second
	cfg.Kafka.FetchMaxBytes = 1234
	cfg.Kafka.MaxMessageBytes = 5678
	cfg.Kafka.StartOffset = config.StartLatest
	cfg.Batch.MaxRecords, cfg.Batch.Linger = 50, 3*time.Second
	cfg.Delivery.MaxInFlight = 3
	cfg.Delivery.RetryInitial, cfg.Delivery.RetryMax = time.Second, 2*time.Second
	cfg.Delivery.ThrottleBackoff = 13 * time.Second
	cfg.Delivery.BreakerFailures, cfg.Delivery.BreakerOpenTimeout = 9, 17*time.Second
	cfg.Delivery.ShutdownGrace = 4 * time.Second
	cfg.Zoho.Module = "Contacts"
	cfg.Zoho.DailyCreditBudget = 40000
	cfg.Consent.Required = []string{"ads"}

	o, err := PipelineOptions(cfg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if o.ClientID != "cid" || o.CommitInterval != 7*time.Second || o.SessionTimeout != 11*time.Second ||
		o.FetchMaxBytes != 1234 || o.MaxMessageBytes != 5678 || !o.StartAtLatest || o.Module != "Contacts" ||
		o.Batch.MaxRecords != 50 || o.Batch.Linger != 3*time.Second || o.Batch.MaxInFlight != 3 || o.Batch.MaxBuffered != 50*(3+2) ||
		o.RetryInitial != time.Second || o.RetryMax != 2*time.Second || o.ThrottleBackoff != 13*time.Second ||
		o.BreakerFailures != 9 || o.BreakerOpenTimeout != 17*time.Second || o.ShutdownGrace != 4*time.Second || o.DailyCreditBudget != 40000 ||
		len(o.Mapping.ConsentRequired) != 1 || o.Mapping.ConsentRequired[0] != "ads" || len(o.KafkaOptions) == 0 {
		t.Errorf("options %+v", o)
	}
	cfg.Batch.MaxBuffered = 77
	if o, _ := PipelineOptions(cfg, nil, nil); o.Batch.MaxBuffered != 77 {
		t.Errorf("batch.max_buffered 77 became %d", o.Batch.MaxBuffered)
	}
}
