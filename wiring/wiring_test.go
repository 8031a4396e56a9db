package wiring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
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
	cfg.Delivery.CreditSaverTTL = 7 * time.Minute
	cfg.Consent.Required = []string{"ads"}

	o, err := PipelineOptions(cfg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if o.ClientID != "cid" || o.CommitInterval != 7*time.Second || o.SessionTimeout != 11*time.Second ||
		o.FetchMaxBytes != 1234 || o.MaxMessageBytes != 5678 || !o.StartAtLatest || o.Module != "Contacts" ||
		o.Batch.MaxRecords != 50 || o.Batch.Linger != 3*time.Second || o.Batch.MaxInFlight != 3 || o.Batch.MaxBuffered != 50*(3+2) ||
		o.RetryInitial != time.Second || o.RetryMax != 2*time.Second || o.ThrottleBackoff != 13*time.Second ||
		o.BreakerFailures != 9 || o.BreakerOpenTimeout != 17*time.Second || o.ShutdownGrace != 4*time.Second || o.DailyCreditBudget != 40000 || o.CreditSaverTTL != 7*time.Minute ||
		len(o.Mapping.ConsentRequired) != 1 || o.Mapping.ConsentRequired[0] != "ads" || len(o.KafkaOptions) == 0 {
		t.Errorf("options %+v", o)
	}
	cfg.Batch.MaxBuffered = 77
	if o, _ := PipelineOptions(cfg, nil, nil); o.Batch.MaxBuffered != 77 {
		t.Errorf("batch.max_buffered 77 became %d", o.Batch.MaxBuffered)
	}
}

// TestPipelineExplainsKafkaFailures: the pipeline `run` builds names the
// configuration key when Kafka cannot be used, in its log and in readiness,
// as the operator commands do (kafkaconn.Conn.Explain).
func TestPipelineExplainsKafkaFailures(t *testing.T) {
	cfg := config.Defaults()
	cfg.Kafka.Brokers = []string{"127.0.0.1:1"} // nothing listens there
	cfg.Kafka.Topics = []string{"events"}
	core, logs := observer.New(zap.WarnLevel)
	o, err := PipelineOptions(cfg, refusingZoho{}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	const want = "kafka.brokers: broker unreachable: cannot connect to 127.0.0.1:1"
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := p.Ready()
		logged := logs.FilterMessageSnippet("kafka unreachable").All()
		if err != nil && strings.Contains(err.Error(), want) && len(logged) > 0 {
			if got := fmt.Sprint(logged[0].ContextMap()["error"]); !strings.Contains(got, want) {
				t.Errorf("logged error %q, want it to name the key: %q", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness %v and %d warnings, want both to say %q", err, len(logged), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refusingZoho is a Zoho that is never reached (Kafka is down first).
type refusingZoho struct{}

func (refusingZoho) Upsert(context.Context, zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	return nil, errors.New("not reached")
}
