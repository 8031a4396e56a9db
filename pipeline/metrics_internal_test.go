package pipeline

import (
	"testing"
	"time"
)

// TestRollingSumForgetsAfterWindow: credits count for 24 hours, then leave the
// sum; a long quiet gap clears everything.
func TestRollingSumForgetsAfterWindow(t *testing.T) {
	r := newRollingSum(24*time.Hour, time.Minute)
	t0 := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	check := func(at time.Duration, want int64) {
		t.Helper()
		if got := r.sum(t0.Add(at)); got != want {
			t.Errorf("sum after %v = %d, want %d", at, got, want)
		}
	}
	r.add(t0, 10)
	check(0, 10)
	r.add(t0.Add(12*time.Hour), 5)
	r.add(t0.Add(12*time.Hour+30*time.Second), 1)
	check(12*time.Hour+time.Second, 16)
	check(24*time.Hour-2*time.Minute, 16)
	check(24*time.Hour+time.Minute, 6)
	check(36*time.Hour+time.Minute, 0)
	check(100*24*time.Hour, 0)
	r.add(t0.Add(100*24*time.Hour), 3)
	if got := r.sum(t0.Add(100*24*time.Hour + time.Hour)); got != 3 {
		t.Errorf("sum after a long gap and a new add = %d, want 3", got)
	}
}
