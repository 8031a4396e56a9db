package delivery

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/internal/fakeclock"
	"github.com/zohosink/zohosink/internal/recordtest"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// pauseObserver records the pause reasons in effect and the records retried.
type pauseObserver struct {
	NopObserver
	mu     sync.Mutex
	paused map[PauseReason]bool
}

func (o *pauseObserver) Paused(r PauseReason, on bool, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.paused == nil {
		o.paused = map[PauseReason]bool{}
	}
	o.paused[r] = on
}

func (o *pauseObserver) is(r PauseReason) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paused[r]
}

// countingZoho acknowledges every record, counting calls; its answers
// report remaining credits when remaining ≥ 0.
type countingZoho struct {
	calls     atomic.Int32
	remaining atomic.Int32
}

func (z *countingZoho) Upsert(_ context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	z.calls.Add(1)
	res := &zohoapi.UpsertResult{StatusCode: 200, Credits: zohoapi.Credits(len(r.Records))}
	if n := z.remaining.Load(); n >= 0 {
		res.CreditsRemaining, res.CreditsReported = int(n), true
	}
	for range r.Records {
		res.Results = append(res.Results, zohoapi.RecordResult{Action: "insert"})
	}
	return res, nil
}

// batchOfN is a batch of n records (n/10 credits, rounded up) on po.
func batchOfN(po *watermark.Partition, prefix string, n int) *batcher.Batch[Source] {
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("%s%d@example.com", prefix, i)
	}
	return batchOf(po, emails...)
}

// sendAsync sends b and returns a channel closed once Send returned.
func sendAsync(s *Sender, b *batcher.Batch[Source]) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		s.Send(context.Background(), b)
		close(done)
	}()
	return done
}

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// TestCreditBudgetWaitsForTheWindow: with a budget of 2 credits, two calls
// of 10 records are made; the third is not made, its records stay not done
// and PauseCreditBudget holds, until the first charges leave the rolling
// 24 h window: then it is made and the pause ends.
func TestCreditBudgetWaitsForTheWindow(t *testing.T) {
	clock := fakeclock.New(t0)
	zoho := &countingZoho{}
	zoho.remaining.Store(-1)
	o := testOptions(zoho, &recordingWriter{})
	s, credits, obs := newCreditSender(t, o, 2, clock)
	for i := range 2 {
		po := watermark.NewPartition("events", int32(i))
		s.Send(context.Background(), batchOfN(po, fmt.Sprintf("b%d-", i), 10))
	}
	po := watermark.NewPartition("events", 2)
	done := sendAsync(s, batchOfN(po, "b2-", 10))
	waitFor(t, 10*time.Second, "the third batch waits for credits", func() bool { return obs.is(PauseCreditBudget) })
	clock.Advance(CreditWindow - time.Second)
	time.Sleep(50 * time.Millisecond) // a wrongly woken wait would call now; the assertions below catch it
	if n := zoho.calls.Load(); n != 2 || po.PendingCount() != 10 {
		t.Fatalf("%d calls, %d records pending one second before the window frees; want 2 calls and the third batch not sent", n, po.PendingCount())
	}
	if st := credits.Stats(); st.Budget != 2 || st.Remaining != 0 {
		t.Errorf("stats %+v, want budget 2, none remaining", st)
	}
	clock.Advance(time.Second)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the third batch still waits after the window freed its credits")
	}
	if n := zoho.calls.Load(); n != 3 || po.PendingCount() != 0 || obs.is(PauseCreditBudget) {
		t.Errorf("%d calls, %d pending, paused %v; want the third call made, its records done, the pause over", n, po.PendingCount(), obs.is(PauseCreditBudget))
	}
}

// TestStopEndsCreditWait: a batch waiting for credits returns at Stop, its
// records not done, without a call.
func TestStopEndsCreditWait(t *testing.T) {
	zoho := &countingZoho{}
	zoho.remaining.Store(-1)
	o := testOptions(zoho, &recordingWriter{})
	o.Credits = NewCredits(1, fakeclock.New(t0))
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Send(context.Background(), batchOfN(watermark.NewPartition("events", 0), "a", 1))
	po := watermark.NewPartition("events", 1)
	done := sendAsync(s, batchOfN(po, "b", 1))
	waitFor(t, 10*time.Second, "the second batch waits", func() bool { return o.Credits.Stats().Remaining == 0 })
	s.Stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send still waits for credits after Stop")
	}
	if zoho.calls.Load() != 1 || po.PendingCount() != 1 {
		t.Errorf("%d calls, %d pending; want no call for the waiting batch", zoho.calls.Load(), po.PendingCount())
	}
}

// TestCreditShare: the budget is split by the share of source partitions
// owned; a larger share lets a waiting call go on at once.
func TestCreditShare(t *testing.T) {
	c := NewCredits(100, fakeclock.New(t0))
	c.SetShare(1, 4)
	if st := c.Stats(); st.Budget != 25 || st.Remaining != 25 {
		t.Fatalf("stats %+v, want a share of 25 of 100", st)
	}
	var turn creditTurn
	for range 2 {
		if wait, _, err := c.reserve(&turn, 10); wait != 0 {
			t.Fatalf("reserving 10 of 25 credits: wait %v (%v)", wait, err)
		}
	}
	wait, woken, err := c.reserve(&turn, 10)
	if wait != CreditWindow || err == nil {
		t.Fatalf("reserving 30 of 25 credits: wait %v (%v), want the whole window", wait, err)
	}
	woke := make(chan struct{})
	go func() {
		c.wait(context.Background(), wait, woken)
		close(woke)
	}()
	c.SetShare(2, 4)
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("a larger share did not end the wait")
	}
	if wait, _, err := c.reserve(&turn, 10); wait != 0 {
		t.Fatalf("reserving 30 of 50 credits: wait %v (%v)", wait, err)
	}
	c.refund(10)
	if st := c.Stats(); st.Budget != 50 || st.Remaining != 30 {
		t.Errorf("stats %+v after a refund, want 30 of 50 remaining", st)
	}
}

// TestZohoRemainingLowPauses: Zoho reports 5 credits left; a call of 100
// records (10 credits) is not made and PauseCreditBudget holds until the
// probe interval passed; the probe is answered without the header (the
// window freed credits) and delivery goes on.
func TestZohoRemainingLowPauses(t *testing.T) {
	clock := fakeclock.New(t0)
	zoho := &countingZoho{}
	zoho.remaining.Store(5)
	o := testOptions(zoho, &recordingWriter{})
	s, credits, obs := newCreditSender(t, o, 0, clock)
	s.Send(context.Background(), batchOfN(watermark.NewPartition("events", 0), "a", 1))
	if st := credits.Stats(); st.Zoho != 5 {
		t.Fatalf("Zoho's remaining credits %d, want 5 as reported", st.Zoho)
	}
	po := watermark.NewPartition("events", 1)
	done := sendAsync(s, batchOfN(po, "b", 100))
	waitFor(t, 10*time.Second, "the large batch waits", func() bool { return obs.is(PauseCreditBudget) })
	if zoho.calls.Load() != 1 {
		t.Fatalf("%d calls, want the large batch not sent", zoho.calls.Load())
	}
	zoho.remaining.Store(-1)
	clock.Advance(creditProbeInitial)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the large batch still waits after the probe interval")
	}
	if zoho.calls.Load() != 2 || po.PendingCount() != 0 || obs.is(PauseCreditBudget) {
		t.Errorf("%d calls, %d pending, paused %v; want the probe delivered and the pause over", zoho.calls.Load(), po.PendingCount(), obs.is(PauseCreditBudget))
	}
}

// TestSimulatorCreditsExhausted: the simulator's daily limit is spent; its
// 429 is credit exhaustion, not an outage: nothing is dead-lettered, the
// breaker stays closed, PauseCreditBudget holds and probes come at growing
// intervals; once SetDailyCredits raises the limit, the next probe delivers.
func TestSimulatorCreditsExhausted(t *testing.T) {
	clock := fakeclock.New(t0)
	sim := zohosim.New(zohosim.Options{DailyCredits: 2, Now: clock.Now})
	t.Cleanup(sim.Close)
	w := &recordingWriter{}
	o := testOptions(simClient(t, sim), w)
	o.BreakerFailures = 1
	s, credits, obs := newCreditSender(t, o, 0, clock)
	leads := func(po *watermark.Partition, prefix string) *batcher.Batch[Source] {
		b := batchOfN(po, prefix, 10)
		for i := range b.Entries {
			b.Entries[i].Items[0].Record = recordtest.Of(`{"Email":"` + b.Entries[i].Key + `","Last_Name":"L","Company":"C"}`)
		}
		return b
	}
	s.Send(context.Background(), leads(watermark.NewPartition("events", 0), "a"))
	po := watermark.NewPartition("events", 1)
	s.Send(context.Background(), leads(po, "b"))
	if po.PendingCount() != 0 {
		t.Fatal("the second batch was not delivered within the simulator's 2 credits")
	}
	if st := credits.Stats(); st.Zoho != 0 {
		t.Fatalf("Zoho's remaining credits %d, want 0 (X-API-CREDITS-REMAINING)", st.Zoho)
	}
	po = watermark.NewPartition("events", 2)
	done := sendAsync(s, leads(po, "c"))
	waitFor(t, 10*time.Second, "the third batch waits", func() bool { return obs.is(PauseCreditBudget) })
	if n := sim.Stats().UpsertCalls; n != 2 {
		t.Fatalf("%d upsert calls, want none while Zoho reports 0 credits left", n)
	}
	// The first probe is refused: spent credits, not an outage. (The clock
	// moves once the batch waits on it: an advance before is lost.)
	waitFor(t, 10*time.Second, "the batch waits for the probe", func() bool { return clock.Waiters() > 0 })
	clock.Advance(creditProbeInitial)
	waitFor(t, 10*time.Second, "the probe is refused", func() bool { return sim.Stats().CreditRejections == 1 })
	waitFor(t, 10*time.Second, "the batch waits again", func() bool { return clock.Waiters() > 0 })
	clock.Advance(creditProbeInitial)
	time.Sleep(50 * time.Millisecond)
	if n := sim.Stats().UpsertCalls; n != 3 {
		t.Fatalf("%d upsert calls a minute after a refused probe, want 3 (the next probe waits twice as long)", n)
	}
	if st, _ := s.Breaker(); st != gobreaker.StateClosed || !obs.is(PauseCreditBudget) || len(w.recs) != 0 {
		t.Fatalf("breaker %v, paused %v, %d dead letters; want closed, paused, none", st, obs.is(PauseCreditBudget), len(w.recs))
	}
	sim.SetDailyCredits(100)
	clock.Advance(creditProbeInitial)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the batch still waits after the limit was raised and the probe interval passed")
	}
	if po.PendingCount() != 0 || obs.is(PauseCreditBudget) || len(w.recs) != 0 {
		t.Errorf("%d pending, paused %v, %d dead letters; want delivered, the pause over, none", po.PendingCount(), obs.is(PauseCreditBudget), len(w.recs))
	}
}

// TestConcurrency429IsNotCreditExhaustion: a 429 for the concurrency limit
// (Zoho still reports credits left) is a throttle as before, not a credit
// pause, and its reservation is given back: only the answered call's
// credit is spent.
func TestConcurrency429IsNotCreditExhaustion(t *testing.T) {
	obs := sendAfterUnchargedCall(t, &zohoapi.APIError{StatusCode: http.StatusTooManyRequests, Code: "TOO_MANY_REQUESTS",
		Message: "concurrency limit exceeded", CreditsRemaining: 50, CreditsReported: true})
	obs.mu.Lock()
	_, creditPause := obs.paused[PauseCreditBudget]
	_, throttled := obs.paused[PauseZohoThrottled]
	obs.mu.Unlock()
	if creditPause || !throttled {
		t.Errorf("pauses seen %v, want zoho_throttled and never credit_budget_spent", obs.paused)
	}
}

// TestUnauthorizedCallCostsNoCredits: a call Zoho answers 401 (after a fresh
// token, or with none to be had) is not charged: its reservation is given
// back, and only the call that then succeeds spends its credit.
func TestUnauthorizedCallCostsNoCredits(t *testing.T) {
	sendAfterUnchargedCall(t, &zohoapi.APIError{StatusCode: http.StatusUnauthorized, Code: "INVALID_TOKEN", Message: "invalid oauth token"})
}

// sendAfterUnchargedCall sends one record to a Zoho whose first call fails
// with first and whose second succeeds, on a budget of 10 credits: the
// record is delivered on the second call, and 9 credits remain (first's
// reservation given back). It returns the sender's observer.
func sendAfterUnchargedCall(t *testing.T, first error) *pauseObserver {
	t.Helper()
	var calls atomic.Int32
	zoho := upsertFunc(func(_ context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
		if calls.Add(1) == 1 {
			return nil, first
		}
		return &zohoapi.UpsertResult{StatusCode: 200, Results: []zohoapi.RecordResult{{Action: "insert"}}}, nil
	})
	o := testOptions(zoho, &recordingWriter{})
	s, credits, obs := newCreditSender(t, o, 10, fakeclock.New(t0))
	po := watermark.NewPartition("events", 0)
	s.Send(context.Background(), batchOf(po, "a@example.com"))
	if po.PendingCount() != 0 || calls.Load() != 2 {
		t.Fatalf("%d pending after %d calls, want delivered on the second call", po.PendingCount(), calls.Load())
	}
	if st := credits.Stats(); st.Remaining != 9 {
		t.Errorf("%d of 10 credits remaining, want 9: the reservation of the call answered %v given back", st.Remaining, first)
	}
	return obs
}

// TestShareBelowOneCall: a share smaller than one call's price still lets
// one call through per window (delivery never stalls for good), not two.
func TestShareBelowOneCall(t *testing.T) {
	c := NewCredits(100, fakeclock.New(t0))
	c.SetShare(1, 50) // 2 credits per 24 h
	var turn creditTurn
	if wait, _, err := c.reserve(&turn, 10); wait != 0 {
		t.Fatalf("first call of 10 credits on a share of 2: wait %v (%v), want it made", wait, err)
	}
	if wait, _, _ := c.reserve(&turn, 1); wait != CreditWindow {
		t.Fatalf("a second call waits %v, want the whole window", wait)
	}
}

// TestCreditsServeSealOrder: with the budget spent, the batches sealed 1,
// 2 and 3 wait; each time the window frees one call's credits they try
// again in reverse order (3, 2, 1, as goroutines may be scheduled), and
// the credits go to 1, then 2, then 3: the first in line is served first,
// and a later batch does not take the credits while it waits, though they
// would fit its call.
func TestCreditsServeSealOrder(t *testing.T) {
	clock := fakeclock.New(t0)
	c := NewCredits(3, clock)
	var spender creditTurn
	for i := range 3 { // one credit at t0, t0+2s and t0+4s: they leave the window one by one
		if i > 0 {
			clock.Advance(2 * creditBucket)
		}
		if wait, _, err := c.reserve(&spender, 1); wait != 0 {
			t.Fatalf("credit %d of 3: wait %v (%v)", i+1, wait, err)
		}
	}
	turns := []*creditTurn{{seq: 1}, {seq: 2}, {seq: 3}}
	for i := 2; i >= 0; i-- {
		if wait, _, _ := c.reserve(turns[i], 1); wait <= 0 || !turns[i].waiting {
			t.Fatalf("batch %d reserved with the budget spent (wait %v)", turns[i].seq, wait)
		}
	}
	clock.Advance(CreditWindow - 4*creditBucket)
	var served []uint64
	for round := range 3 {
		if round > 0 {
			clock.Advance(2 * creditBucket)
		}
		for i := 2; i >= 0; i-- {
			if !turns[i].waiting {
				continue
			}
			if wait, _, _ := c.reserve(turns[i], 1); wait == 0 {
				served = append(served, turns[i].seq)
			}
		}
		if len(served) != round+1 {
			t.Fatalf("after %d credits freed, served %v; want one batch per credit", round+1, served)
		}
	}
	if want := []uint64{1, 2, 3}; !slices.Equal(served, want) {
		t.Fatalf("credits went to batches %v, want the seal order %v", served, want)
	}
	if n := inLine(c); n != 0 {
		t.Errorf("%d batches still in line, want none", n)
	}
}

// TestCreditRefundWakesTheLine: credits given back (a reservation whose
// call was never made) wake the batch waiting for them at once, not when
// the wait it computed ends.
func TestCreditRefundWakesTheLine(t *testing.T) {
	c := NewCredits(10, fakeclock.New(t0))
	var spender creditTurn
	if wait, _, err := c.reserve(&spender, 10); wait != 0 {
		t.Fatalf("reserve: wait %v (%v)", wait, err)
	}
	waiter := creditTurn{seq: 1}
	wait, woken, _ := c.reserve(&waiter, 10)
	if wait <= 0 {
		t.Fatal("reserved with the budget spent")
	}
	c.refund(10)
	select {
	case <-woken:
	default:
		t.Fatal("the refund did not wake the batch waiting for credits")
	}
	if wait, _, err := c.reserve(&waiter, 10); wait != 0 {
		t.Errorf("after the refund: wait %v (%v)", wait, err)
	}
}

// TestCreditLineLeftOnRevocation: batch 1 (100 records, 10 credits) waits
// for the window; batch 2, sealed after it, needs 1 credit, which is left,
// but waits behind it. Once batch 1's partition is revoked, batch 1 leaves
// the line without a call and batch 2 is sent at once.
func TestCreditLineLeftOnRevocation(t *testing.T) {
	zoho := &countingZoho{}
	zoho.remaining.Store(-1)
	o := testOptions(zoho, &recordingWriter{})
	s, credits, obs := newCreditSender(t, o, 10, fakeclock.New(t0))
	tr := watermark.New()
	tr.Assign(map[string][]int32{"events": {0, 1, 2}})
	s.Send(context.Background(), batchOfN(tr.Partition("events", 0), "a", 50)) // 5 of 10 credits spent
	p1, p2 := tr.Partition("events", 1), tr.Partition("events", 2)
	b1, b2 := batchOfN(p1, "b", 100), batchOfN(p2, "c", 10)
	b1.Seq, b2.Seq = 1, 2
	done1 := sendAsync(s, b1)
	waitFor(t, 10*time.Second, "batch 1 waits for credits", func() bool { return inLine(credits) == 1 })
	done2 := sendAsync(s, b2)
	waitFor(t, 10*time.Second, "batch 2 waits behind batch 1, or is sent", func() bool { return inLine(credits) == 2 || zoho.calls.Load() == 2 })
	if n := zoho.calls.Load(); n != 1 || p2.PendingCount() != 10 {
		t.Fatalf("%d calls, %d of batch 2's records pending; want batch 2 not sent while batch 1, sealed before it, waits", n, p2.PendingCount())
	}
	tr.Release(map[string][]int32{"events": {1}})
	for i, done := range []<-chan struct{}{done1, done2} {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("batch %d still waits after batch 1's partition was revoked", i+1)
		}
	}
	if n := zoho.calls.Load(); n != 2 || p1.PendingCount() != 100 || p2.PendingCount() != 0 || obs.is(PauseCreditBudget) || inLine(credits) != 0 {
		t.Errorf("%d calls, pending %d and %d, paused %v, %d in line; want batch 2 sent, batch 1 not, the pause over, nobody in line",
			n, p1.PendingCount(), p2.PendingCount(), obs.is(PauseCreditBudget), inLine(credits))
	}
}

// newCreditSender is a Sender of o with a credit budget on clock, and the
// observer of its pauses.
func newCreditSender(t *testing.T, o Options, budget int, clock Clock) (*Sender, *Credits, *pauseObserver) {
	t.Helper()
	obs := &pauseObserver{}
	o.Credits, o.Observer = NewCredits(budget, clock), obs
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, o.Credits, obs
}

// inLine is the number of batches in c's line for credits.
func inLine(c *Credits) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiting)
}

// TestZohoCountLessCallsInFlight: Zoho's report in one call's answer does
// not count the calls still in flight, so they are taken off it: with 15
// credits left and another call of 10 in flight, a third call of 10 waits
// for that answer instead of overrunning the org's count (Zoho would refuse
// whichever arrived last); once that answer reports 5 left and nothing is
// in flight, it waits for a probe.
func TestZohoCountLessCallsInFlight(t *testing.T) {
	c := NewCredits(0, fakeclock.New(t0))
	a, b, third := creditTurn{seq: 1}, creditTurn{seq: 2}, creditTurn{seq: 3}
	for _, turn := range []*creditTurn{&a, &b} {
		if wait, _, err := c.reserve(turn, 10); wait != 0 {
			t.Fatalf("reserve: wait %v (%v)", wait, err)
		}
	}
	c.answered(&zohoapi.UpsertResult{CreditsRemaining: 15, CreditsReported: true}, 10)
	if st := c.Stats(); st.Zoho != 5 {
		t.Fatalf("Zoho's count %d, want 15 reported less the 10 of the call in flight", st.Zoho)
	}
	wait, woken, err := c.reserve(&third, 10)
	if wait == 0 {
		t.Fatal("a call of 10 credits was reserved with 15 left and 10 in flight")
	}
	c.answered(&zohoapi.UpsertResult{CreditsRemaining: 5, CreditsReported: true}, 10)
	select {
	case <-woken:
	default:
		t.Fatalf("the answer did not wake the call waiting for it (%v)", err)
	}
	if wait, _, err := c.reserve(&third, 10); wait < creditProbeInitial {
		t.Errorf("with 5 credits left and nothing in flight: wait %v (%v), want the probe interval", wait, err)
	}
}

// TestZohoCountIsTheLeastOfTheLatest: answers of concurrent calls are
// settled in any order, so an answer settled later can report more (Zoho
// computed it before charging calls answered since): the count is the
// least of the latest creditReports answers, less the calls in flight, and
// a count that rises (the window freed credits) is taken once that many
// answers report it.
func TestZohoCountIsTheLeastOfTheLatest(t *testing.T) {
	c := NewCredits(0, fakeclock.New(t0))
	turns := make([]creditTurn, 3)
	for i := range turns {
		if wait, _, err := c.reserve(&turns[i], 10); wait != 0 {
			t.Fatalf("reserve: wait %v (%v)", wait, err)
		}
	}
	c.answered(&zohoapi.UpsertResult{CreditsRemaining: 25, CreditsReported: true}, 10)
	c.answered(&zohoapi.UpsertResult{CreditsRemaining: 40, CreditsReported: true}, 10)
	c.answered(&zohoapi.UpsertResult{}, 10) // answered before half the day's credits were used
	if st := c.Stats(); st.Zoho != 25 {
		t.Fatalf("Zoho's count %d, want 25, not raised by the older answers", st.Zoho)
	}
	rising := &zohoapi.UpsertResult{CreditsRemaining: 300, CreditsReported: true}
	for range creditReports - 3 {
		c.answered(rising, 0)
	}
	if st := c.Stats(); st.Zoho != 25 {
		t.Fatalf("Zoho's count %d, want 25 while it is among the latest answers", st.Zoho)
	}
	for _, want := range []int{40, 300} {
		c.answered(rising, 0)
		if st := c.Stats(); st.Zoho != want {
			t.Errorf("Zoho's count %d, want %d as the older answers leave the latest", st.Zoho, want)
		}
	}
}
