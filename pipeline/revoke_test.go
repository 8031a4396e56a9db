package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// byEmailZoho answers upserts by the first record's Email: "slow@…" calls
// hang until their context ends, others fail with a transient error.
type byEmailZoho struct {
	mu        sync.Mutex
	calls     map[string]int
	cancelled map[string]error
}

func (z *byEmailZoho) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	email := gjson.GetBytes(r.Records[0], "Email").String()
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
	t.Cleanup(func() { p.cancelSend(); p.batches.Close(); p.cl.Close() })

	p.offsets.assign(map[string][]int32{topic: {0, 1}})
	add := func(partition int32, email string) {
		part := p.offsets.partition(topic, partition)
		r := &kgo.Record{Topic: topic, Partition: partition, Offset: 0}
		part.track(r)
		if err := p.batches.Add(context.Background(), batcher.Item[source]{Key: email, Record: map[string]any{"Email": email}, Source: source{part, r}}); err != nil {
			t.Fatal(err)
		}
	}
	add(0, "slow@example.com")
	add(1, "retry@example.com")
	dlqWrites := &refusingProducer{}
	p.dlq = dlq.NewWriter(dlqWrites, p.o.DLQTopic, dlq.WithBackoff(time.Minute, time.Minute))
	rejected := &kgo.Record{Topic: topic, Partition: 1, Offset: 1}
	p.offsets.partition(topic, 1).track(rejected)
	p.deadLetterAsync([]dlq.Record{{Value: []byte("{"), Code: mapping.CodeDecodeError}}, []source{{p.offsets.partition(topic, 1), rejected}})
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

	before := p.breaker.Counts()
	start = time.Now()
	p.revoked(context.Background(), p.cl, map[string][]int32{topic: {0}})
	if took := time.Since(start); took < grace {
		t.Errorf("revoking partition 0 took %v, want the grace %v for its call under way", took, grace)
	}
	waitFor(t, 10*time.Second, "partition 0's call is cut off", func() bool {
		_, cut := z.state("slow@example.com")
		return cut != nil && p.batches.Stats().InFlight == 0
	})
	after := p.breaker.Counts()
	if after.TotalFailures != before.TotalFailures || after.ConsecutiveFailures != before.ConsecutiveFailures || after.TotalExclusions != before.TotalExclusions+1 {
		t.Errorf("breaker counts went from %+v to %+v: the cut-off call must be excluded, not a failure", before, after)
	}
}

// TestCancelledCallIsNotABreakerFailure: with a breaker that opens on the
// first failure, an upsert call cut off by its context (shutdown or
// revocation) through the real Zoho client leaves the breaker closed and its
// failure counts unchanged; a 500 right after opens it.
func TestCancelledCallIsNotABreakerFailure(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	eps, err := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
		HTTPClient:  hc,
	})
	o := Options{Module: "Leads", Zoho: zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second}),
		BreakerFailures: 1, BreakerOpenTimeout: time.Minute}
	p := &Pipeline{o: o, log: zap.NewNop(), m: newMetrics()}
	p.breaker = newZohoBreaker(o, nil)
	d := delivery{records: []json.RawMessage{[]byte(`{"Email":"a@example.com","Last_Name":"A","Company":"C"}`)}}

	sim.HangNext(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.upsert(ctx, d)
		done <- err
	}()
	waitFor(t, 10*time.Second, "the call hangs in Zoho", func() bool { return sim.Stats().InFlight > 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cut-off call returned %v, want context.Canceled", err)
	}
	if c, st := p.breaker.Counts(), p.breaker.State(); st != gobreaker.StateClosed || c.TotalFailures != 0 || c.ConsecutiveFailures != 0 {
		t.Fatalf("after a cancelled call the breaker is %v with %+v, want closed with no failures", st, c)
	}

	sim.FailNext(1, 500)
	if _, err := p.upsert(context.Background(), d); err == nil {
		t.Fatal("the 500 answer was not an error")
	}
	if st := p.breaker.State(); st != gobreaker.StateOpen {
		t.Fatalf("after a 500 the breaker is %v, want open (BreakerFailures 1)", st)
	}
}
