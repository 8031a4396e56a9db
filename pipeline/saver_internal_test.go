package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// ackingZoho acknowledges every record.
type ackingZoho struct{}

func (ackingZoho) Upsert(_ context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	res := &zohoapi.UpsertResult{StatusCode: 200, Credits: 1}
	for range r.Records {
		res.Results = append(res.Results, zohoapi.RecordResult{Action: "update", ID: "1"})
	}
	return res, nil
}

// TestCreditSaverRevokedPartitionDoesNotPoison: what this process
// acknowledged for a key from a partition is no reason to skip once the
// partition was revoked and assigned again, since its new owner may have
// sent other records for the key meanwhile; in the same assignment it is.
func TestCreditSaverRevokedPartitionDoesNotPoison(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 1)
	p, err := New(Options{
		Brokers: brokers, Topics: []string{topic}, Group: topic + "-group", DLQTopic: topic + "-dlq",
		Module: "Leads", Zoho: ackingZoho{}, CreditSaver: true, CreditSaverKeys: 10,
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
	mapped := func() mapping.Mapped {
		return mapping.Mapped{Outcome: mapping.OutcomeDeliver, Key: email, Record: map[string]any{"Email": email, "Last_Name": "Doe"}}
	}
	var offset int64
	deliver := func() *polledRecord {
		part := p.offsets.Partition(topic, 0)
		pr := &polledRecord{part: part, rec: &kgo.Record{Topic: topic, Partition: 0, Offset: offset}, m: mapped()}
		offset++
		var dropped [dropReasons]int64
		if dl := p.process(context.Background(), pr, &dropped); dl != nil {
			t.Fatalf("dead-lettered: %+v", dl)
		}
		return pr
	}

	p.offsets.Assign(map[string][]int32{topic: {0}})
	deliver()
	waitFor(t, 10*time.Second, "R1 acknowledged", func() bool { return p.Stats().Delivered == 1 && !p.batches.Holds(email) })
	r2 := &polledRecord{part: p.offsets.Partition(topic, 0), rec: &kgo.Record{Topic: topic, Partition: 0, Offset: offset}, m: mapped()}
	if !p.unchanged(r2.part, r2.rec, &r2.m) {
		t.Fatal("an identical record in the same assignment is not taken as unchanged")
	}

	p.revoked(context.Background(), p.cl, map[string][]int32{topic: {0}})
	p.offsets.Assign(map[string][]int32{topic: {0}})
	r3 := &polledRecord{part: p.offsets.Partition(topic, 0), rec: &kgo.Record{Topic: topic, Partition: 0, Offset: offset}, m: mapped()}
	if p.unchanged(r3.part, r3.rec, &r3.m) {
		t.Fatal("after the partition was revoked and assigned again, the record acknowledged before counts as unchanged")
	}
	deliver()
	waitFor(t, 10*time.Second, "R3 acknowledged", func() bool { return p.Stats().Delivered == 2 })
	if s := p.Stats(); s.Skipped != 0 {
		t.Fatalf("skipped %d", s.Skipped)
	}
}
