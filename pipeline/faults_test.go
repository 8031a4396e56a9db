package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// leads builds n identify events for distinct emails with every field Zoho
// needs on insert.
func leads(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = event("identify", "", map[string]any{
			"email": fmt.Sprintf("%s%d@example.com", prefix, i), "lastName": "L", "company": "C",
		}, nil, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// TestZohoOutagesLoseNothing: 5xx answers and 429 bursts are retried; nothing
// is dead-lettered, every lead arrives, every offset is committed.
func TestZohoOutagesLoseNothing(t *testing.T) {
	h := newHarness(t, 2, zohosim.Options{})
	h.sim.FailNext(3, 500)
	h.sim.Throttle429Next(2)
	h.produce(leads("outage", 30)...)
	r := h.start(h.options())
	h.waitCommitted(60 * time.Second)
	r.shutdown()
	s := r.p.Stats()
	if s.DeadLetteredTotal() != 0 || s.Delivered != 30 || len(h.sim.Records("Leads")) != 30 {
		t.Fatalf("dead-lettered %v, delivered %d, leads %d; want 0, 30, 30", s.DeadLettered, s.Delivered, len(h.sim.Records("Leads")))
	}
	if s.Retries < 5 {
		t.Errorf("%d retries, want at least the 5 injected failures", s.Retries)
	}
}

// TestBreakerOpenPausesFetching: a long outage opens the breaker, which pauses
// fetching and fails readiness; when Zoho recovers, the half-open trial closes
// it, fetching resumes and everything is delivered.
func TestBreakerOpenPausesFetching(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.sim.FailNext(1000, 503)
	h.produce(leads("breaker", 5)...)
	o := h.options()
	o.BreakerFailures = 2
	o.BreakerOpenTimeout = 300 * time.Millisecond
	r := h.start(o)
	h.eventually(20*time.Second, "the breaker opens and fetching pauses", func() bool {
		return pausedBy(r.p, delivery.PauseBreakerOpen)
	})
	h.produce(leads("later", 5)...) // arrives while paused
	if c := h.committed(); c[0] != 0 {
		t.Fatalf("committed %d during the outage, want nothing", c[0])
	}
	h.sim.FailNext(0, 0)
	h.waitCommitted(30 * time.Second)
	h.eventually(5*time.Second, "ready again", func() bool { return r.p.Ready() == nil })
	r.shutdown()
	if s := r.p.Stats(); s.Delivered != 10 || s.DeadLetteredTotal() != 0 {
		t.Fatalf("delivered %d, dead-lettered %v; want 10 and none", s.Delivered, s.DeadLettered)
	}
}

// TestExpiredTokenMidRun: Zoho invalidates every access token mid-run; the next
// call gets 401 INVALID_TOKEN, the client refreshes once and retries, and nothing is lost.
func TestExpiredTokenMidRun(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.produce(leads("before", 5)...)
	r := h.start(h.options())
	h.waitCommitted(30 * time.Second)
	mints := h.sim.Stats().TokenMints
	h.sim.InvalidateTokens()
	h.produce(leads("after", 5)...)
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	if got := h.sim.Stats().TokenMints; got != mints+1 {
		t.Errorf("%d token mints after the invalidation, want exactly one more than %d", got, mints)
	}
	if s := r.p.Stats(); s.Delivered != 10 || s.DeadLetteredTotal() != 0 {
		t.Fatalf("delivered %d, dead-lettered %v; want 10 and none", s.Delivered, s.DeadLettered)
	}
}

// TestConfigurationErrorStopsDelivery: a token without the CRM scope
// (401 OAUTH_SCOPE_MISMATCH) is a configuration error: nothing is retried in a
// loop, nothing dead-lettered, nothing committed, the process is not ready,
// and Run reports the error.
func TestConfigurationErrorStopsDelivery(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{ScopeMismatch: true})
	h.produce(append(leads("cfg", 3), event("page", "", nil, nil, "p"))...)
	r := h.start(h.options())
	h.eventually(20*time.Second, "the configuration error shows in readiness", func() bool {
		return notReady(r.p.Ready()) == pipeline.NotReadyConfig
	})
	calls := h.sim.Stats().UpsertCalls
	time.Sleep(300 * time.Millisecond) // several retry intervals: no retry loop
	if got := h.sim.Stats().UpsertCalls; got != calls {
		t.Errorf("upsert calls went from %d to %d after the configuration error", calls, got)
	}
	if c := h.committed(); len(c) != 0 {
		t.Errorf("committed %v after a configuration error, want nothing", c)
	}
	if err := r.shutdown(); err == nil || !strings.Contains(err.Error(), "OAUTH_SCOPE_MISMATCH") {
		t.Errorf("Run returned %v, want the OAUTH_SCOPE_MISMATCH configuration error", err)
	}
	if s := r.p.Stats(); s.DeadLetteredTotal() != 0 || s.Delivered != 0 {
		t.Errorf("dead-lettered %v delivered %d, want nothing", s.DeadLettered, s.Delivered)
	}
}

// TestPartialBatch207: one record of a batch fails Zoho's checks (HTTP 207);
// only its source record is dead-lettered, the others are delivered.
func TestPartialBatch207(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	vals := leads("partial", 9)
	vals = append(vals, event("identify", "", map[string]any{"email": "nolastname@example.com", "company": "C"}, nil, "x"))
	// Zoho answers MULTIPLE_OR_MULTI_ERRORS with two MANDATORY_NOT_FOUND inside.
	vals = append(vals, event("identify", "", map[string]any{"email": "nolastname.nocompany@example.com"}, nil, "y"))
	h.produce(vals...)
	o := h.options()
	o.Batch.Linger = 300 * time.Millisecond
	r := h.start(o)
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	if st := h.sim.Stats(); st.UpsertCalls != 1 || st.Status[207] != 1 {
		t.Errorf("Zoho calls %d statuses %v, want one 207", st.UpsertCalls, st.Status)
	}
	dead := h.deadLetters(2)
	hd := headers(dead[0])
	if hd["error.code"] != "MANDATORY_NOT_FOUND" || hd["error.field"] != "Last_Name" || string(dead[0].Value) != string(vals[9]) {
		t.Errorf("dead letter %v value %s", hd, dead[0].Value)
	}
	hd = headers(dead[1])
	if hd["error.code"] != "MANDATORY_NOT_FOUND" || hd["error.field"] != "Last_Name,Company" || string(dead[1].Value) != string(vals[10]) ||
		gjson.Get(hd["error.details"], "errors.#").Int() != 2 {
		t.Errorf("dead letter of two missing fields %v value %s", hd, dead[1].Value)
	}
	if s := r.p.Stats(); s.Delivered != 9 {
		t.Errorf("delivered %d, want 9", s.Delivered)
	}
}

// poisonZoho answers a request-level HTTP 400 without per-record results for
// any call that contains the poison email, as Zoho does for some malformed
// bodies; other calls go to the simulator.
type poisonZoho struct {
	next   delivery.Upserter
	poison string
	calls  atomic.Int64
}

func (z *poisonZoho) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	z.calls.Add(1)
	for _, rec := range r.Records {
		if strings.Contains(string(rec.JSON()), z.poison) {
			return nil, &zohoapi.APIError{StatusCode: 400, Code: "INVALID_DATA", Message: "invalid data", Details: json.RawMessage(`{"api_name":"Description"}`)}
		}
	}
	return z.next.Upsert(ctx, r)
}

// TestRequestRejectedIsSplit: a whole batch rejected without per-record
// results is split until the bad record is alone; only it is dead-lettered.
func TestRequestRejectedIsSplit(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	vals := leads("split", 16)
	vals[11] = event("identify", "", map[string]any{"email": "poison@example.com", "lastName": "P", "company": "C"}, nil, "p")
	h.produce(vals...)
	o := h.options()
	o.Batch.Linger = 300 * time.Millisecond
	pz := &poisonZoho{next: o.Zoho, poison: "poison@example.com"}
	o.Zoho = pz
	r := h.start(o)
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	dead := h.deadLetters(1)
	if hd := headers(dead[0]); hd["error.code"] != "INVALID_DATA" || string(dead[0].Value) != string(vals[11]) {
		t.Errorf("dead letter %v %s, want the poison record with INVALID_DATA", hd, dead[0].Value)
	}
	if s := r.p.Stats(); s.Delivered != 15 || s.DeadLetteredTotal() != 1 {
		t.Errorf("delivered %d dead-lettered %v, want 15 and 1", s.Delivered, s.DeadLettered)
	}
	if n := pz.calls.Load(); n > 1+2*4+2 { // 16 records: at most log2(16) levels of halves
		t.Errorf("%d calls to isolate one record in 16", n)
	}
}

// TestOversizedDeadLetterLeavesOutZohoRecord: a rejected record whose value,
// repeated in zoho.record, would exceed the producer's limit still reaches the
// dead-letter topic (without zoho.record, saying so) instead of blocking its
// partition forever.
func TestOversizedDeadLetterLeavesOutZohoRecord(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	big := strings.Repeat("D", 12000)
	vals := [][]byte{
		event("track", "Lead Generated", map[string]any{"email": "big@example.com", "company": "C"}, map[string]any{"form_name": big}, "big"),
		leads("after", 1)[0],
	}
	h.produce(vals...)
	o := h.options()
	o.MaxMessageBytes = 20000 // value 12 KB + zoho.record 12 KB would not fit
	r := h.start(o)
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	dead := h.deadLetters(1)
	hd := headers(dead[0])
	if string(dead[0].Value) != string(vals[0]) || hd["error.code"] != "MANDATORY_NOT_FOUND" {
		t.Fatalf("dead letter %v, want the original value with MANDATORY_NOT_FOUND", hd)
	}
	if hd["zoho.record"] != "" || !strings.Contains(hd["error.message"], "zoho.record left out") {
		t.Errorf("zoho.record %d bytes, message %q: want it left out and said so", len(hd["zoho.record"]), hd["error.message"])
	}
	if _, ok := h.sim.Lead("after0@example.com"); !ok {
		t.Error("the record after the oversized one was not delivered")
	}
}

// TestKafkaUnreachableIsNotReady: with no broker answering, the pipeline says
// so in readiness instead of claiming to consume.
func TestKafkaUnreachableIsNotReady(t *testing.T) {
	h := &harness{t: t, sim: zohosim.New(zohosim.Options{})}
	t.Cleanup(h.sim.Close)
	h.brokers, h.topic, h.dlqTopic, h.group = []string{"127.0.0.1:1"}, "events", "events.dlq", "g"
	o := h.options()
	o.SessionTimeout = 45 * time.Second // kafka.session_timeout's default
	r := h.start(o)
	h.eventually(30*time.Second, "readiness reports Kafka unreachable", func() bool {
		return notReady(r.p.Ready()) == pipeline.NotReadyKafka
	})
}

// TestDeadLetterKeepsReplayMarks: a record that `dlq replay --to-source` put
// back on its source topic (with replay marks) and that fails again gets a
// dead letter naming the same replay, so that replay does not offer it again.
func TestDeadLetterKeepsReplayMarks(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	mark := dlq.ReplayMark{Group: "zohosink.dlq-replay", Count: 2}
	kafkatest.Produce(t, h.brokers, h.topic, &kgo.Record{
		Key:     []byte("u1"),
		Value:   event("identify", "", map[string]any{"firstName": "No Email"}, nil, "u1"),
		Headers: mark.Headers(),
	})
	r := h.start(h.options())
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	dead := h.deadLetters(1)
	if got := dlq.ReplayMarkOf(dead[0].Headers); got != mark || headers(dead[0])["error.code"] != "MISSING_EMAIL" {
		t.Fatalf("dead letter %v: replay marks %+v, want %+v", headers(dead[0]), got, mark)
	}
}

// TestDeadLetterKeepsSourceHeaders: a dead letter carries its source record's
// headers after the contract's, byte for byte and in order, whether the poll
// loop rejected the record or Zoho did; one named like a contract header is
// renamed so that it cannot pass for the dead letter's own.
func TestDeadLetterKeepsSourceHeaders(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	src := []kgo.RecordHeader{
		{Key: "trace-id", Value: []byte{0xff, 0x00, 0x7f}},
		{Key: "error.code", Value: []byte("upstream's")},
		{Key: "content-type", Value: []byte("application/json; charset=latin1")},
	}
	kafkatest.Produce(t, h.brokers, h.topic,
		&kgo.Record{Key: []byte("u1"), Value: event("identify", "", map[string]any{"firstName": "No Email"}, nil, "u1"), Headers: src},       // MISSING_EMAIL
		&kgo.Record{Key: []byte("u2"), Value: event("identify", "", map[string]any{"email": "nolast@example.com"}, nil, "u2"), Headers: src}, // Zoho: MANDATORY_NOT_FOUND
	)
	r := h.start(h.options())
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	codes := map[string]bool{}
	for _, d := range h.deadLetters(2) {
		rec, err := dlq.Parse(d)
		if err != nil {
			t.Fatal(err)
		}
		codes[rec.Code] = true
		got := dlq.SourceHeaders(rec.Extra)
		if len(got) != len(src) {
			t.Errorf("%s: source headers %v, want %v", rec.Code, got, src)
			continue
		}
		for i := range src {
			if got[i].Key != src[i].Key || !bytes.Equal(got[i].Value, src[i].Value) {
				t.Errorf("%s: header %d is %q=%q, want %q=%q", rec.Code, i, got[i].Key, got[i].Value, src[i].Key, src[i].Value)
			}
		}
	}
	if !codes["MISSING_EMAIL"] || !codes["MANDATORY_NOT_FOUND"] {
		t.Errorf("dead-letter codes %v, want MISSING_EMAIL and MANDATORY_NOT_FOUND", codes)
	}
}
