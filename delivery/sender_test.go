package delivery

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
)

// upsertFunc is an Upserter made of a function.
type upsertFunc func(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error)

func (f upsertFunc) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	return f(ctx, r)
}

// recordingWriter acknowledges every dead letter and keeps it.
type recordingWriter struct {
	mu   sync.Mutex
	recs []dlq.Record
}

func (w *recordingWriter) WriteUntil(_, _ context.Context, recs ...dlq.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recs = append(w.recs, recs...)
	return nil
}

// testOptions are valid options with zoho and w, and fast retries.
func testOptions(zoho Upserter, w DeadLetterWriter) Options {
	return Options{Zoho: zoho, Module: "Leads", DeadLetters: w, MaxInFlight: 4,
		RetryInitial: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond, ThrottleBackoff: 100 * time.Millisecond,
		BreakerFailures: 5, BreakerOpenTimeout: 200 * time.Millisecond}
}

// batchOf is a batch of one entry per email, each from its own offset of po.
func batchOf(po *watermark.Partition, emails ...string) *batcher.Batch[Source] {
	b := &batcher.Batch[Source]{}
	for i, e := range emails {
		r := rec("events", 0, int64(i))
		po.Track(r)
		b.Entries = append(b.Entries, batcher.Entry[Source]{Key: e, Items: []batcher.Item[Source]{
			{Key: e, Record: zohoapi.Record{{Name: "Email", Value: strconv.AppendQuote(nil, e)}}, Source: Source{Part: po, Rec: r}},
		}})
	}
	return b
}

// TestSplitDeadLettersOnlyTheRejectedRecord: Zoho rejects every request
// holding bad@ as a whole (400 without per-record results); the batch is
// halved until bad@ is alone: the others are acknowledged, bad@ alone is
// dead-lettered with Zoho's code and the record sent.
func TestSplitDeadLettersOnlyTheRejectedRecord(t *testing.T) {
	var calls atomic.Int32
	zoho := upsertFunc(func(_ context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
		calls.Add(1)
		res := &zohoapi.UpsertResult{StatusCode: 200}
		for _, raw := range r.Records {
			if gjson.ParseBytes(raw.Get("Email")).String() == "bad@example.com" {
				return nil, &zohoapi.APIError{StatusCode: 400, Code: "INVALID_DATA", Message: "the request is invalid"}
			}
			res.Results = append(res.Results, zohoapi.RecordResult{Action: "insert"})
		}
		return res, nil
	})
	w := &recordingWriter{}
	s, err := New(testOptions(zoho, w))
	if err != nil {
		t.Fatal(err)
	}
	if c := zohoapi.Classify(&zohoapi.APIError{StatusCode: 400, Code: "INVALID_DATA"}); c != zohoapi.ClassPermanent {
		t.Fatalf("the test's rejection classifies as %v, want permanent", c)
	}
	po := watermark.NewPartition("events", 0)
	s.Send(context.Background(), batchOf(po, "a@example.com", "b@example.com", "bad@example.com", "c@example.com"))
	if n := po.PendingCount(); n != 0 {
		t.Errorf("%d records not done, want none", n)
	}
	if len(w.recs) != 1 || w.recs[0].Code != "INVALID_DATA" || w.recs[0].SourceOffset != 2 || !strings.Contains(string(w.recs[0].ZohoRecord), "bad@example.com") {
		t.Fatalf("dead letters %+v, want bad@'s only, with INVALID_DATA and its record", w.recs)
	}
	if calls.Load() < 3 {
		t.Errorf("%d calls, want the whole batch, then halves", calls.Load())
	}
}

// TestStopEndsRetryWaits: a batch waiting a minute to retry after an outage
// returns as soon as Stop is called, its record not done, and no call starts
// after Stop.
func TestStopEndsRetryWaits(t *testing.T) {
	var calls atomic.Int32
	zoho := upsertFunc(func(context.Context, zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
		calls.Add(1)
		return nil, errors.New("zoho request: connection reset by peer")
	})
	o := testOptions(zoho, &recordingWriter{})
	o.RetryInitial, o.RetryMax, o.BreakerFailures = time.Minute, time.Minute, 100
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	po := watermark.NewPartition("events", 0)
	done := make(chan struct{})
	go func() {
		s.Send(context.Background(), batchOf(po, "a@example.com"))
		close(done)
	}()
	waitFor(t, 10*time.Second, "the first call failed", func() bool { return calls.Load() == 1 })
	s.Stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send still waits to retry after Stop")
	}
	if po.PendingCount() != 1 || calls.Load() != 1 {
		t.Errorf("pending %d, calls %d; want the record not done and no call after Stop", po.PendingCount(), calls.Load())
	}
}

// TestCheckNamesEveryProblem: New refuses options out of range, naming each.
func TestCheckNamesEveryProblem(t *testing.T) {
	_, err := New(Options{RetryInitial: time.Second, RetryMax: time.Millisecond})
	for _, want := range []string{"no Zoho client", "no Zoho module", "no dead-letter writer", "ThrottleBackoff", "BreakerOpenTimeout", "RetryMax", "BreakerFailures"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v does not name %q", err, want)
		}
	}
}
