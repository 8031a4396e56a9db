package pipeline

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/internal/recordtest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// ackingZoho acknowledges every record and counts them.
type ackingZoho struct{ records atomic.Int64 }

func (z *ackingZoho) Upsert(_ context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	res := &zohoapi.UpsertResult{StatusCode: 200, Credits: 1}
	for range r.Records {
		res.Results = append(res.Results, zohoapi.RecordResult{Action: "update", ID: "1"})
	}
	z.records.Add(int64(len(r.Records)))
	return res, nil
}

// TestCreditSaverRevokedPartitionDoesNotPoison: what this process
// acknowledged for a key from a partition is a reason to skip an identical
// record in the same assignment, but not once the partition was revoked and
// assigned again, since its new owner may have sent other records for the
// key meanwhile.
func TestCreditSaverRevokedPartitionDoesNotPoison(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 1)
	z := &ackingZoho{}
	p, err := New(Options{
		Brokers: brokers, Topics: []string{topic}, Group: topic + "-group", DLQTopic: topic + "-dlq",
		Module: "Leads", Zoho: z, CreditSaver: true, CreditSaverKeys: 10, CreditSaverTTL: time.Hour,
		Batch:          batcher.Config{MaxRecords: 1, MaxInFlight: 1, MaxBuffered: 6},
		CommitInterval: time.Second, SessionTimeout: 10 * time.Second,
		RetryInitial: time.Second, RetryMax: time.Second, ThrottleBackoff: time.Second,
		BreakerFailures: 100, BreakerOpenTimeout: time.Minute, ShutdownGrace: time.Second,
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := p.delivery
	d.DeadLetters = dlq.NewWriter(&refusingProducer{}, p.o.DLQTopic)
	if p.sender, err = delivery.New(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.sender.Abandon(); p.batches.Close(); p.cl.Close() })

	const email = "jane@example.com"
	var offset int64
	deliver := func() {
		pr := &polledRecord{
			rec: &kgo.Record{Topic: topic, Partition: 0, Offset: offset},
			m:   &mapping.Mapped{Outcome: mapping.OutcomeDeliver, Key: email, Record: recordtest.Of(`{"Email":"` + email + `","Last_Name":"Doe"}`)},
		}
		offset++
		var dropped [dropReasons]int64
		if dl := p.process(context.Background(), p.offsets.Partition(topic, 0), pr, &dropped); dl != nil {
			t.Fatalf("dead-lettered: %+v", dl)
		}
		waitFor(t, 10*time.Second, "the record is done", func() bool { return p.batches.Stats().Held == 0 })
	}

	p.offsets.Assign(map[string][]int32{topic: {0}})
	deliver()
	deliver()
	if got, s := z.records.Load(), p.Stats(); got != 1 || s.Skipped != 1 {
		t.Fatalf("same assignment: %d records sent, %d skipped; want the identical record skipped", got, s.Skipped)
	}

	p.revoked(context.Background(), p.cl, map[string][]int32{topic: {0}})
	p.offsets.Assign(map[string][]int32{topic: {0}})
	deliver()
	if got, s := z.records.Load(), p.Stats(); got != 2 || s.Skipped != 1 {
		t.Fatalf("after the partition was revoked and assigned again: %d records sent, %d skipped; want it sent", got, s.Skipped)
	}
}
