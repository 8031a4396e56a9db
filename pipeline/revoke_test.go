package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// byEmailZoho answers upserts by the first record's Email: "slow@…" calls
// hang until their context ends, others fail with a transient error.
type byEmailZoho struct {
	mu        sync.Mutex
	calls     map[string]int
	cancelled map[string]error
}

func (z *byEmailZoho) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	email := gjson.ParseBytes(r.Records[0].Get("Email")).String()
	z.mu.Lock()
	z.calls[email]++
	z.mu.Unlock()
	if email != "slow@example.com" {
		return nil, errors.New("zoho request: connection reset by peer")
	}
	<-ctx.Done()
	z.mu.Lock()
	z.cancelled[email] = ctx.Err()
	z.mu.Unlock()
	return nil, fmt.Errorf("zoho request: %w", ctx.Err())
}

func (z *byEmailZoho) state(email string) (calls int, cancelled error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.calls[email], z.cancelled[email]
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusingProducer fails every record as too large for the dead-letter topic.
type refusingProducer struct{ calls atomic.Int32 }

func (r *refusingProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	r.calls.Add(1)
	var out kgo.ProduceResults
	for _, rec := range rs {
		out = append(out, kgo.ProduceResult{Record: rec, Err: kerr.MessageTooLarge})
	}
	return out
}

// TestRevokeWaitsOnlyForRevokedPartitions: partition 0's batch is stuck in a
// slow Zoho call; partition 1's batch waits to retry (a minute's backoff) and
// its rejected record's dead-letter write keeps failing (a minute's backoff).
// Revoking partition 1 returns at once (nothing of it is under way) and ends
// both waits; partition 0's call goes on. Revoking partition 0 waits the
// grace for its call, then cuts it off; the cut-off call does not count as a
// breaker failure.
func TestRevokeWaitsOnlyForRevokedPartitions(t *testing.T) {
	const grace = 3 * time.Second
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 2)
	z := &byEmailZoho{calls: map[string]int{}, cancelled: map[string]error{}}
	p, err := New(Options{
		Brokers: brokers, Topics: []string{topic}, Group: topic + "-group", DLQTopic: topic + "-dlq",
		Module: "Leads", Zoho: z,
		Batch:          batcher.Config{MaxRecords: 1, MaxInFlight: 4, MaxBuffered: 6},
		CommitInterval: time.Second, SessionTimeout: 10 * time.Second,
		RetryInitial: time.Minute, RetryMax: time.Minute, ThrottleBackoff: time.Minute,
		BreakerFailures: 100, BreakerOpenTimeout: time.Minute, ShutdownGrace: grace,
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	dlqWrites := &refusingProducer{}
	d := p.delivery
	d.DeadLetters = dlq.NewWriter(dlqWrites, p.o.DLQTopic, dlq.WithBackoff(time.Minute, time.Minute))
	if p.sender, err = delivery.New(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.sender.Abandon(); p.batches.Close(); p.cl.Close() })

	p.offsets.Assign(map[string][]int32{topic: {0, 1}})
	add := func(partition int32, email string) {
		part := p.offsets.Partition(topic, partition)
		r := &kgo.Record{Topic: topic, Partition: partition, Offset: 0}
		part.Track(r)
		if err := p.batches.Add(context.Background(), batcher.Item[delivery.Source]{Key: email, Record: zohoapi.Record{{Name: "Email", Value: strconv.AppendQuote(nil, email)}}, Source: delivery.Source{Part: part, Rec: r}}); err != nil {
			t.Fatal(err)
		}
	}
	add(0, "slow@example.com")
	add(1, "retry@example.com")
	rejected := &kgo.Record{Topic: topic, Partition: 1, Offset: 1}
	p.offsets.Partition(topic, 1).Track(rejected)
	p.deadLetterAsync([]dlq.Record{{Value: []byte("{"), Code: mapping.CodeDecodeError}}, []delivery.Source{{Part: p.offsets.Partition(topic, 1), Rec: rejected}}, 1)
	waitFor(t, 10*time.Second, "partition 0's call hangs, partition 1's call and dead-letter write failed", func() bool {
		slow, _ := z.state("slow@example.com")
		retry, _ := z.state("retry@example.com")
		return slow == 1 && retry == 1 && dlqWrites.calls.Load() == 1
	})

	start := time.Now()
	p.revoked(context.Background(), p.cl, map[string][]int32{topic: {1}})
	if took := time.Since(start); took >= grace/2 {
		t.Fatalf("revoking partition 1 took %v: it waited for partition 0's call (grace %v)", took, grace)
	}
	waitFor(t, 10*time.Second, "partition 1's batch and dead-letter write end their backoff waits", func() bool {
		return p.batches.Stats().InFlight == 1 && len(p.rejects) == 0
	})
	if _, cut := z.state("slow@example.com"); cut != nil {
		t.Fatalf("partition 0's call was cut off (%v) by partition 1's revocation", cut)
	}
	if calls, _ := z.state("retry@example.com"); calls != 1 {
		t.Errorf("partition 1's records were sent %d times, want once (never after its revocation)", calls)
	}

	_, before := p.sender.Breaker()
	start = time.Now()
	p.revoked(context.Background(), p.cl, map[string][]int32{topic: {0}})
	if took := time.Since(start); took < grace {
		t.Errorf("revoking partition 0 took %v, want the grace %v for its call under way", took, grace)
	}
	waitFor(t, 10*time.Second, "partition 0's call is cut off", func() bool {
		_, cut := z.state("slow@example.com")
		return cut != nil && p.batches.Stats().InFlight == 0
	})
	_, after := p.sender.Breaker()
	if after.TotalFailures != before.TotalFailures || after.ConsecutiveFailures != before.ConsecutiveFailures || after.TotalExclusions != before.TotalExclusions+1 {
		t.Errorf("breaker counts went from %+v to %+v: the cut-off call must be excluded, not a failure", before, after)
	}
}
