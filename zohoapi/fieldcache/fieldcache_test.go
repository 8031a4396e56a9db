package fieldcache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// counting is a Source that counts fetches of the real client.
type counting struct {
	c *zohoapi.Client
	n atomic.Int32
}

func (s *counting) Fields(ctx context.Context, module string) ([]zohoapi.Field, error) {
	s.n.Add(1)
	return s.c.Fields(ctx, module)
}

func simSource(t *testing.T) (*zohosim.Server, *counting) {
	t.Helper()
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	eps, err := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()}})
	return sim, &counting{c: zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})}
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRefreshKeepsGenerationsAndLastGood(t *testing.T) {
	sim, src := simSource(t)
	var mu sync.Mutex
	var reported []error
	c, err := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{"Leads"}, OnRefresh: func(m string, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c.Snapshot("Leads") != nil {
		t.Fatal("snapshot before the first fetch")
	}
	if err := c.Refresh(ctx, "Leads"); err != nil {
		t.Fatal(err)
	}
	s1 := c.Snapshot("Leads")
	if f, ok := s1.Field("No_of_Employees"); s1.Generation != 1 || !ok || f.DataType != "integer" {
		t.Fatalf("snapshot %+v %+v", s1.Generation, f)
	}
	if err := c.Refresh(ctx, "Leads"); err != nil || c.Snapshot("Leads").Generation != 1 {
		t.Fatalf("unchanged fields: generation %d, %v", c.Snapshot("Leads").Generation, err)
	}
	if err := sim.AddField("Leads", zohosim.Field{APIName: "Seats__c", DataType: "integer", Length: 5, Custom: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx, "Leads"); err != nil {
		t.Fatal(err)
	}
	s2 := c.Snapshot("Leads")
	if f, ok := s2.Field("Seats__c"); s2.Generation != 2 || !ok || f.Length != 5 {
		t.Fatalf("after AddField: generation %d, %+v", s2.Generation, f)
	}

	// Metadata unreachable: the last good copy stays, the error is reported.
	sim.SetNoPermission(true)
	err = c.Refresh(ctx, "Leads")
	var ae *zohoapi.APIError
	if !errors.As(err, &ae) || ae.Code != "NO_PERMISSION" {
		t.Fatalf("refresh without permission: %v", err)
	}
	if st := c.Status("Leads"); st.Snapshot != s2 || !errors.Is(st.Err, err) || st.LastAttempt.IsZero() {
		t.Fatalf("status %+v", st)
	}
	sim.SetNoPermission(false)
	if err := c.Refresh(ctx, "Leads"); err != nil || c.Status("Leads").Err != nil {
		t.Fatalf("recovered: %v %v", err, c.Status("Leads").Err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 5 || reported[3] == nil || reported[4] != nil {
		t.Fatalf("OnRefresh %v", reported)
	}
	if err := c.Refresh(ctx, "Contacts"); !errors.Is(err, fieldcache.ErrUnknownModule) {
		t.Fatalf("module not kept: %v", err)
	}
}

func TestNoMetadataBeforeFirstGoodFetch(t *testing.T) {
	sim, src := simSource(t)
	sim.Close() // Zoho unreachable
	c, _ := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{"Leads"}})
	if err := c.Refresh(context.Background(), "Leads"); err == nil {
		t.Fatal("refresh from a closed simulator succeeded")
	}
	if st := c.Status("Leads"); st.Snapshot != nil || st.Err == nil || c.Snapshot("Leads") != nil {
		t.Fatalf("status %+v", st)
	}
}

// TestStaleIsCoalescedAndRateLimited: a burst of Stale costs one fetch; the
// next one waits for MinStaleInterval.
func TestStaleIsCoalescedAndRateLimited(t *testing.T) {
	sim, src := simSource(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, _ := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{"Leads"}, MinStaleInterval: time.Hour, Now: clock})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	for range 20 {
		c.Stale("Leads")
	}
	eventually(t, "the first fetch", func() bool { return c.Snapshot("Leads") != nil })
	_ = sim.AddField("Leads", zohosim.Field{APIName: "Plan__c", DataType: "picklist", PicklistValues: []string{"Free"}})
	c.Stale("Leads") // within the hour: waits
	eventually(t, "the Stale request deferred", func() bool { return !c.Status("Leads").StaleDue.IsZero() })
	if st := c.Status("Leads"); st.Snapshot.Generation != 1 || !st.StaleDue.Equal(clock().Add(time.Hour)) {
		t.Fatalf("deferred: generation %d, due %v", st.Snapshot.Generation, st.StaleDue)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	c.Stale("Leads") // due now
	eventually(t, "the second fetch", func() bool { return c.Snapshot("Leads").Generation == 2 })
	if n := src.n.Load(); n != 2 || !c.Status("Leads").StaleDue.IsZero() {
		t.Fatalf("%d fetches for 22 Stale calls, want 2 (status %+v)", n, c.Status("Leads"))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunRefreshesPeriodically(t *testing.T) {
	sim, src := simSource(t)
	c, _ := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{"Leads", "Contacts"}, Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	eventually(t, "both modules", func() bool { return c.Snapshot("Leads") != nil && c.Snapshot("Contacts") != nil })
	_ = sim.AddField("Contacts", zohosim.Field{APIName: "Tier__c", DataType: "text"})
	eventually(t, "the new Contacts field", func() bool {
		_, ok := c.Snapshot("Contacts").Field("Tier__c")
		return ok
	})
}

// flaky is a Source whose first failFirst fetches fail with err, then read
// through src.
type flaky struct {
	src       fieldcache.Source
	failFirst int32
	err       error
	n         atomic.Int32
}

func (f *flaky) Fields(ctx context.Context, module string) ([]zohoapi.Field, error) {
	if f.n.Add(1) <= f.failFirst {
		return nil, f.err
	}
	return f.src.Fields(ctx, module)
}

var errRefused = errors.New("zoho request: dial tcp: connection refused")

// TestRunRetriesWhileMissing: a module without a snapshot is fetched again
// with backoff (RetryInitial…RetryMax), not only every Interval: here the
// Interval is an hour, and the third fetch, a few milliseconds later, brings
// the metadata. Once it is there, failures wait for the Interval again.
func TestRunRetriesWhileMissing(t *testing.T) {
	_, src := simSource(t)
	f := &flaky{src: src, failFirst: 3, err: errRefused}
	c, _ := fieldcache.New(fieldcache.Options{Source: f, Modules: []string{"Leads"}, Interval: time.Hour,
		RetryInitial: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	if err := c.Refresh(context.Background(), "Leads"); err == nil {
		t.Fatal("first fetch succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	eventually(t, "the metadata read again", func() bool { return c.Snapshot("Leads") != nil })
	if n := f.n.Load(); n != 4 {
		t.Errorf("%d fetches, want 4 (3 failures, then the good one)", n)
	}
}

// TestRetryNowFetchesAtOnce: RetryNow (Zoho answered again) fetches a module
// without a snapshot at once, even when no backoff retry is configured.
func TestRetryNowFetchesAtOnce(t *testing.T) {
	_, src := simSource(t)
	f := &flaky{src: src, failFirst: 1, err: errRefused}
	c, _ := fieldcache.New(fieldcache.Options{Source: f, Modules: []string{"Leads"}, Interval: time.Hour})
	_ = c.Refresh(context.Background(), "Leads")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	c.RetryNow("Leads")
	eventually(t, "the metadata after RetryNow", func() bool { return c.Snapshot("Leads") != nil })
	c.RetryNow("Leads") // has a snapshot: ignored
	if n := f.n.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// TestRetryWait: the backoff's wait, or longer until a spent mint budget
// allows a new token; no retry for configuration or permanent errors.
func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mint := &zohoapi.MintWaitError{Until: now.Add(7 * time.Second), Budget: 10, Window: zohoapi.MintWindow}
	for _, tc := range []struct {
		err   error
		want  time.Duration
		retry bool
	}{
		{errRefused, time.Second, true},
		{mint, 7 * time.Second, true},
		{&zohoapi.APIError{StatusCode: 403, Code: "NO_PERMISSION"}, 0, false},
	} {
		if got, retry := fieldcache.RetryWait(tc.err, time.Second, now); got != tc.want || retry != tc.retry {
			t.Errorf("RetryWait(%v) = %v, %v; want %v, %v", tc.err, got, retry, tc.want, tc.retry)
		}
	}
}

// TestRefreshUntil: failures are retried until a fetch succeeds; a wait
// that would outlast ctx's deadline (a mint budget spent for minutes) ends
// the attempts at once, so the deadline bounds the whole read.
func TestRefreshUntil(t *testing.T) {
	_, src := simSource(t)
	f := &flaky{src: src, failFirst: 2, err: errRefused}
	c, _ := fieldcache.New(fieldcache.Options{Source: f, Modules: []string{"Leads"}, RetryInitial: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.RefreshUntil(ctx, "Leads"); err != nil || f.n.Load() != 3 {
		t.Fatalf("RefreshUntil: %v after %d fetches, want nil after 3", err, f.n.Load())
	}

	long := &flaky{src: src, failFirst: 1, err: &zohoapi.MintWaitError{Until: time.Now().Add(10 * time.Minute), Budget: 10, Window: zohoapi.MintWindow}}
	c, _ = fieldcache.New(fieldcache.Options{Source: long, Modules: []string{"Leads"}, RetryInitial: 5 * time.Millisecond})
	start := time.Now()
	var wait *zohoapi.MintWaitError
	if err := c.RefreshUntil(ctx, "Leads"); !errors.As(err, &wait) || long.n.Load() != 1 {
		t.Fatalf("RefreshUntil with the mint budget spent for 10 minutes: %v after %d fetches, want the MintWaitError after 1", err, long.n.Load())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("RefreshUntil took %v, want it to give up at once", took)
	}
}
