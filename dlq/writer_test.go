package dlq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/zohosink/zohosink/internal/kafkatest"
)

// scriptedProducer fails the records whose keys are listed for each call, and
// answers in reverse order (as a real client may answer out of order).
type scriptedProducer struct {
	mu    sync.Mutex
	fail  []map[string]error // per call: key → error
	calls [][]string         // keys produced per call
}

func (p *scriptedProducer) ProduceSync(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	p.mu.Lock()
	defer p.mu.Unlock()
	call := len(p.calls)
	var keys []string
	var out kgo.ProduceResults
	for _, r := range slices.Backward(rs) {
		keys = append([]string{string(r.Key)}, keys...)
		var err error
		if call < len(p.fail) {
			err = p.fail[call][string(r.Key)]
		}
		out = append(out, kgo.ProduceResult{Record: r, Err: err})
	}
	p.calls = append(p.calls, keys)
	return out
}

func recs(keys ...string) []Record {
	var out []Record
	for _, k := range keys {
		out = append(out, Record{Key: []byte(k), Value: []byte("v-" + k), Code: "MISSING_EMAIL", Module: "Leads"})
	}
	return out
}

func TestWriteRetriesOnlyFailedRecords(t *testing.T) {
	boom := kerr.NotEnoughReplicas
	p := &scriptedProducer{fail: []map[string]error{
		{"b": boom, "c": kerr.TopicAuthorizationFailed},
		{"c": boom},
	}}
	var retries []*RetryError
	w := NewWriter(p, "dlq", WithBackoff(time.Millisecond, 2*time.Millisecond), WithOnRetry(func(err error) {
		var re *RetryError
		if !errors.As(err, &re) {
			t.Errorf("OnRetry got %T", err)
		}
		retries = append(retries, re)
	}))
	if err := w.Write(context.Background(), recs("a", "b", "c")...); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b", "c"}, {"b", "c"}, {"c"}}
	if !slices.EqualFunc(p.calls, want, slices.Equal) {
		t.Errorf("calls = %v, want %v", p.calls, want)
	}
	if len(retries) != 2 || retries[0].Failed != 2 || retries[0].Total != 3 || retries[1].Failed != 1 || retries[1].Attempt != 2 {
		t.Fatalf("retries = %+v", retries)
	}
	if !errors.Is(retries[0], boom) && !errors.Is(retries[0], kerr.TopicAuthorizationFailed) {
		t.Errorf("retry error does not wrap the broker error: %v", retries[0])
	}
}

// TestWriteReportsEveryAttempt: the OnAttempt hook sees each produce attempt
// with its acknowledged and failed records (the pipeline's dead-letter write
// metrics).
func TestWriteReportsEveryAttempt(t *testing.T) {
	p := &scriptedProducer{fail: []map[string]error{
		{"b": kerr.NotEnoughReplicas, "c": kerr.NotEnoughReplicas},
		{"c": kerr.NotEnoughReplicas},
	}}
	type attempt struct{ acked, failed int }
	var got []attempt
	w := NewWriter(p, "dlq", WithBackoff(time.Millisecond, 2*time.Millisecond), WithOnAttempt(func(acked, failed int, took time.Duration) {
		if took < 0 {
			t.Errorf("attempt took %v", took)
		}
		got = append(got, attempt{acked, failed})
	}))
	if err := w.Write(context.Background(), recs("a", "b", "c")...); err != nil {
		t.Fatal(err)
	}
	if want := []attempt{{1, 2}, {1, 1}, {1, 0}}; !slices.Equal(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
}

func TestWriteStampsFailedAt(t *testing.T) {
	p := &scriptedProducer{}
	var got []*kgo.Record
	w := NewWriter(producerFunc(func(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
		got = append(got, rs...)
		return p.ProduceSync(ctx, rs...)
	}), "dlq")
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w.now = func() time.Time { return fixed }
	rs := recs("a", "b")
	rs[1].FailedAt = fixed.Add(-time.Hour)
	if err := w.Write(context.Background(), rs...); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"2026-01-01T00:00:00Z", "2025-12-31T23:00:00Z"} {
		r, err := Parse(got[i])
		if err != nil || r.FailedAt.Format(time.RFC3339) != want {
			t.Errorf("record %d failed.at = %v (%v), want %s", i, r.FailedAt, err, want)
		}
	}
	if rs[0].FailedAt != (time.Time{}) {
		t.Error("Write modified the caller's records")
	}
}

type producerFunc func(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults

func (f producerFunc) ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
	return f(ctx, rs...)
}

func TestWriteGivesUpOnlyWhenContextEnds(t *testing.T) {
	var calls atomic.Int32
	p := producerFunc(func(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
		calls.Add(1)
		var out kgo.ProduceResults
		for _, r := range rs {
			out = append(out, kgo.ProduceResult{Record: r, Err: kerr.MessageTooLarge})
		}
		return out
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := NewWriter(p, "dlq", WithBackoff(time.Millisecond, time.Millisecond), WithOnRetry(func(error) {
		if calls.Load() == 5 {
			cancel()
		}
	}))
	err := w.Write(ctx, recs("a")...)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("err = %v, want context.Canceled wrapping MESSAGE_TOO_LARGE", err)
	}
	if calls.Load() != 5 {
		t.Errorf("calls = %d, want 5", calls.Load())
	}
}

// TestWriteUntilEndsRetriesNotAttempts: when retry ends during an attempt,
// the attempt goes on (its context is ctx) and is answered, and no retry
// follows; when retry ends during the wait before a retry, Write returns at
// once, not after the wait.
func TestWriteUntilEndsRetriesNotAttempts(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	retry, stop := context.WithCancel(context.Background())
	p := producerFunc(func(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults {
		if calls.Add(1) == 1 {
			stop() // retrying ends while this attempt is under way
			<-release
		}
		var out kgo.ProduceResults
		for _, r := range rs {
			out = append(out, kgo.ProduceResult{Record: r, Err: errors.Join(kerr.MessageTooLarge, ctx.Err())})
		}
		return out
	})
	w := NewWriter(p, "dlq", WithBackoff(time.Hour, time.Hour))
	done := make(chan error, 1)
	go func() { done <- w.WriteUntil(context.Background(), retry, recs("a")...) }()
	close(release)
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, kerr.MessageTooLarge) || calls.Load() != 1 {
		t.Fatalf("err = %v after %d attempts, want context.Canceled wrapping the attempt's MESSAGE_TOO_LARGE after 1", err, calls.Load())
	}

	calls.Store(1) // no more blocking attempts
	retry, stop = context.WithCancel(context.Background())
	w = NewWriter(p, "dlq", WithBackoff(time.Hour, time.Hour), WithOnRetry(func(error) { stop() }))
	start := time.Now()
	if err := w.WriteUntil(context.Background(), retry, recs("b")...); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("WriteUntil took %v: it waited out the backoff after retry ended", took)
	}
}

func TestWriteTreatsMissingResultsAsFailed(t *testing.T) {
	var calls int
	p := producerFunc(func(_ context.Context, rs ...*kgo.Record) kgo.ProduceResults {
		calls++
		if calls == 1 {
			return kgo.ProduceResults{{Record: rs[0]}} // forgets the second record
		}
		var out kgo.ProduceResults
		for _, r := range rs {
			out = append(out, kgo.ProduceResult{Record: r})
		}
		return out
	})
	if err := NewWriter(p, "dlq", WithBackoff(time.Millisecond, time.Millisecond)).Write(context.Background(), recs("a", "b")...); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("calls = %d, want 2", calls)
	}
}

// readAll reads the whole topic through Read.
func readAll(t *testing.T, brokers []string, topic string) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	var out []Record
	if err := Read(ctx, brokers, topic, FromStart(), Filter{}, func(r Record) error {
		out = append(out, r)
		return nil
	}, kafkatest.ConnOptions(t, brokers)...); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

func keysOf(rs []Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Key))
	}
	slices.Sort(out)
	return out
}

func TestWriteToBroker(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 3)
	cl := kafkatest.Client(t, brokers)
	var in []Record
	for i := range 30 {
		r := sampleRecord()
		r.Key = fmt.Appendf(nil, "user-%02d", i)
		r.SourceOffset = int64(i)
		in = append(in, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if err := NewWriter(cl, topic).Write(ctx, in...); err != nil {
		t.Fatal(err)
	}
	out := readAll(t, brokers, topic)
	if len(out) != len(in) {
		t.Fatalf("read %d records, want %d", len(out), len(in))
	}
	slices.SortFunc(out, func(a, b Record) int { return int(a.SourceOffset - b.SourceOffset) })
	for i, r := range out {
		want := in[i]
		want.DLQPartition, want.DLQOffset = r.DLQPartition, r.DLQOffset
		if !reflect.DeepEqual(r, want) {
			t.Errorf("record %d:\n%+v\nwant\n%+v", i, r, want)
		}
	}
}

// TestWriteWaitsUntilTopicExists: the dead-letter topic is missing, so Write
// retries (calling OnRetry) instead of dropping records; once the topic is
// created, every record lands exactly once.
func TestWriteWaitsUntilTopicExists(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	topic := "dlq-missing-" + hex.EncodeToString(rnd[:])
	cl := kafkatest.Client(t, brokers, kgo.UnknownTopicRetries(1))
	adm := kadm.NewClient(cl)
	t.Cleanup(func() { _, _ = adm.DeleteTopic(context.Background(), topic) })

	retried := make(chan error, 100)
	w := NewWriter(cl, topic, WithBackoff(20*time.Millisecond, 100*time.Millisecond), WithOnRetry(func(err error) {
		select {
		case retried <- err:
		default:
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Write(ctx, recs("a", "b", "c", "d")...) }()

	select {
	case err := <-retried:
		if !errors.Is(err, kerr.UnknownTopicOrPartition) {
			t.Errorf("retry error = %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
		}
	case err := <-done:
		t.Fatalf("Write returned %v before the topic existed", err)
	}
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := keysOf(readAll(t, brokers, topic)); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("topic holds %v", got)
	}
}

// TestWriteRetriesRefusedWrites: the broker refuses the first writes
// (TOPIC_AUTHORIZATION_FAILED, which franz-go does not retry itself); Write
// retries until the broker accepts, losing and duplicating nothing.
func TestWriteRetriesRefusedWrites(t *testing.T) {
	if kafkatest.External() {
		t.Skip("needs kfake's fault injection")
	}
	c := kafkatest.FakeCluster(t)
	brokers := c.ListenAddrs()
	topic := kafkatest.CreateTopic(t, brokers, 1)
	var refused atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if refused.Load() >= 3 {
			c.DropControl()
			return nil, nil, false
		}
		c.KeepControl()
		refused.Add(1)
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	var retries atomic.Int32
	w := NewWriter(kafkatest.Client(t, brokers), topic, WithBackoff(time.Millisecond, 10*time.Millisecond),
		WithOnRetry(func(err error) {
			retries.Add(1)
			if !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("retry error = %v", err)
			}
		}))
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if err := w.Write(ctx, recs("a", "b")...); err != nil {
		t.Fatal(err)
	}
	if retries.Load() == 0 || refused.Load() != 3 {
		t.Errorf("retries = %d, refused = %d", retries.Load(), refused.Load())
	}
	if got := keysOf(readAll(t, brokers, topic)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("topic holds %v", got)
	}
}
