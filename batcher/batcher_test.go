package batcher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi"
)

// eventually polls cond until it holds. The deadline only turns a hang into a
// failure; no test asserts on elapsed time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recv returns the next value from ch, failing the test instead of hanging.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("gave up waiting for a value")
		panic("unreachable")
	}
}

// shape is a batch as keys → sources, for comparisons.
func shape(b *Batch[int]) [][]int {
	var out [][]int
	for _, e := range b.Entries {
		var s []int
		for _, it := range e.Items {
			s = append(s, it.Source)
		}
		out = append(out, s)
	}
	return out
}

func item(key string, src int) Item[int] {
	return Item[int]{Key: key, Record: zohoapi.Record{{Name: "Email", Value: strconv.AppendQuote(nil, key)}, {Name: "seq", Value: strconv.AppendInt(nil, int64(src), 10)}}, Source: src}
}

// collector is a SendFunc that records batches and optionally waits on a gate.
type collector struct {
	mu      sync.Mutex
	batches []*Batch[int]
	calls   chan *Batch[int]
	gate    chan struct{} // nil: no waiting
}

func newCollector(gated bool) *collector {
	c := &collector{calls: make(chan *Batch[int], 1000)}
	if gated {
		c.gate = make(chan struct{})
	}
	return c
}

func (c *collector) send(ctx context.Context, b *Batch[int]) {
	c.mu.Lock()
	c.batches = append(c.batches, b)
	c.mu.Unlock()
	c.calls <- b
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
		}
	}
}

func (c *collector) all() []*Batch[int] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.batches)
}

// TestConfigClamps: New has no defaults (package config holds them); it
// only brings out-of-range values to the nearest valid one.
func TestConfigClamps(t *testing.T) {
	noop := func(context.Context, *Batch[int]) {}
	cases := []struct {
		in, want Config
	}{
		{Config{}, Config{MaxRecords: 1, MaxInFlight: 1, MaxBuffered: 1}},
		{Config{MaxRecords: 500, Linger: -time.Second, MaxInFlight: -1, MaxBuffered: -3}, Config{MaxRecords: 100, MaxInFlight: 1, MaxBuffered: 1}},
		{Config{MaxRecords: 10, Linger: time.Second, MaxInFlight: 2, MaxBuffered: 40}, Config{MaxRecords: 10, Linger: time.Second, MaxInFlight: 2, MaxBuffered: 40}},
		{Config{MaxRecords: 10, MaxInFlight: 1, MaxBuffered: 3}, Config{MaxRecords: 10, MaxInFlight: 1, MaxBuffered: 3}},
	}
	for _, c := range cases {
		b := New(c.in, noop)
		if got := b.Config(); got != c.want {
			t.Errorf("New(%+v).Config() = %+v, want %+v", c.in, got, c.want)
		}
		b.Close()
	}
}

func TestNewNilSendPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with a nil SendFunc did not panic")
		}
	}()
	New[int](Config{}, nil)
}

func TestSizeFlush(t *testing.T) {
	c := newCollector(false)
	b := New(Config{MaxRecords: 3, Linger: time.Hour, MaxInFlight: 4, MaxBuffered: 18}, c.send)
	defer b.Close()
	ctx := context.Background()
	for i, k := range []string{"a", "b", "a"} {
		if err := b.Add(ctx, item(k, i)); err != nil {
			t.Fatal(err)
		}
	}
	// Sealing is synchronous in Add: two keys are not a full batch.
	if s := b.Stats(); s.OpenEntries != 2 || s.InFlight != 0 || s.Held != 3 {
		t.Fatalf("before the third key: %+v", s)
	}
	if err := b.Add(ctx, item("c", 3)); err != nil {
		t.Fatal(err)
	}
	got := shape(recv(t, c.calls))
	if want := [][]int{{0, 2}, {1}, {3}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch = %v, want %v", got, want)
	}
	eventually(t, "batch released", func() bool { return b.Stats() == Stats{} })
}

func TestLingerFlush(t *testing.T) {
	for _, linger := range []time.Duration{0, 2 * time.Millisecond} {
		t.Run(fmt.Sprint(linger), func(t *testing.T) {
			c := newCollector(false)
			b := New(Config{MaxRecords: 100, Linger: linger, MaxInFlight: 4, MaxBuffered: 600}, c.send)
			defer b.Close()
			if err := b.Add(context.Background(), item("a", 1)); err != nil {
				t.Fatal(err)
			}
			// Not full, no Drain: only Linger can have sent it.
			got := shape(recv(t, c.calls))
			if want := [][]int{{1}}; !reflect.DeepEqual(got, want) {
				t.Fatalf("batch = %v, want %v", got, want)
			}
			eventually(t, "batch released", func() bool { return b.Stats() == Stats{} })
			// A second batch gets its own Linger clock.
			if err := b.Add(context.Background(), item("b", 2)); err != nil {
				t.Fatal(err)
			}
			if got, want := shape(recv(t, c.calls)), [][]int{{2}}; !reflect.DeepEqual(got, want) {
				t.Fatalf("second batch = %v, want %v", got, want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	c := newCollector(false)
	b := New(Config{MaxRecords: 10, Linger: time.Hour, MaxInFlight: 4, MaxBuffered: 60}, c.send)
	defer b.Close()
	items := []Item[int]{
		{Key: "jane", Record: record("First_Name", `"Jane"`, "Last_Name", `"D"`, "Phone", `"1"`), Source: 10},
		{Key: "bob", Record: record("Last_Name", `"Bob"`), Source: 11},
		{Key: "jane", Record: record("Last_Name", `"Doe"`, "Company", `"Acme"`), Source: 12},
		{Key: "jane", Record: record("Phone", `null`), Source: 13},
	}
	for _, it := range items {
		if err := b.Add(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	batches := c.all()
	if len(batches) != 1 {
		t.Fatalf("got %d batches, want 1", len(batches))
	}
	bt := batches[0]
	if got, want := shape(bt), [][]int{{10, 12, 13}, {11}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch = %v, want %v", got, want)
	}
	if bt.Entries[0].Key != "jane" || bt.Entries[1].Key != "bob" || bt.Items() != 4 {
		t.Fatalf("entries: %+v", bt.Entries)
	}
	// Later items win, each field where it first appeared.
	want := `{"First_Name":"Jane","Last_Name":"Doe","Phone":null,"Company":"Acme"}`
	if got := string(bt.Entries[0].Merged().JSON()); got != want {
		t.Fatalf("Merged() = %s, want %s", got, want)
	}
	// The items' records are untouched.
	if got := string(items[0].Record.JSON()); got != `{"First_Name":"Jane","Last_Name":"D","Phone":"1"}` {
		t.Fatalf("first record modified: %s", got)
	}
	if got := string(bt.Entries[1].Merged().JSON()); got != `{"Last_Name":"Bob"}` {
		t.Fatalf("Merged() of one item = %s", got)
	}
}

// record builds a record from name, JSON value pairs.
func record(nameValues ...string) zohoapi.Record {
	var r zohoapi.Record
	for i := 0; i < len(nameValues); i += 2 {
		r = append(r, zohoapi.RecordField{Name: nameValues[i], Value: []byte(nameValues[i+1])})
	}
	return r
}

func TestFullBatchesUnderBacklog(t *testing.T) {
	const maxRecords, n = 10, 2000
	var mu sync.Mutex
	var sizes []int
	send := func(ctx context.Context, bt *Batch[int]) {
		mu.Lock()
		sizes = append(sizes, len(bt.Entries))
		mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	}
	b := New(Config{MaxRecords: maxRecords, Linger: time.Hour, MaxInFlight: 3, MaxBuffered: 5 * maxRecords}, send)
	defer b.Close()
	blocked := false
	for i := range n {
		if err := b.Add(context.Background(), item(fmt.Sprint("k", i), i)); err != nil {
			t.Fatal(err)
		}
		blocked = blocked || b.Stats().Queued > 0
	}
	if err := b.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !blocked {
		t.Log("note: no batch ever waited for a send slot")
	}
	if len(sizes) != n/maxRecords {
		t.Fatalf("%d calls for %d records, want %d", len(sizes), n, n/maxRecords)
	}
	for i, s := range sizes {
		if s != maxRecords {
			t.Fatalf("call %d carried %d records, want %d", i, s, maxRecords)
		}
	}
}

// TestPerKeyOrdering drives many repeated keys through random SendFunc latency
// with four batches in flight and checks, per key, that SendFunc saw the items
// exactly once each, in arrival order, with no two batches of one key in flight
// at once.
func TestPerKeyOrdering(t *testing.T) {
	for _, cfg := range []Config{
		{MaxRecords: 10, Linger: 0, MaxInFlight: 4, MaxBuffered: 60},
		{MaxRecords: 10, Linger: 200 * time.Microsecond, MaxInFlight: 4, MaxBuffered: 60},
		{MaxRecords: 7, Linger: time.Hour, MaxInFlight: 4, MaxBuffered: 20},
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			const nKeys, nItems = 60, 6000
			var (
				mu        sync.Mutex
				started   = map[string][]int{} // seq values per key at SendFunc start
				completed = map[string][]int{} // and at its return
				busy      = map[string]bool{}
				inFlight  atomic.Int32
				peak      atomic.Int32
			)
			send := func(ctx context.Context, bt *Batch[int]) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if len(bt.Entries) > cfg.MaxRecords {
					t.Errorf("batch of %d entries", len(bt.Entries))
				}
				mu.Lock()
				seen := map[string]bool{}
				for _, e := range bt.Entries {
					if seen[e.Key] {
						t.Errorf("key %s twice in one batch", e.Key)
					}
					seen[e.Key] = true
					if busy[e.Key] {
						t.Errorf("key %s in two batches at once", e.Key)
					}
					busy[e.Key] = true
					for _, it := range e.Items {
						started[e.Key] = append(started[e.Key], it.Source)
					}
					if last := e.Items[len(e.Items)-1].Source; string(e.Merged().Get("seq")) != strconv.Itoa(last) {
						t.Errorf("key %s merged seq %s, want %d", e.Key, e.Merged().Get("seq"), last)
					}
				}
				mu.Unlock()
				time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
				mu.Lock()
				for _, e := range bt.Entries {
					busy[e.Key] = false
					for _, it := range e.Items {
						completed[e.Key] = append(completed[e.Key], it.Source)
					}
				}
				mu.Unlock()
			}
			b := New(cfg, send)
			defer b.Close()
			arrived := map[string][]int{}
			for i := range nItems {
				// Skewed: a few hot keys get most items.
				k := fmt.Sprint("user", min(rand.IntN(nKeys), rand.IntN(nKeys)))
				arrived[k] = append(arrived[k], i)
				if err := b.Add(context.Background(), item(k, i)); err != nil {
					t.Fatal(err)
				}
				if s := b.Stats(); s.Held > b.Config().MaxBuffered {
					t.Fatalf("held %d > MaxBuffered %d", s.Held, b.Config().MaxBuffered)
				}
			}
			if err := b.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(started, arrived) {
				t.Errorf("SendFunc call order per key differs from arrival order")
			}
			if !reflect.DeepEqual(completed, arrived) {
				t.Errorf("SendFunc completion order per key differs from arrival order")
			}
			if p := peak.Load(); p > int32(cfg.MaxInFlight) {
				t.Errorf("peak in flight %d > %d", p, cfg.MaxInFlight)
			}
			if s := b.Stats(); s != (Stats{}) {
				t.Errorf("after Drain: %+v", s)
			}
		})
	}
}

func TestBackpressure(t *testing.T) {
	c := newCollector(true)
	// MaxBuffered defaults to 2 × (1 + 2) = 6.
	b := New(Config{MaxRecords: 2, Linger: time.Hour, MaxInFlight: 1, MaxBuffered: 6}, c.send)
	defer b.Close()
	ctx := context.Background()
	for i := range 6 {
		if err := b.Add(ctx, item(fmt.Sprint("k", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	recv(t, c.calls) // the first batch is in flight, held at the gate
	if s := b.Stats(); s != (Stats{Held: 6, Queued: 2, InFlight: 1}) {
		t.Fatalf("at the limit: %+v", s)
	}

	// A seventh Add blocks...
	done := make(chan error, 1)
	go func() { done <- b.Add(ctx, item("k6", 6)) }()
	eventually(t, "Add blocked", func() bool { return b.Stats().Blocked == 1 })
	select {
	case err := <-done:
		t.Fatalf("Add returned %v at the limit", err)
	default:
	}
	// ...and so does another whose context ends: it gives up, taking nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { cancelled <- b.Add(cctx, item("lost", 99)) }()
	eventually(t, "second Add blocked", func() bool { return b.Stats().Blocked == 2 })
	cancel()
	if err := recv(t, cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Add = %v, want context.Canceled", err)
	}
	if s := b.Stats(); s.Held != 6 || s.Blocked != 1 {
		t.Fatalf("after the cancelled Add: %+v", s)
	}

	// Sends finishing make room.
	close(c.gate)
	if err := recv(t, done); err != nil {
		t.Fatalf("blocked Add = %v", err)
	}
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, bt := range c.all() {
		for _, s := range shape(bt) {
			got = append(got, s...)
		}
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

// TestBackpressureBytes: Add blocks while an item would take the items held
// past MaxBufferedBytes, far below MaxBuffered items, with the open batch
// handed over rather than left to its Linger; an item larger than the bound
// goes through alone; released batches give their bytes back.
func TestBackpressureBytes(t *testing.T) {
	c := newCollector(true)
	b := New(Config{MaxRecords: 100, Linger: time.Hour, MaxInFlight: 1, MaxBuffered: 1000, MaxBufferedBytes: 1000}, c.send)
	defer b.Close()
	ctx := context.Background()
	sized := func(key string, src, size int) Item[int] {
		it := item(key, src)
		it.Size = size
		return it
	}
	for i := range 2 {
		if err := b.Add(ctx, sized(fmt.Sprint("k", i), i, 400)); err != nil {
			t.Fatal(err)
		}
	}
	if s := b.Stats(); s.Held != 2 || s.HeldBytes != 800 {
		t.Fatalf("two items of 400 bytes: %+v", s)
	}
	done := make(chan error, 1)
	go func() { done <- b.Add(ctx, sized("k2", 2, 400)) }()
	eventually(t, "Add blocked at 800 + 400 > 1000 bytes", func() bool { return b.Stats().Blocked == 1 })
	recv(t, c.calls) // the blocked Add handed the open batch over (a slot was free)
	c.gate <- struct{}{}
	if err := recv(t, done); err != nil {
		t.Fatalf("blocked Add = %v", err)
	}
	if s := b.Stats(); s.Held != 1 || s.HeldBytes != 400 {
		t.Fatalf("the first batch released: %+v", s)
	}
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(ctx) }()
	recv(t, c.calls)
	c.gate <- struct{}{}
	if err := recv(t, drained); err != nil {
		t.Fatal(err)
	}
	if s := b.Stats(); s.Held != 0 || s.HeldBytes != 0 {
		t.Fatalf("drained: %+v", s)
	}
	if err := b.Add(ctx, sized("huge", 3, 5000)); err != nil { // nothing held: it passes
		t.Fatal(err)
	}
	if s := b.Stats(); s.Held != 1 || s.HeldBytes != 5000 {
		t.Fatalf("one item larger than the bound: %+v", s)
	}
	if (Config{MaxBuffered: 10, MaxBufferedBytes: 1000}).Fits(1, 5000, 1) || !(Config{MaxBuffered: 10}).Fits(9, 1<<30, 1<<30) {
		t.Error("Fits: want no room past the byte bound, and no byte bound when unset")
	}
}

// TestBackpressureLongLinger: when the held items are all in the open batch
// (merged under few keys) and a send slot is free, a blocked Add hands the
// open batch over instead of waiting out Linger.
func TestBackpressureLongLinger(t *testing.T) {
	c := newCollector(false)
	b := New(Config{MaxRecords: 10, Linger: time.Hour, MaxInFlight: 1, MaxBuffered: 4}, c.send)
	defer b.Close()
	for i := range 9 {
		if err := b.Add(context.Background(), item("same", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got [][]int
	for _, bt := range c.all() {
		got = append(got, shape(bt)...)
	}
	if want := [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
}

func TestDrain(t *testing.T) {
	ctx := context.Background()
	t.Run("empty", func(t *testing.T) {
		b := New(Config{MaxRecords: 100, MaxInFlight: 4, MaxBuffered: 600}, func(context.Context, *Batch[int]) { t.Error("send called") })
		defer b.Close()
		if err := b.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("parked items follow", func(t *testing.T) {
		c := newCollector(true)
		b := New(Config{MaxRecords: 5, Linger: time.Hour, MaxInFlight: 1, MaxBuffered: 15}, c.send)
		defer b.Close()
		if err := b.Add(ctx, item("a", 1)); err != nil {
			t.Fatal(err)
		}
		drained := make(chan error, 1)
		go func() { drained <- b.Drain(ctx) }()
		if got := shape(recv(t, c.calls)); !reflect.DeepEqual(got, [][]int{{1}}) {
			t.Fatalf("first batch %v", got)
		}
		// "a" is in flight: a2 parks; b1 opens a batch that is due but has no slot.
		for _, it := range []Item[int]{item("a", 2), item("b", 3), item("a", 4)} {
			if err := b.Add(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		if s := b.Stats(); s != (Stats{Held: 4, OpenEntries: 1, Parked: 2, InFlight: 1}) {
			t.Fatalf("while draining: %+v", s)
		}
		close(c.gate)
		if err := recv(t, drained); err != nil {
			t.Fatal(err)
		}
		if got, want := shape(recv(t, c.calls)), [][]int{{3}, {2, 4}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("second batch %v, want %v", got, want)
		}
		if s := b.Stats(); s != (Stats{}) {
			t.Fatalf("after Drain: %+v", s)
		}
	})

	t.Run("context ends", func(t *testing.T) {
		c := newCollector(true)
		b := New(Config{MaxRecords: 100, Linger: time.Hour, MaxInFlight: 4, MaxBuffered: 600}, c.send)
		defer b.Close()
		if err := b.Add(ctx, item("a", 1)); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.Drain(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Drain = %v, want context.Canceled", err)
		}
		recv(t, c.calls) // it was still handed over
		close(c.gate)
		if err := b.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx := context.Background()

	// Abandon: sends wait for their context, which Close cancels.
	var running atomic.Int32
	send := func(ctx context.Context, bt *Batch[int]) {
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
	}
	b := New(Config{MaxRecords: 2, Linger: time.Millisecond, MaxInFlight: 3, MaxBuffered: 10}, send)
	for i := range b.Config().MaxBuffered {
		if err := b.Add(ctx, item(fmt.Sprint("k", i%5), i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "sends running", func() bool { return running.Load() == 3 })
	blocked := make(chan error, 2)
	go func() { blocked <- b.Add(ctx, item("x", -1)) }()
	go func() { blocked <- b.Drain(ctx) }()
	eventually(t, "Add blocked", func() bool { return b.Stats().Blocked == 1 })
	b.Close()
	if n := running.Load(); n != 0 {
		t.Fatalf("%d SendFunc calls still running after Close", n)
	}
	for range 2 {
		if err := recv(t, blocked); !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked call = %v, want ErrClosed", err)
		}
	}
	if err := b.Add(ctx, item("y", 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v", err)
	}
	if err := b.Drain(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Drain after Close = %v", err)
	}
	b.Close() // idempotent

	// Normal life: Drain, then Close.
	c := newCollector(false)
	b2 := New(Config{MaxRecords: 3, Linger: time.Millisecond, MaxInFlight: 4, MaxBuffered: 18}, c.send)
	for i := range 50 {
		if err := b2.Add(ctx, item(fmt.Sprint("k", i%7), i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	b2.Close()

	eventually(t, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

// TestChangedClosesWhenItemsAreReleased: the channel Changed returns stays
// open while a batch is in flight and closes when its SendFunc returns, so a
// caller waiting for room needs no polling.
func TestChangedClosesWhenItemsAreReleased(t *testing.T) {
	c := newCollector(true)
	b := New(Config{MaxRecords: 1, MaxInFlight: 1, MaxBuffered: 1, Linger: time.Hour}, c.send)
	defer b.Close()
	if err := b.Add(context.Background(), item("a", 1)); err != nil {
		t.Fatal(err)
	}
	recv(t, c.calls) // in flight, held at the gate
	changed := b.Changed()
	if b.Stats().Held != 1 {
		t.Fatalf("held %d, want 1", b.Stats().Held)
	}
	select {
	case <-changed:
		t.Fatal("Changed closed while nothing was released")
	default:
	}
	close(c.gate)
	recv(t, changed)
	if s := b.Stats(); s.Held != 0 {
		t.Fatalf("after Changed closed, held %d, want 0", s.Held)
	}
}

// TestSeqIsSealOrder: batches carry their place in the seal order, from 1,
// whether sealed full or sealed due (Drain), and reach SendFunc in it.
func TestSeqIsSealOrder(t *testing.T) {
	c := newCollector(true)
	b := New(Config{MaxRecords: 2, Linger: time.Hour, MaxInFlight: 1, MaxBuffered: 10}, c.send)
	defer b.Close()
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		if err := b.Add(context.Background(), item(k, i)); err != nil {
			t.Fatal(err)
		}
	}
	// {a b} is in flight, {c d} queued, {e} open until Drain.
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(context.Background()) }()
	close(c.gate)
	if err := recv(t, drained); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	var shapes [][][]int
	for _, bt := range c.all() {
		seqs, shapes = append(seqs, bt.Seq), append(shapes, shape(bt))
	}
	if want := []uint64{1, 2, 3}; !slices.Equal(seqs, want) {
		t.Fatalf("batches %v reached SendFunc with Seq %v, want %v", shapes, seqs, want)
	}
	if want := [][][]int{{{0}, {1}}, {{2}, {3}}, {{4}}}; !reflect.DeepEqual(shapes, want) {
		t.Fatalf("batches %v, want %v", shapes, want)
	}
}
