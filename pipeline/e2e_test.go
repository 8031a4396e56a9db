package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zohosink/zohosink"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// demoExpected is testdata/demo-expected.json.
type demoExpected struct {
	Leads       map[string]map[string]any `json:"leads"`
	AbsentLeads []string                  `json:"absent_leads"`
	DeadLetters []struct {
		Line  int    `json:"line"`
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"dead_letters"`
	Counts struct {
		Records      int              `json:"records"`
		Dropped      map[string]int64 `json:"dropped"`
		Delivered    int64            `json:"delivered"`
		DeadLettered map[string]int64 `json:"dead_lettered"`
	} `json:"counts"`
}

// mappedFields are the fields the pipeline sets; the simulator adds system fields.
func mappedFields(rec map[string]any, like map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range rec {
		if _, ok := like[k]; ok {
			out[k] = v
		}
	}
	for _, f := range []string{"First_Name", "Last_Name", "Company", "Phone", "Lead_Source", "Description", "Email"} {
		if v, ok := rec[f]; ok {
			out[f] = v
		}
	}
	return out
}

// TestDemoEventsEndToEnd runs the curated demo events through a real Kafka
// protocol broker and the Zoho simulator and checks every outcome: the Zoho
// state per email, the dead-letter records (key and value byte for byte, the
// contract's headers), the committed offsets, and that dropped events never
// reached Zoho.
func TestDemoEventsEndToEnd(t *testing.T) {
	checkDemoEndToEnd(t, newHarness(t, 3, zohosim.Options{}))
}

// checkDemoEndToEnd is TestDemoEventsEndToEnd on h's cluster.
func checkDemoEndToEnd(t *testing.T, h *harness) {
	t.Helper()
	var want demoExpected
	if err := json.Unmarshal(zohosink.DemoExpected, &want); err != nil {
		t.Fatal(err)
	}
	values := lines(zohosink.DemoEvents)
	if len(values) != want.Counts.Records {
		t.Fatalf("%d demo events, expected file says %d", len(values), want.Counts.Records)
	}
	sent := h.produce(values...)
	r := h.start(h.options())
	h.waitCommitted(60 * time.Second)
	if err := r.shutdown(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Zoho state per email: exactly the expected leads, with exactly their fields.
	leads := h.sim.Records("Leads")
	if len(leads) != len(want.Leads) {
		t.Errorf("%d leads in Zoho, want %d", len(leads), len(want.Leads))
	}
	for email, fields := range want.Leads {
		got, ok := h.sim.Lead(email)
		if !ok {
			t.Errorf("lead %s missing in Zoho", email)
			continue
		}
		if g := mappedFields(got, fields); !maps.Equal(g, fields) {
			t.Errorf("lead %s = %v, want %v", email, g, fields)
		}
	}
	for _, email := range want.AbsentLeads {
		if _, ok := h.sim.Lead(email); ok {
			t.Errorf("lead %s reached Zoho, but its events must be dropped or dead-lettered", email)
		}
	}

	// Dead-letter records: original key and value, contract headers.
	dead := h.deadLetters(len(want.DeadLetters))
	byValue := map[string]map[string]string{}
	for _, d := range dead {
		byValue[string(d.Value)] = headers(d)
		src, _ := strconv.Atoi(headers(d)["source.offset"])
		_ = src
	}
	for _, wd := range want.DeadLetters {
		orig := sent[wd.Line-1]
		hd, ok := byValue[string(orig.Value)]
		if !ok {
			t.Errorf("line %d (%s) not in the dead-letter topic", wd.Line, wd.Code)
			continue
		}
		if hd["error.code"] != wd.Code || hd["error.field"] != wd.Field {
			t.Errorf("line %d dead-lettered as %s/%s, want %s/%s", wd.Line, hd["error.code"], hd["error.field"], wd.Code, wd.Field)
		}
		for _, k := range []string{"error.message", "error.details", "source.topic", "source.partition", "source.offset", "source.timestamp", "zoho.module", "failed.at"} {
			if hd[k] == "" {
				t.Errorf("line %d: dead-letter header %s is empty", wd.Line, k)
			}
		}
		if hd["source.topic"] != h.topic || hd["zoho.module"] != "Leads" {
			t.Errorf("line %d: source.topic %q zoho.module %q", wd.Line, hd["source.topic"], hd["zoho.module"])
		}
		if _, err := time.Parse(time.RFC3339, hd["failed.at"]); err != nil {
			t.Errorf("line %d: failed.at %q is not RFC 3339", wd.Line, hd["failed.at"])
		}
		if wd.Code == "MANDATORY_NOT_FOUND" && !json.Valid([]byte(hd["zoho.record"])) {
			t.Errorf("line %d: zoho.record %q is not the JSON record sent", wd.Line, hd["zoho.record"])
		}
	}
	for _, d := range dead {
		var key []byte
		for _, s := range sent {
			if string(s.Value) == string(d.Value) {
				key = s.Key
			}
		}
		if string(d.Key) != string(key) {
			t.Errorf("dead-letter key %q, want the original %q", d.Key, key)
		}
	}

	// Counts, and nothing dropped reached Zoho.
	s := r.p.Stats()
	if !maps.Equal(s.Dropped, want.Counts.Dropped) || s.Delivered != want.Counts.Delivered || !maps.Equal(s.DeadLettered, want.Counts.DeadLettered) {
		t.Errorf("stats dropped %v delivered %d dead-lettered %v; want %v %d %v", s.Dropped, s.Delivered, s.DeadLettered, want.Counts.Dropped, want.Counts.Delivered, want.Counts.DeadLettered)
	}
	if got := int64(h.sim.Stats().RecordsReceived); got > want.Counts.Delivered+1 {
		t.Errorf("Zoho received %d records; at most %d CRM events were deliverable", got, want.Counts.Delivered+1)
	}
	ends, committed := h.endOffsets(), h.committed()
	for p, end := range ends {
		if committed[p] != end {
			t.Errorf("partition %d committed %d, log end %d", p, committed[p], end)
		}
	}
}

// TestMergeSameEmailInOneBatch: events for one email inside one batch become
// one Zoho record (later fields win) and every source record is done.
func TestMergeSameEmailInOneBatch(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.produce(
		event("identify", "", map[string]any{"email": "Ann@Example.com", "firstName": "Ann", "lastName": "Old", "company": "A"}, nil, "u1"),
		event("track", "Signed Up", map[string]any{"email": "ann@example.com", "phone": "+1 555 0100"}, nil, "u1"),
		event("identify", "", map[string]any{"email": " ann@example.com ", "lastName": "New"}, nil, "u1"),
		event("track", "lead_generated", map[string]any{"email": "ANN@example.com"}, map[string]any{"source": "Website", "form_name": "Demo"}, "u1"),
	)
	o := h.options()
	o.Batch.Linger = 500 * time.Millisecond
	r := h.start(o)
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	if c := h.sim.Stats(); c.UpsertCalls != 1 || c.RecordsReceived != 1 {
		t.Fatalf("Zoho got %d calls with %d records, want 1 call with 1 merged record", c.UpsertCalls, c.RecordsReceived)
	}
	lead, ok := h.sim.Lead("ann@example.com")
	if !ok {
		t.Fatal("merged lead missing")
	}
	if lead["Last_Name"] != "New" || lead["First_Name"] != "Ann" || lead["Company"] != "A" || lead["Phone"] != "+1 555 0100" || lead["Lead_Source"] != "Website" {
		t.Errorf("merged lead %v: later fields must win, others stay", lead)
	}
	if s := r.p.Stats(); s.Delivered != 4 {
		t.Errorf("delivered %d source records, want 4", s.Delivered)
	}
}

// TestPerEmailOrderWithRandomLatency: many updates per email, several batches
// in flight and random Zoho latency; Zoho must end with each email's last
// event, and see each email's events in order.
func TestPerEmailOrderWithRandomLatency(t *testing.T) {
	h := newHarness(t, 4, zohosim.Options{Latency: 2 * time.Millisecond, Jitter: 20 * time.Millisecond})
	const emails, updates = 40, 15
	var values [][]byte
	rng := rand.New(rand.NewPCG(1, 2))
	seq := map[int]int{}
	for range emails * updates {
		e := rng.IntN(emails)
		seq[e]++
		values = append(values, event("identify", "", map[string]any{
			"email": fmt.Sprintf("user%d@example.com", e), "lastName": fmt.Sprintf("v%03d", seq[e]), "company": "C",
		}, nil, fmt.Sprintf("user-%d", e)))
	}
	h.produce(values...)
	o := h.options()
	o.Batch.MaxRecords = 10
	o.Batch.Linger = 5 * time.Millisecond
	o.Batch.MaxInFlight = 4
	o.Batch.MaxBuffered = 60
	rz := &recordingZoho{next: o.Zoho}
	o.Zoho = rz
	r := h.start(o)
	h.waitCommitted(60 * time.Second)
	r.shutdown()
	for e, n := range seq {
		lead, ok := h.sim.Lead(fmt.Sprintf("user%d@example.com", e))
		if want := fmt.Sprintf("v%03d", n); !ok || lead["Last_Name"] != want {
			t.Errorf("user%d: Last_Name %v, want the last event's %s", e, lead["Last_Name"], want)
		}
	}
	// Per email, the upserts reached Zoho in event order.
	last := map[string]string{}
	for _, rec := range rz.sent() {
		var m map[string]any
		if err := json.Unmarshal(rec.JSON(), &m); err != nil {
			t.Fatal(err)
		}
		email, v := fmt.Sprint(m["Email"]), fmt.Sprint(m["Last_Name"])
		if v < last[email] {
			t.Errorf("%s: Zoho saw %s after %s", email, v, last[email])
		}
		last[email] = v
	}
	if s := r.p.Stats(); s.Delivered != emails*updates {
		t.Errorf("delivered %d, want %d", s.Delivered, emails*updates)
	}
}

// recordingZoho records every record of every successful upsert, in the order
// the calls completed.
type recordingZoho struct {
	next delivery.Upserter
	mu   sync.Mutex
	recs []zohoapi.Record
}

func (z *recordingZoho) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	res, err := z.next.Upsert(ctx, r)
	if err == nil {
		z.mu.Lock()
		z.recs = append(z.recs, r.Records...)
		z.mu.Unlock()
	}
	return res, err
}

func (z *recordingZoho) sent() []zohoapi.Record {
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.recs)
}

// TestPartitionsShareZoho: a backlog on 4 partitions, all in one fetch, with
// Zoho the bottleneck (one call of 20 records at a time). The partitions
// share Zoho's calls from the start: by the time a quarter of the backlog is
// committed, every partition has committed some of it. franz-go's polls
// drain a fetch partition after partition, so a poll loop taking only what
// the batcher has room for delivers the partitions one after another.
func TestPartitionsShareZoho(t *testing.T) {
	const users = 800
	h := newHarness(t, 4, zohosim.Options{Latency: 50 * time.Millisecond})
	var values [][]byte
	for u := range users {
		values = append(values, identify(u, "Ann"))
	}
	h.produce(values...)
	o := h.options()
	o.Batch.MaxRecords, o.Batch.MaxInFlight, o.Batch.MaxBuffered = 20, 1, 40
	o.Batch.Linger = 5 * time.Millisecond
	h.start(o)
	var at map[int32]int64
	h.eventually(60*time.Second, "a quarter of the backlog committed", func() bool {
		at = h.committed()
		var sum int64
		for _, o := range at {
			sum += o
		}
		return sum >= users/4
	})
	for p := range int32(4) {
		if at[p] == 0 {
			t.Errorf("with %v committed, partition %d has committed nothing: partitions are delivered one after another", at, p)
		}
	}
	h.waitCommitted(60 * time.Second)
}
