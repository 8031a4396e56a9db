package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestKeptRecordsOutliveTheirPoll: the poll loop recycles every fetched
// record into franz-go's pools when the poll is processed, while records
// dead-lettered by the poll loop or later by a Zoho answer still need their
// key and value. Between noise that keeps the pooled buffers turning over,
// every dead letter must carry its source value byte for byte, including
// those Zoho rejects after a slow call.
func TestKeptRecordsOutliveTheirPoll(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{Latency: 300 * time.Millisecond})
	var want []string // the values to be dead-lettered
	for round := range 20 {
		var vals [][]byte
		for i := range 200 {
			vals = append(vals, event("page", "", nil, map[string]any{"path": fmt.Sprintf("/noise/%d/%d", round, i)}, fmt.Sprintf("v-%d-%d", round, i)))
		}
		// Zoho answers MANDATORY_NOT_FOUND (no Last_Name): dead-lettered after the call.
		rejected := event("identify", "", map[string]any{"email": fmt.Sprintf("nolastname%d@example.com", round), "company": "C"}, nil, fmt.Sprintf("z-%d", round))
		// Not JSON: dead-lettered by the poll loop.
		broken := fmt.Appendf(nil, `{"type":"page","round":%d`, round)
		vals = append(vals, rejected, broken)
		vals = append(vals, leads(fmt.Sprintf("ok%d-", round), 3)...)
		want = append(want, string(rejected), string(broken))
		h.produce(vals...)
	}
	r := h.start(h.options())
	h.waitCommitted(60 * time.Second)
	if err := r.shutdown(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := map[string]bool{}
	for _, d := range h.deadLetters(len(want)) {
		got[string(d.Value)] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("not dead-lettered with its source value: %s", w)
		}
	}
	if s := r.p.Stats(); s.Delivered != 60 || s.DeadLetteredTotal() != int64(len(want)) {
		t.Errorf("delivered %d, dead-lettered %v; want 60 and %d", s.Delivered, s.DeadLettered, len(want))
	}
}
