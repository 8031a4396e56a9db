package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fill takes every free slot of a, returning them.
func fill(t *testing.T, a *AIMD) []CallSlot {
	t.Helper()
	var out []CallSlot
	for range a.Limit() {
		s, err := a.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// windows answers n full windows of calls: every slot taken, then every
// call answered.
func windows(t *testing.T, a *AIMD, n int) {
	t.Helper()
	for range n {
		for _, s := range fill(t, a) {
			a.Release(s, CallAnswered)
		}
	}
}

// TestAIMDSlowStartUpToMax: from 2, the limit doubles every full window
// and stops at max.
func TestAIMDSlowStartUpToMax(t *testing.T) {
	var changes []int
	a := NewAIMD(10, func(l int) { changes = append(changes, l) })
	if a.Limit() != 2 {
		t.Fatalf("initial limit %d, want 2", a.Limit())
	}
	windows(t, a, 1)
	if a.Limit() != 4 {
		t.Errorf("after one window: %d, want 4", a.Limit())
	}
	windows(t, a, 1)
	if a.Limit() != 8 {
		t.Errorf("after two windows: %d, want 8", a.Limit())
	}
	windows(t, a, 5)
	if a.Limit() != 10 {
		t.Errorf("after many windows: %d, want max 10", a.Limit())
	}
	if changes[len(changes)-1] != 10 || len(changes) != 8 {
		t.Errorf("changes reported %v, want each step 3..10 once", changes)
	}
	if NewAIMD(1, nil).Limit() != 1 {
		t.Error("max 1 does not start at 1")
	}
}

// TestAIMDCutOncePerWindow: a 429 cuts the limit ×0.75; 429s of calls that
// started before that cut do not cut again; a call started after it does.
func TestAIMDCutOncePerWindow(t *testing.T) {
	a := NewAIMD(10, nil)
	windows(t, a, 5) // 10
	slots := fill(t, a)
	for _, s := range slots[:5] {
		if a.Release(s, CallThrottled) != 0 {
			t.Fatal("a 429 at limit 10 counted as a floor hit")
		}
	}
	if a.Limit() != 7 {
		t.Fatalf("after five 429s of one window: %d, want 7 (one cut of 10 × 0.75)", a.Limit())
	}
	for _, s := range slots[5:] {
		a.Release(s, CallNoSignal)
	}
	s, _ := a.Acquire(context.Background())
	a.Release(s, CallThrottled)
	if a.Limit() != 5 {
		t.Errorf("after a 429 of a later call: %d, want 5 (7.5 × 0.75)", a.Limit())
	}
}

// TestAIMDGrowsBackSlowlyToTheCeiling: after a cut the limit climbs +1 per
// window to one below the limit that got the 429, then takes
// aimdProbeWindows windows for the last one; no growth while not every slot is in use.
func TestAIMDGrowsBackSlowlyToTheCeiling(t *testing.T) {
	a := NewAIMD(20, nil)
	windows(t, a, 3) // 2, 4, 8 → 16
	if a.Limit() != 16 {
		t.Fatalf("slow start: %d, want 16", a.Limit())
	}
	s, _ := a.Acquire(context.Background())
	a.Release(s, CallThrottled) // ceiling 16, limit 12
	if a.Limit() != 12 {
		t.Fatalf("cut: %d, want 12", a.Limit())
	}
	windows(t, a, 4)
	if a.Limit() != 15 {
		t.Fatalf("after 4 windows: %d, want 15 (about +1 per window up to ceiling - 1)", a.Limit())
	}
	windows(t, a, aimdProbeWindows/2)
	if a.Limit() != 15 {
		t.Fatalf("half the probe: %d, want still 15", a.Limit())
	}
	windows(t, a, aimdProbeWindows/2)
	l := a.Limit()
	if l < 16 {
		t.Fatalf("after the probe: %d, want 16 or more", l)
	}
	windows(t, a, 2)
	if got := a.Limit(); got < l+1 {
		t.Fatalf("past the ceiling: %d after 2 windows from %d, want about +1 per window", got, l)
	}
	l = a.Limit()
	// Calls answered while slots are free say nothing about more slots.
	for range 100 {
		s, _ := a.Acquire(context.Background())
		a.Release(s, CallAnswered)
	}
	if got := a.Limit(); got != l {
		t.Errorf("after answers with free slots: %d, want %d", got, l)
	}
}

// TestAIMDFloor: the limit never goes below 1; Release counts the 429s in
// a row of calls made at limit 1 (the run that says cutting cannot help),
// not those of calls made at a larger limit, and an answer ends the run.
func TestAIMDFloor(t *testing.T) {
	a := NewAIMD(4, nil)
	throttle := func() int {
		s, err := a.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return a.Release(s, CallThrottled)
	}
	// Both calls made at limit 2 refused: one cut, to 1; they were not made
	// at 1, so neither counts.
	s1, _ := a.Acquire(context.Background())
	s2, _ := a.Acquire(context.Background())
	if h1, h2 := a.Release(s1, CallThrottled), a.Release(s2, CallThrottled); h1 != 0 || h2 != 0 || a.Limit() != 1 {
		t.Fatalf("two 429s at 2: floor hits %d %d, limit %d; want 0, 0, 1", h1, h2, a.Limit())
	}
	for want := 1; want <= 3; want++ {
		if got := throttle(); got != want {
			t.Fatalf("429 %d in a row at 1: floor hits %d", want, got)
		}
	}
	if a.Limit() != 1 {
		t.Fatalf("limit %d, want 1", a.Limit())
	}
	s, _ := a.Acquire(context.Background())
	a.Release(s, CallAnswered)
	// The answer ended the run (and, at the old ceiling, grew the limit to 2).
	if got, again := throttle(), throttle(); got != 0 || again != 1 {
		t.Fatalf("429s after an answer: floor hits %d then %d, want 0 (made at 2) then 1", got, again)
	}
	if NewAIMD(0, nil).Max() != 1 {
		t.Error("max 0 not taken as 1")
	}
}

// TestConcurrencyRetryWaitGrowsAtTheFloor: the wait after a concurrency
// 429 is at most one call time, doubled per 429 in a row at limit 1 up to
// aimdFloorRetries doublings.
func TestConcurrencyRetryWaitGrowsAtTheFloor(t *testing.T) {
	a := NewAIMD(4, nil)
	s, _ := a.Acquire(context.Background())
	time.Sleep(10 * time.Millisecond)
	a.Release(s, CallAnswered)
	ct := a.CallTime()
	for hits, bound := range map[int]time.Duration{0: ct, 1: 2 * ct, 3: 8 * ct, 20: ct << aimdFloorRetries} {
		for range 50 {
			if w := concurrencyRetryWait(a, time.Hour, hits); w <= 0 || w > bound {
				t.Fatalf("wait %v after %d floor hits, want within (0, %v]", w, hits, bound)
			}
		}
	}
	if w := concurrencyRetryWait(NewAIMD(4, nil), 50*time.Millisecond, 0); w > 50*time.Millisecond {
		t.Errorf("before any answer: %v, want at most the initial 50ms", w)
	}
}

// TestAIMDAcquireWaitsAndEndsWithCtx: Acquire waits while every slot is
// taken, continues when one is released, and returns ctx's error when ctx
// ends first.
func TestAIMDAcquireWaitsAndEndsWithCtx(t *testing.T) {
	a := NewAIMD(1, nil)
	s, _ := a.Acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Acquire with every slot taken: %v, want the deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := a.Acquire(context.Background())
		got <- err
	}()
	a.Release(s, CallAnswered)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire did not continue after a release")
	}
}

// TestAIMDConcurrentUse: many goroutines calling through the limiter never
// exceed the limit, with 429s whenever more than 3 calls run at once (a
// small org); the limit settles at or below 4.
func TestAIMDConcurrentUse(t *testing.T) {
	a := NewAIMD(10, nil)
	const org = 3
	var running, peak, over atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				s, err := a.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				o := CallAnswered
				if n > org {
					o = CallThrottled
					over.Add(1)
				} else {
					time.Sleep(100 * time.Microsecond)
				}
				running.Add(-1)
				a.Release(s, o)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 10 {
		t.Errorf("peak %d calls at once, above max 10", p)
	}
	if l := a.Limit(); l < 1 || l > org+1 {
		t.Errorf("limit settled at %d, want 1..%d", l, org+1)
	}
	if o := over.Load(); o > 16*200/5 {
		t.Errorf("%d of %d calls over the org's limit", o, 16*200)
	}
}

// TestFairCallsSplitsMaxExactly: members' shares of max_in_flight by
// partition add up to exactly max (3 members of 6 partitions, 10 calls:
// 3, 3 and 4, where max × 2/6 rounded down would leave a slot unused), and
// a member with no partition gets 1.
func TestFairCallsSplitsMaxExactly(t *testing.T) {
	members := [][]int{{0, 1}, {2, 5}, {3, 4}}
	sum := 0
	for _, m := range members {
		c := FairCalls(10, make([]int64, 6), m)
		if c < 3 || c > 4 {
			t.Errorf("partitions %v: %d calls, want 3 or 4", m, c)
		}
		sum += c
	}
	if sum != 10 {
		t.Errorf("shares add up to %d, want 10", sum)
	}
	if c := FairCalls(10, make([]int64, 6), nil); c != 1 {
		t.Errorf("no partition: %d calls, want 1", c)
	}
	if c := FairCalls(10, make([]int64, 6), []int{0, 1, 2, 3, 4, 5}); c != 10 {
		t.Errorf("every partition: %d calls, want 10", c)
	}
	if c := FairCalls(4, make([]int64, 8), []int{0}); c != 1 {
		t.Errorf("a partition worth half a call: %d, want 1", c)
	}
	// By backlog: the member whose partitions drained gets 1, the others
	// split the rest by what is left.
	w := []int64{0, 0, 300, 100, 100, 300}
	if a, b, c := FairCalls(10, w, []int{0, 1}), FairCalls(10, w, []int{2, 5}), FairCalls(10, w, []int{3, 4}); a != 1 || b+c != 10 || b < 7 {
		t.Errorf("by backlog %v: %d, %d, %d calls; want 1 (drained), then 7 or 8 and the rest of 10", w, a, b, c)
	}
}

// TestAIMDFairShare: SetFair starts the limit at the fair share (no slow
// start); a 429 above it cuts no lower than it; the slot above it is
// probed over aimdProbeWindows windows; a 429 at it cuts below it and the
// limit comes back to it at +1 per window.
func TestAIMDFairShare(t *testing.T) {
	var changes []int
	a := NewAIMD(10, func(l int) { changes = append(changes, l) })
	a.SetFair(4)
	if a.Limit() != 4 || len(changes) != 1 || changes[0] != 4 {
		t.Fatalf("after SetFair(4): limit %d, changes %v; want 4, [4]", a.Limit(), changes)
	}
	windows(t, a, aimdProbeWindows/2)
	if a.Limit() != 4 {
		t.Fatalf("half the probe above the share: %d, want still 4", a.Limit())
	}
	n := aimdProbeWindows / 2
	for ; a.Limit() == 4 && n < 2*aimdProbeWindows; n++ {
		windows(t, a, 1)
	}
	if a.Limit() != 5 || n < aimdProbeWindows {
		t.Fatalf("after %d windows: %d, want 5 after about aimdProbeWindows (%d)", n, a.Limit(), aimdProbeWindows)
	}
	windows(t, a, 2)
	if a.Limit() < 6 {
		t.Fatalf("past the first slot above the share: %d, want about +1 per window", a.Limit())
	}
	for a.Limit() > 4 {
		l := a.Limit()
		s, _ := a.Acquire(context.Background())
		a.Release(s, CallThrottled)
		if a.Limit() < 4 || a.Limit() >= l {
			t.Fatalf("429 above the share at %d: %d, want a cut (×0.75) not below the share 4", l, a.Limit())
		}
	}
	s, _ := a.Acquire(context.Background())
	a.Release(s, CallThrottled)
	if a.Limit() != 3 {
		t.Fatalf("429 at the share: %d, want 3 (×0.75)", a.Limit())
	}
	windows(t, a, 2)
	if a.Limit() != 4 {
		t.Fatalf("2 windows below the share: %d, want back at 4", a.Limit())
	}
	windows(t, a, aimdProbeWindows/2)
	if a.Limit() != 4 {
		t.Fatalf("after a 429 the slot above the share is probed slowly: %d, want 4", a.Limit())
	}
	a.SetFair(20)
	if a.Limit() != 4 {
		t.Errorf("a larger share asked for once: %d, want still 4", a.Limit())
	}
	a.SetFair(20)
	if a.Limit() != 10 {
		t.Errorf("SetFair above max, twice: %d, want max 10", a.Limit())
	}
	a.SetFair(0)
	if a.Limit() != 1 {
		t.Errorf("SetFair(0): %d, want 1", a.Limit())
	}
}

// TestAIMDFreeBeforeRelease: Free gives the slot back at once (a waiting
// Acquire goes on) and Release after it only takes the outcome: the slot is
// not given back twice, and a second Free does nothing.
func TestAIMDFreeBeforeRelease(t *testing.T) {
	a := NewAIMD(2, nil)
	slots := fill(t, a)
	got := make(chan CallSlot, 1)
	go func() {
		s, err := a.Acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	a.Free(&slots[0])
	a.Free(&slots[0])
	var third CallSlot
	select {
	case third = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire did not continue after Free")
	}
	a.Release(slots[0], CallAnswered)
	a.mu.Lock()
	inUse := a.inUse
	a.mu.Unlock()
	if inUse != 2 {
		t.Fatalf("after Free, Acquire and Release: %d slots in use, want 2 (the second and the third call)", inUse)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Acquire with both slots taken: %v, want the deadline", err)
	}
	a.Release(slots[1], CallAnswered)
	a.Release(third, CallAnswered)
	if len(fill(t, a)) != a.Limit() {
		t.Fatal("slots not all back")
	}
}
