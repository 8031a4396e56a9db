package delivery

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/recordtest"
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
	eps, err := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
		HTTPClient:  hc,
	})
	o := testOptions(zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second}), nopWriter{})
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
		_, err := s.call(ctx, d)
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
	if _, err := s.call(context.Background(), d); err == nil {
		t.Fatal("the 500 answer was not an error")
	}
	if st := s.breaker.State(); st != gobreaker.StateOpen {
		t.Fatalf("after a 500 the breaker is %v, want open (BreakerFailures 1)", st)
	}
}
