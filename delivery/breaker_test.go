package delivery

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/fakeclock"
	"github.com/zohosink/zohosink/internal/recordtest"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// nopWriter acknowledges every dead letter.
type nopWriter struct{}

func (nopWriter) WriteUntil(context.Context, context.Context, ...dlq.Record) error { return nil }

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

// TestCancelledCallIsNotABreakerFailure: with a breaker that opens on the
// first failure, an upsert call cut off by its context (shutdown or
// revocation) through the real Zoho client leaves the breaker closed and its
// failure counts unchanged; a 500 right after opens it.
func TestCancelledCallIsNotABreakerFailure(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	o := testOptions(simClient(t, sim), nopWriter{})
	o.BreakerFailures, o.BreakerOpenTimeout = 1, time.Minute
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	d := batch{records: []zohoapi.Record{recordtest.Of(`{"Email":"a@example.com","Last_Name":"A","Company":"C"}`)}}

	sim.HangNext(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.call(ctx, d, nil)
		done <- err
	}()
	waitFor(t, 10*time.Second, "the call hangs in Zoho", func() bool { return sim.Stats().InFlight > 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cut-off call returned %v, want context.Canceled", err)
	}
	if c, st := s.breaker.Counts(), s.breaker.State(); st != gobreaker.StateClosed || c.TotalFailures != 0 || c.ConsecutiveFailures != 0 {
		t.Fatalf("after a cancelled call the breaker is %v with %+v, want closed with no failures", st, c)
	}

	sim.FailNext(1, 500)
	if _, err := s.call(context.Background(), d, nil); err == nil {
		t.Fatal("the 500 answer was not an error")
	}
	if st := s.breaker.State(); st != gobreaker.StateOpen {
		t.Fatalf("after a 500 the breaker is %v, want open (BreakerFailures 1)", st)
	}
}

// TestTokenThrottleIsNotABreakerFailure: while Zoho's token endpoint answers
// its throttle ("Access Denied": the refresh token's mints are used up, here
// in zohosim), a Sender whose breaker opens on the first failure keeps the
// breaker closed and pauses for zoho_token_throttled, asking again after
// ThrottleBackoff; it never reports zoho_breaker_open (whose runbook is
// Zoho's 5xx). When tokens can be had again, the batch is delivered and the
// pause ends.
func TestTokenThrottleIsNotABreakerFailure(t *testing.T) {
	clock := fakeclock.New(t0) // the simulator's: its throttle window moves only when told
	sim := zohosim.New(zohosim.Options{Now: clock.Now})
	t.Cleanup(sim.Close)
	zc := simClient(t, sim, func(to *zohoapi.TokenSourceOptions) {
		to.MintBudget = 1000                  // the local budget is not under test
		to.ThrottleBackoff = time.Millisecond // ask Zoho again on every retry
	})
	obs := &breakerObserver{}
	o := testOptions(zc, nopWriter{})
	o.BreakerFailures, o.BreakerOpenTimeout = 1, time.Hour
	o.ThrottleBackoff, o.Observer = 20*time.Millisecond, obs
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if !sim.UseUpTokenMints(sim.RefreshToken()) {
		t.Fatal("UseUpTokenMints: unknown refresh token")
	}
	po := watermark.NewPartition("events", 0)
	done := sendAsync(s, batchOfN(po, "t-", 3))
	waitFor(t, 20*time.Second, "three token requests throttled", func() bool { return sim.Stats().TokenRequests >= 3 })
	if !obs.is(PauseTokenThrottled) {
		t.Errorf("pauses %v while the token endpoint throttles, want %s", obs.pauses(), PauseTokenThrottled)
	}
	if c, st := s.breaker.Counts(), s.breaker.State(); st != gobreaker.StateClosed || c.TotalFailures != 0 {
		t.Errorf("breaker %v with %+v after token throttles, want closed without failures", st, c)
	}
	if obs.opened.Load() || obs.is(PauseBreakerOpen) {
		t.Error("the breaker opened for the token endpoint's throttle")
	}
	clock.Advance(zohosim.TokenMintWindow + time.Second) // the throttle window moves on
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the batch was not delivered once tokens could be had")
	}
	if po.PendingCount() != 0 || obs.is(PauseTokenThrottled) {
		t.Errorf("%d records pending, token pause %v; want all delivered and the pause over", po.PendingCount(), obs.is(PauseTokenThrottled))
	}
}

// breakerObserver is pauseObserver that also notes the breaker opening.
type breakerObserver struct {
	pauseObserver
	opened atomic.Bool
}

func (o *breakerObserver) BreakerChanged(_, to gobreaker.State, _ error) {
	if to == gobreaker.StateOpen {
		o.opened.Store(true)
	}
}

func (o *pauseObserver) pauses() map[PauseReason]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.paused)
}
