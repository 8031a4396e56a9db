package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/fakeclock"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// saverOptions are h's options with the credit saver on.
func saverOptions(h *harness) pipeline.Options {
	o := h.options()
	o.CreditSaver, o.CreditSaverKeys, o.CreditSaverTTL = true, 1000, time.Hour
	return o
}

// identify is an identify call of user u with the given first name.
func identify(u int, first string) []byte {
	return event("identify", "", map[string]any{"email": fmt.Sprintf("User%d@Example.com", u), "firstName": first, "lastName": "Doe", "company": "Acme"}, nil, fmt.Sprint("user-", u))
}

// leadFor returns the simulator's Leads record of email, nil if none.
func leadFor(h *harness, email string) map[string]any {
	for _, r := range h.sim.Records("Leads") {
		if r["Email"] == email {
			return r
		}
	}
	return nil
}

// TestCreditSaverSkipsUnchangedIdentify: each user sends the same identify
// five times (page loads), each time after the last one was delivered, so
// no batch merges them: Zoho gets one record per user, the other four are
// skipped, counted, and committed. A changed trait is sent.
func TestCreditSaverSkipsUnchangedIdentify(t *testing.T) {
	const users = 20
	h := newHarness(t, 3, zohosim.Options{})
	r := h.start(saverOptions(h))
	for range 5 {
		var round [][]byte
		for u := range users {
			round = append(round, identify(u, "Jane"))
		}
		h.produce(round...)
		h.waitCommitted(30 * time.Second)
	}
	st := h.sim.Stats()
	if st.RecordsReceived != users {
		t.Fatalf("Zoho received %d records for %d users sending the same identify 5 times, want %d", st.RecordsReceived, users, users)
	}
	if s := r.p.Stats(); s.Skipped != 4*users || s.Delivered != users || s.CreditsSaved != float64(4*users)/10 {
		t.Fatalf("skipped %d delivered %d credits saved %v; want %d, %d, %v", s.Skipped, s.Delivered, s.CreditsSaved, 4*users, users, float64(4*users)/10)
	}

	h.produce(identify(3, "Janet"))
	h.waitCommitted(30 * time.Second)
	if got := h.sim.Stats().RecordsReceived; got != users+1 {
		t.Fatalf("after a changed trait Zoho received %d records, want %d", got, users+1)
	}
	if l := leadFor(h, "User3@Example.com"); l == nil || l["First_Name"] != "Janet" {
		t.Fatalf("lead after the changed trait: %v", l)
	}
}

// TestCreditSaverOffSendsEverything: with the saver off (the zero Options),
// every identify reaches Zoho.
func TestCreditSaverOffSendsEverything(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	r := h.start(h.options())
	for range 3 {
		h.produce(identify(1, "Jane"))
		h.waitCommitted(30 * time.Second)
	}
	if got := h.sim.Stats().RecordsReceived; got != 3 {
		t.Fatalf("Zoho received %d records, want 3", got)
	}
	if s := r.p.Stats(); s.Skipped != 0 {
		t.Fatalf("skipped %d with the saver off", s.Skipped)
	}
}

// TestCreditSaverNeverSkipsBehindPending: R1 is acknowledged; R2 (changed)
// is in flight (its call is slow) when R3, identical to R1, arrives. R3 must
// be sent: skipping it would leave Zoho holding R2.
func TestCreditSaverNeverSkipsBehindPending(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	r := h.start(saverOptions(h))
	h.produce(identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)
	h.sim.SetLatency(time.Second, 0)
	h.produce(identify(1, "Janet"))
	h.eventually(30*time.Second, "R2's call is under way", func() bool { return h.sim.Stats().InFlight == 1 })
	h.produce(identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)
	if l := leadFor(h, "User1@Example.com"); l == nil || l["First_Name"] != "Jane" {
		t.Fatalf("Zoho holds %v, want First_Name Jane (R3, identical to R1)", l)
	}
	if got, s := h.sim.Stats().RecordsReceived, r.p.Stats(); got != 3 || s.Skipped != 0 {
		t.Fatalf("Zoho received %d records, %d skipped; want all 3 sent", got, s.Skipped)
	}
}

// TestCreditSaverMergedEntry: R1 is acknowledged; R2 (changed) and R3
// (identical to R1) meet in one batch and merge into R3's values, which
// Zoho holds already: nothing is sent, and Zoho keeps R1's values, as it
// would after R2 and R3.
func TestCreditSaverMergedEntry(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	r := h.start(saverOptions(h))
	h.produce(identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)
	h.produce(identify(1, "Janet"), identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)
	if l := leadFor(h, "User1@Example.com"); l == nil || l["First_Name"] != "Jane" {
		t.Fatalf("Zoho holds %v, want First_Name Jane", l)
	}
	if got, s := h.sim.Stats().RecordsReceived, r.p.Stats(); got+int(s.Skipped) != 3 {
		t.Fatalf("Zoho received %d records, %d skipped; want 3 in all", got, s.Skipped)
	}
}

// TestCreditSaverForgetsRejected: a record Zoho rejects is not remembered:
// the same record again is sent again (and rejected again).
func TestCreditSaverForgetsRejected(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	r := h.start(saverOptions(h))
	bad := event("identify", "", map[string]any{"email": "nolastname@example.com", "company": "C"}, nil, "x")
	for range 2 {
		h.produce(bad)
		h.waitCommitted(30 * time.Second)
	}
	if st := h.sim.Stats(); st.RecordsReceived != 2 || st.RecordErrorCodes["MANDATORY_NOT_FOUND"] != 2 {
		t.Fatalf("Zoho received %d records, errors %v; want the rejected record twice", st.RecordsReceived, st.RecordErrorCodes)
	}
	if s := r.p.Stats(); s.Skipped != 0 || s.DeadLetteredTotal() != 2 {
		t.Fatalf("skipped %d dead-lettered %v; want 0 and 2", s.Skipped, s.DeadLettered)
	}
}

// TestCreditSaverForgetsOnRejection: R1 is acknowledged, R2 of the same
// email is rejected (a Last_Name longer than Zoho's field), R3 identical to
// R1 is sent: after a rejection the key is forgotten, not guessed.
func TestCreditSaverForgetsOnRejection(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	r := h.start(saverOptions(h))
	long := event("identify", "", map[string]any{"email": "User1@Example.com", "firstName": "Jane", "lastName": strings.Repeat("D", 300), "company": "Acme"}, nil, "user-1")
	for _, v := range [][]byte{identify(1, "Jane"), long, identify(1, "Jane")} {
		h.produce(v)
		h.waitCommitted(30 * time.Second)
	}
	if st := h.sim.Stats(); st.RecordsReceived != 3 || st.RecordErrors != 1 {
		t.Fatalf("Zoho received %d records, %d rejected; want 3, of which R2 rejected", st.RecordsReceived, st.RecordErrors)
	}
	if s := r.p.Stats(); s.Skipped != 0 || s.DeadLetteredTotal() != 1 {
		t.Fatalf("skipped %d dead-lettered %v; want 0 and 1", s.Skipped, s.DeadLettered)
	}
}

// TestCreditSaverSendsReplays: a record replayed to its source topic
// (`consumer dlq replay --to-source` marks it with dlq.ReplayMark) reaches
// Zoho even when it is identical to the last record acknowledged.
func TestCreditSaverSendsReplays(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	r := h.start(saverOptions(h))
	v := identify(1, "Jane")
	h.produce(v)
	h.waitCommitted(30 * time.Second)
	replayed := &kgo.Record{Key: []byte("user-1"), Value: v, Headers: dlq.ReplayMark{Group: "replay-1", Count: 1}.Headers()}
	kafkatest.Produce(t, h.brokers, h.topic, replayed)
	h.waitCommitted(30 * time.Second)
	if got := h.sim.Stats().RecordsReceived; got != 2 {
		t.Fatalf("Zoho received %d records, want 2: the replay must reach Zoho", got)
	}
	if s := r.p.Stats(); s.Skipped != 0 {
		t.Fatalf("skipped %d replayed records", s.Skipped)
	}
}

// TestCreditSaverTrustsForTTL: what the saver remembers is trusted only for
// delivery.credit_saver_ttl after Zoho's acknowledgement. Another writer of
// the same email (here: another replica's upsert of a record from another
// partition, made directly) changes the lead; an event identical to the one
// this process remembers is skipped within the TTL, but sent once it has
// passed, so Zoho holds this process's record again.
func TestCreditSaverTrustsForTTL(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	clock := fakeclock.New(creditsT0)
	o := saverOptions(h)
	o.CreditSaverTTL, o.Clock = 10*time.Minute, clock
	r := h.start(o)
	const email = "User1@Example.com"
	h.produce(identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)

	other := zohoapi.Record{{Name: "Email", Value: []byte(`"User1@Example.com"`)}, {Name: "First_Name", Value: []byte(`"Globex"`)}}
	if _, err := h.zohoClient().Upsert(context.Background(), zohoapi.UpsertRequest{Module: "Leads", Records: []zohoapi.Record{other}, DuplicateCheckFields: []string{"Email"}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10*time.Minute - time.Second)
	h.produce(identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)
	if s := r.p.Stats(); s.Skipped != 1 {
		t.Fatalf("within the TTL: skipped %d, want the identical record skipped", s.Skipped)
	}
	clock.Advance(time.Second)
	h.produce(identify(1, "Jane"))
	h.waitCommitted(30 * time.Second)
	if s := r.p.Stats(); s.Skipped != 1 || s.Delivered != 2 {
		t.Fatalf("after the TTL: skipped %d delivered %d, want the identical record sent (1, 2)", s.Skipped, s.Delivered)
	}
	if l := leadFor(h, email); l == nil || l["First_Name"] != "Jane" {
		t.Fatalf("lead after the TTL: %v, want this process's record (First_Name Jane) again", l)
	}
}
