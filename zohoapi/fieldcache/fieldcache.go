// Package fieldcache keeps the Fields metadata of the modules zohosink
// writes, so that values are converted by the fields' current types
// (mapping/fieldvalue) without a metadata call per record.
//
// Its part of the flow:
//
//	Run ──every Interval, and on Stale(module)──▶ Source.Fields (GET /crm/v8/settings/fields, 1 credit)
//	  │                                               │ ok: a new immutable Snapshot (Generation+1 when the fields changed)
//	  │                                               │ error: the last good Snapshot stays; Status reports the error
//	  ▼                                               ▼
//	mapper ──Snapshot(module): lock-free read of the last good Snapshot (nil before the first)
//	delivery ──INVALID_DATA naming a field──▶ Stale(module): refresh soon, at most once per MinStaleInterval
//	no Snapshot yet ──▶ Run retries with backoff (RetryInitial…RetryMax, a spent
//	  mint budget waited out); RetryNow(module) (Zoho answers again) fetches at once
//
// Guarantees:
//   - Reads never block on Zoho: Snapshot is an atomic load.
//   - Unreachable metadata never discards a good copy; before the first
//     good fetch there is none (nil), and the error is reported (Status,
//     Options.OnRefresh), so callers fall back to sending values as they are.
//   - On-demand refreshes are coalesced and rate-limited (MinStaleInterval),
//     so a burst of INVALID_DATA answers costs at most one metadata call.
//   - While a module has no snapshot, Run fetches it again with exponential
//     backoff (Options.RetryInitial up to RetryMax), never before a spent
//     mint budget allows (zohoapi.MintWaitError), instead of waiting for the
//     next Interval: values are sent untyped only as long as Zoho cannot
//     answer. Errors no retry fixes (zohoapi.ClassConfig, ClassPermanent:
//     a missing scope) are left to Interval.
//   - Run's goroutine is the only one fetching periodically; it stops when
//     its context ends. Refresh may also be called directly (by
//     `config validate --online`), and RefreshUntil (at start).
package fieldcache

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/zohosink/zohosink/zohoapi"
)

// Source fetches the fields of a module; *zohoapi.Client is one.
type Source interface {
	Fields(ctx context.Context, module string) ([]zohoapi.Field, error)
}

// Options configure a Cache. Defaults are the caller's (config's); zero
// values disable what they control.
type Options struct {
	// Source fetches metadata; required.
	Source Source
	// Modules are the module API names kept ("Leads"); at least one.
	Modules []string
	// Interval between periodic refreshes by Run; 0: none (only Stale and
	// Refresh fetch).
	Interval time.Duration
	// MinStaleInterval is the least time between two refreshes of a module
	// caused by Stale; 0: no limit.
	MinStaleInterval time.Duration
	// RetryInitial is the first wait of Run before fetching again a module
	// that has no snapshot yet, after a failure worth a retry (zohoapi.Classify
	// transient or throttled); each failure doubles it (with ±50% jitter) up
	// to RetryMax. 0: no such retries (only Interval, Stale and RetryNow fetch).
	// RefreshUntil uses the same backoff.
	RetryInitial time.Duration
	// RetryMax caps the backoff of RetryInitial (< RetryInitial: RetryInitial).
	RetryMax time.Duration
	// OnRefresh, if set, is called after every fetch with its module and
	// error (nil on success), for logs and metrics. It must not block.
	OnRefresh func(module string, err error)
	// Now is the clock for MinStaleInterval, FetchedAt and LastAttempt;
	// default time.Now. (Run waits for a deferred Stale with a real timer of
	// the length this clock computes.)
	Now func() time.Time
}

// Snapshot is the metadata of one module from one good fetch. It is
// immutable: share it freely.
type Snapshot struct {
	// Module is the module API name.
	Module string
	// Fields are the module's fields in Zoho's order.
	Fields []zohoapi.Field
	// FetchedAt is when the fetch that produced this snapshot began.
	FetchedAt time.Time
	// Generation is 1 for the first good fetch and grows by one whenever a
	// fetch returns different fields: consumers rebuild what they derived
	// from Fields when it changes.
	Generation uint64

	byName map[string]int
}

// Field returns the field with API name apiName (case-sensitive, as Zoho's).
func (s *Snapshot) Field(apiName string) (zohoapi.Field, bool) {
	i, ok := s.byName[apiName]
	if !ok {
		return zohoapi.Field{}, false
	}
	return s.Fields[i], true
}

// Status is the state of one module's metadata.
type Status struct {
	// Snapshot is the last good snapshot, nil before the first.
	Snapshot *Snapshot
	// Err is the error of the latest fetch, nil when it succeeded or none
	// was made.
	Err error
	// LastAttempt is when the latest fetch began (zero before the first).
	LastAttempt time.Time
	// StaleDue is when Run will serve a Stale request that is waiting for
	// MinStaleInterval (zero when none waits).
	StaleDue time.Time
}

// ErrUnknownModule is returned for a module the Cache was not built for.
var ErrUnknownModule = errors.New("fieldcache: module not kept by this cache")

// entry is one module's state.
type entry struct {
	snap      atomic.Pointer[Snapshot]
	fetchMu   sync.Mutex // one fetch of the module at a time
	mu        sync.Mutex // guards below
	err       error
	attempt   time.Time
	staleAt   time.Time // last refresh caused by Stale
	staleWant bool      // a Stale request is not served yet
	staleDue  time.Time // when Run serves it, once Run deferred it
	retryNow  bool      // RetryNow asked for a fetch while there is no snapshot
}

// Cache keeps the metadata of a fixed set of modules. Safe for concurrent
// use.
type Cache struct {
	o       Options
	now     func() time.Time
	entries map[string]*entry
	wake    chan struct{}
}

// New returns a Cache with no metadata yet: call Refresh (at start) and Run.
// It returns an error for a nil Source or no modules.
func New(o Options) (*Cache, error) {
	if o.Source == nil || len(o.Modules) == 0 {
		return nil, errors.New("fieldcache: Options.Source and Options.Modules are required")
	}
	c := &Cache{o: o, now: o.Now, entries: map[string]*entry{}, wake: make(chan struct{}, 1)}
	if c.now == nil {
		c.now = time.Now
	}
	for _, m := range o.Modules {
		c.entries[m] = &entry{}
	}
	return c, nil
}

// Snapshot returns the last good snapshot of module, nil before the first
// good fetch or for a module not kept. It never blocks.
func (c *Cache) Snapshot(module string) *Snapshot {
	if e := c.entries[module]; e != nil {
		return e.snap.Load()
	}
	return nil
}

// Status returns module's state (zero for a module not kept).
func (c *Cache) Status(module string) Status {
	e := c.entries[module]
	if e == nil {
		return Status{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return Status{Snapshot: e.snap.Load(), Err: e.err, LastAttempt: e.attempt, StaleDue: e.staleDue}
}

// Refresh fetches module's metadata now and waits for it. On error the last
// good snapshot stays and the error is returned (and kept in Status); a
// module not kept is ErrUnknownModule.
func (c *Cache) Refresh(ctx context.Context, module string) error {
	e := c.entries[module]
	if e == nil {
		return ErrUnknownModule
	}
	e.fetchMu.Lock()
	defer e.fetchMu.Unlock()
	start := c.now()
	fields, err := c.o.Source.Fields(ctx, module)
	e.mu.Lock()
	e.attempt, e.err = start, err
	if err == nil {
		old := e.snap.Load()
		gen := uint64(1)
		if old != nil {
			gen = old.Generation
			if !reflect.DeepEqual(old.Fields, fields) {
				gen++
			}
		}
		e.snap.Store(newSnapshot(module, fields, start, gen))
	}
	e.mu.Unlock()
	if c.o.OnRefresh != nil {
		c.o.OnRefresh(module, err)
	}
	return err
}

// Stale asks Run to refresh module soon, e.g. after Zoho answered
// INVALID_DATA naming a field of it: the field's type or length may have
// changed. Calls within MinStaleInterval of the last such refresh are
// dropped; it never blocks. A module not kept is ignored.
func (c *Cache) Stale(module string) {
	e := c.entries[module]
	if e == nil {
		return
	}
	e.mu.Lock()
	e.staleWant = true
	e.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run refreshes every module every Interval, the modules marked Stale
// (rate-limited) and, while a module has no snapshot, that module with
// backoff (Options.RetryInitial; at once after RetryNow), until ctx ends; it
// returns ctx's error. Fetch errors are reported through Status and
// OnRefresh, never returned.
func (c *Cache) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if c.o.Interval > 0 {
		t := time.NewTicker(c.o.Interval)
		defer t.Stop()
		tick = t.C
	}
	var retry *time.Timer   // wakes Run when a rate-limited Stale becomes due
	var missing *time.Timer // wakes Run to fetch again the modules without a snapshot
	bo := c.backoff()
	defer func() {
		for _, t := range []*time.Timer{retry, missing} {
			if t != nil {
				t.Stop()
			}
		}
	}()
	for {
		if missing == nil {
			if wait, ok := c.missingWait(bo); ok {
				missing = time.NewTimer(wait)
			} else {
				bo.Reset()
			}
		}
		var retryC, missingC <-chan time.Time
		if retry != nil {
			retryC = retry.C
		}
		if missing != nil {
			missingC = missing.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick:
			for _, m := range c.o.Modules {
				_ = c.Refresh(ctx, m)
			}
		case <-c.wake:
		case <-retryC:
			retry = nil
		case <-missingC:
			missing = nil
			for _, m := range c.o.Modules {
				if c.Snapshot(m) == nil {
					_ = c.Refresh(ctx, m)
				}
			}
		}
		c.refreshNow(ctx)
		if wait := c.refreshStale(ctx); wait > 0 && retry == nil {
			retry = time.NewTimer(wait)
		}
	}
}

// backoff is the retry backoff of a module without a snapshot.
func (c *Cache) backoff() *backoff.ExponentialBackOff {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = c.o.RetryInitial, max(c.o.RetryMax, c.o.RetryInitial)
	return bo
}

// missingWait returns how long Run waits before fetching again the modules
// that have no snapshot and whose last error is worth a retry; false when
// none is to be retried (all have one, or RetryInitial is 0).
func (c *Cache) missingWait(bo *backoff.ExponentialBackOff) (time.Duration, bool) {
	if c.o.RetryInitial <= 0 {
		return 0, false
	}
	var errs []error
	for _, m := range c.o.Modules {
		if st := c.Status(m); st.Snapshot == nil && st.Err != nil {
			errs = append(errs, st.Err)
		}
	}
	if len(errs) == 0 {
		return 0, false
	}
	next := bo.NextBackOff()
	wait, ok := time.Duration(0), false
	for _, err := range errs {
		if d, retry := RetryWait(err, next, c.now()); retry && (!ok || d < wait) {
			wait, ok = d, true
		}
	}
	return wait, ok
}

// RetryWait returns how long to wait before fetching again after err, given
// the backoff's next wait: that wait, or longer until a spent mint budget
// allows a new access token (zohoapi.MintWaitError.Until). False when err is
// not worth a retry: zohoapi.Classify says ClassConfig or ClassPermanent
// (no ZohoCRM.settings.fields.READ scope, an unknown module).
func RetryWait(err error, next time.Duration, now time.Time) (time.Duration, bool) {
	switch zohoapi.Classify(err) {
	case zohoapi.ClassConfig, zohoapi.ClassPermanent:
		return 0, false
	}
	var mint *zohoapi.MintWaitError
	if errors.As(err, &mint) {
		next = max(next, mint.Until.Sub(now))
	}
	return next, true
}

// RefreshUntil fetches module's metadata (Refresh) until a fetch succeeds,
// ctx ends, the error is not worth a retry (RetryWait) or the next attempt
// would begin after ctx's deadline; between attempts it waits with the
// backoff of Options.RetryInitial, and out a spent mint budget. It returns
// nil on success, else the last fetch's error. The pipeline calls it at
// start, bounded by a deadline.
func (c *Cache) RefreshUntil(ctx context.Context, module string) error {
	bo := c.backoff()
	for {
		err := c.Refresh(ctx, module)
		if err == nil || ctx.Err() != nil {
			return err
		}
		wait, retry := RetryWait(err, bo.NextBackOff(), c.now())
		if !retry || c.o.RetryInitial <= 0 {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// RetryNow asks Run to fetch module at once if it has no snapshot yet, e.g.
// because Zoho answered again after an outage or once the access token
// came back; it never blocks. It is ignored once a snapshot exists, for a
// module not kept, when the last fetch failed for a reason no retry fixes
// (RetryWait), and within RetryInitial of the last fetch (so that calls on
// every Zoho answer cost at most one fetch per RetryInitial).
func (c *Cache) RetryNow(module string) {
	e := c.entries[module]
	if e == nil || e.snap.Load() != nil {
		return
	}
	e.mu.Lock()
	e.retryNow = true
	e.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// refreshNow fetches the modules RetryNow asked for that still have no
// snapshot, unless their last fetch failed for a reason no retry fixes or
// began within RetryInitial.
func (c *Cache) refreshNow(ctx context.Context) {
	for _, m := range c.o.Modules {
		e := c.entries[m]
		e.mu.Lock()
		run := e.retryNow && (e.attempt.IsZero() || c.now().Sub(e.attempt) >= c.o.RetryInitial)
		if _, retry := RetryWait(e.err, 0, c.now()); e.err != nil && !retry {
			run = false
		}
		e.retryNow = false
		e.mu.Unlock()
		if run && e.snap.Load() == nil {
			_ = c.Refresh(ctx, m)
		}
	}
}

// refreshStale refreshes the modules marked Stale whose MinStaleInterval has
// passed; it returns how long until the earliest one still waiting is due
// (0 when none waits).
func (c *Cache) refreshStale(ctx context.Context) time.Duration {
	var wait time.Duration
	for _, m := range c.o.Modules {
		e := c.entries[m]
		e.mu.Lock()
		due := e.staleAt.Add(c.o.MinStaleInterval)
		now := c.now()
		run := e.staleWant && (e.staleAt.IsZero() || !now.Before(due))
		if run {
			e.staleWant, e.staleAt, e.staleDue = false, now, time.Time{}
		} else if e.staleWant {
			e.staleDue = due
			if d := due.Sub(now); wait == 0 || d < wait {
				wait = d
			}
		}
		e.mu.Unlock()
		if run {
			_ = c.Refresh(ctx, m)
		}
	}
	return wait
}

func newSnapshot(module string, fields []zohoapi.Field, at time.Time, gen uint64) *Snapshot {
	s := &Snapshot{Module: module, Fields: fields, FetchedAt: at, Generation: gen, byName: make(map[string]int, len(fields))}
	for i, f := range fields {
		s.byName[f.APIName] = i
	}
	return s
}
