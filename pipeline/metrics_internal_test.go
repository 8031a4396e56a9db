package pipeline

import (
	"encoding/json"
	"strconv"
	"strings"
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

// TestCreditsSavedIsItsDecimal: the credits-saved estimate of n records is
// n/10 as written in decimal, in the stopped log's JSON too (156 records:
// 15.6, not 15.600000000000001).
func TestCreditsSavedIsItsDecimal(t *testing.T) {
	for n := int64(0); n <= 100_000; n++ {
		want := strconv.FormatInt(n/10, 10)
		if n%10 != 0 {
			want += "." + strconv.FormatInt(n%10, 10)
		}
		if got := strconv.FormatFloat(creditsSaved(n), 'f', -1, 64); got != want {
			t.Fatalf("creditsSaved(%d) = %s, want %s", n, got, want)
		}
	}
	b, err := json.Marshal(Stats{CreditsSaved: creditsSaved(156)})
	if err != nil || !strings.Contains(string(b), `"CreditsSaved":15.6}`) {
		t.Errorf("stats JSON %s (%v), want CreditsSaved 15.6", b, err)
	}
}
