package batcher

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Add and Drain once Close has been called.
var ErrClosed = errors.New("batcher: closed")

// SendFunc delivers one sealed batch. It is called in its own goroutine, at most
// Config.MaxInFlight (or the lower SetMaxInFlight) at a time, with a context that is cancelled by Close.
//
// Returning releases the batch: its items stop counting toward MaxBuffered, and
// items of its keys that arrived meanwhile become sendable. So SendFunc must
// settle every item (deliver, retry, dead-letter) before it returns, or per-key
// order is lost. It must return soon after ctx is cancelled (Close waits for
// it), must not call Close, Drain or Add (they may wait for this very call to
// return), and may keep b after returning: the Batcher never
// touches a batch again once it has been handed over.
type SendFunc[S any] func(ctx context.Context, b *Batch[S])

// Stats is a snapshot of what a Batcher holds, for metrics.
type Stats struct {
	// Held is the number of items held: open, parked, queued and in flight.
	Held int
	// HeldBytes is the memory they hold (their Item.Size summed), in bytes.
	HeldBytes int
	// OpenEntries is the number of entries (distinct keys) in the open batch.
	OpenEntries int
	// Parked is the number of items waiting because their key is in a queued or
	// in-flight batch.
	Parked int
	// Queued is the number of sealed batches waiting for a send slot.
	Queued int
	// InFlight is the number of SendFunc calls running.
	InFlight int
	// Blocked is the number of Add calls waiting for MaxBuffered or
	// MaxBufferedBytes room (backpressure in effect when > 0).
	Blocked int
}

// keyLoc is where a key's latest entry lives: entry idx of the batch numbered
// gen. The key is in the open batch if gen is the open batch's number, else in a
// queued or in-flight batch (busy). Sealing a batch thus needs no map writes.
type keyLoc struct {
	gen uint64
	idx int
}

// Batcher assembles items into batches and hands them to a SendFunc; see the
// package documentation for the flow and the guarantees. Its methods are safe
// for concurrent use. Create it with New; stop it with Close.
type Batcher[S any] struct {
	cfg  Config
	send SendFunc[S]

	ctx    context.Context // passed to SendFunc; cancelled by Close
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	open      *batch[S]            // filling; nil when empty
	queue     []*batch[S]          // sealed, waiting for a send slot, FIFO
	keys      map[string]keyLoc    // keys in the open, queued or in-flight batches
	gen       uint64               // number of the open batch (or of the next one)
	parked    map[string][]Item[S] // items of busy keys, arrival order
	nParked   int
	held      int
	heldBytes int // Item.Size of the items held
	inFlight  int
	limit     int           // SendFunc calls allowed at once now: 1..cfg.MaxInFlight (SetMaxInFlight)
	draining  int           // running Drain calls; while > 0, batches are due at once
	blocked   int           // Add calls waiting for room
	wake      chan struct{} // closed (and replaced) when held drops or on Close; nil if nobody waits
	kick      chan struct{} // tells the linger loop that the open batch's deadline changed
	quit      chan struct{} // closed by Close to stop the linger loop
	loopDone  chan struct{} // closed when the linger loop has returned
	closeOnce sync.Once
	sends     sync.WaitGroup // running SendFunc goroutines
}

// batch is a Batch plus the Batcher's bookkeeping for it.
type batch[S any] struct {
	Batch[S]
	keys     []string  // the entries' keys, kept apart so SendFunc cannot disturb their release
	slab     []Item[S] // backing store for single-item entries: one allocation per batch
	items    int       // items in all entries
	bytes    int       // their Item.Size summed
	due      bool      // may be handed over as soon as a send slot is free
	deadline time.Time // when Linger has passed (only if !due)
}

// New returns a running Batcher that hands sealed batches to send. c's
// out-of-range values are clamped (see Config). It starts one goroutine for the Linger timer, which Close stops.
// New panics if send is nil.
func New[S any](c Config, send SendFunc[S]) *Batcher[S] {
	if send == nil {
		panic("batcher: New called with a nil SendFunc")
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher[S]{
		cfg:      c.clamped(),
		send:     send,
		ctx:      ctx,
		cancel:   cancel,
		keys:     make(map[string]keyLoc),
		parked:   make(map[string][]Item[S]),
		kick:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	b.limit = b.cfg.MaxInFlight
	go b.lingerLoop()
	return b
}

// SetMaxInFlight sets how many SendFunc calls may run at once from now on,
// clamped to 1..Config.MaxInFlight: e.g. the adaptive concurrency limit of
// the calls behind SendFunc, so that batches wait here, still filling, while
// no call could start. A lower value lets running calls finish; a higher one
// starts queued and due batches at once.
func (b *Batcher[S]) SetMaxInFlight(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = min(max(n, 1), b.cfg.MaxInFlight)
	b.dispatch()
}

// MaxInFlight is the number of SendFunc calls allowed at once now:
// SetMaxInFlight's value, Config.MaxInFlight until it is called.
func (b *Batcher[S]) MaxInFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit
}

// Config returns the effective configuration, out-of-range values clamped.
func (b *Batcher[S]) Config() Config { return b.cfg }

// Add takes one item. If an item with the same key is in the open batch, it is
// merged into that entry; if the key is in a queued or in-flight batch, the item
// is parked until that batch's SendFunc returns; otherwise it starts a new entry.
// Arrival order is the order in which Add calls for a key return, so callers that
// need per-key order must not call Add for one key from several goroutines at
// once.
//
// Add blocks while MaxBuffered items are held or it would take the items held
// past MaxBufferedBytes (see Fits), and returns ctx.Err() (with the item not
// taken) if ctx ends while it waits; it does not look at ctx otherwise. It
// returns ErrClosed after Close.
func (b *Batcher[S]) Add(ctx context.Context, it Item[S]) error {
	b.mu.Lock()
	for !b.cfg.Fits(b.held, b.heldBytes, it.Size) && !b.closed {
		b.relieve()
		ch := b.waitChan()
		b.blocked++
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			b.mu.Lock()
			b.blocked--
			b.mu.Unlock()
			return ctx.Err()
		}
		b.mu.Lock()
		b.blocked--
	}
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.held++
	b.heldBytes += it.Size
	if loc, ok := b.keys[it.Key]; ok {
		if b.open == nil || loc.gen != b.gen {
			b.parked[it.Key] = append(b.parked[it.Key], it)
			b.nParked++
		} else {
			e := &b.open.Entries[loc.idx]
			e.Items = append(e.Items, it)
			b.open.items++
			b.open.bytes += it.Size
		}
		b.mu.Unlock()
		return nil
	}
	o := b.openBatch()
	o.slab = append(o.slab, it)
	n := len(o.slab)
	b.addEntry(o, it.Key, o.slab[n-1:n:n])
	if b.open == nil || b.open.due {
		b.dispatch()
	}
	b.mu.Unlock()
	return nil
}

// Drain makes every held item due at once (the open batch now, parked items as
// soon as their keys are free) and waits until nothing is held, or ctx ends
// (returning ctx.Err()), or Close is called (returning ErrClosed). Items added
// while Drain waits are due at once as well, and Drain waits for them too.
func (b *Batcher[S]) Drain(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draining++
	defer func() { b.draining-- }()
	if b.open != nil {
		b.open.due = true
	}
	b.dispatch()
	for b.held > 0 && !b.closed {
		ch := b.waitChan()
		b.mu.Unlock()
		select {
		case <-ch:
			b.mu.Lock()
		case <-ctx.Done():
			b.mu.Lock()
			return ctx.Err()
		}
	}
	if b.closed {
		return ErrClosed
	}
	return nil
}

// Close stops the Batcher: it cancels the context of running SendFunc calls,
// waits for them to return, and stops the Linger goroutine, so no goroutine of
// the Batcher outlives Close. Items not yet handed to SendFunc are abandoned
// (call Drain first to deliver them). Blocked Add and Drain calls return
// ErrClosed. Close is idempotent; it must not be called from a SendFunc.
func (b *Batcher[S]) Close() {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.cancel()
		b.broadcast()
		b.mu.Unlock()
		close(b.quit)
	})
	<-b.loopDone
	b.sends.Wait()
}

// Stats returns a snapshot of what the Batcher holds. It takes the Batcher's lock
// briefly and does not allocate.
func (b *Batcher[S]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{
		Held:      b.held,
		HeldBytes: b.heldBytes,
		Parked:    b.nParked,
		Queued:    len(b.queue),
		InFlight:  b.inFlight,
		Blocked:   b.blocked,
	}
	if b.open != nil {
		s.OpenEntries = len(b.open.Entries)
	}
	return s
}

// Changed returns a channel closed at the next change that can free room:
// a SendFunc returning (its items released) or Close. Take it, then check
// Stats, then wait on it: a change in between closes the channel taken.
func (b *Batcher[S]) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waitChan()
}

// openBatch returns the open batch, starting one (and its Linger clock) if none.
func (b *Batcher[S]) openBatch() *batch[S] {
	if b.open != nil {
		return b.open
	}
	n := b.cfg.MaxRecords
	o := &batch[S]{
		Batch: Batch[S]{Entries: make([]Entry[S], 0, n)},
		keys:  make([]string, 0, n),
		slab:  make([]Item[S], 0, n),
	}
	if b.draining > 0 || b.cfg.Linger == 0 {
		o.due = true
	} else {
		o.deadline = time.Now().Add(b.cfg.Linger)
		select {
		case b.kick <- struct{}{}:
		default: // a kick is pending; the loop reads the deadline when it runs
		}
	}
	b.open = o
	return o
}

// addEntry appends a new entry for key (absent from the open batch) to the open
// batch o, sealing and queueing it when full. The caller calls dispatch afterwards, so
// that a release moving many parked keys fills one batch rather than several.
func (b *Batcher[S]) addEntry(o *batch[S], key string, items []Item[S]) {
	b.keys[key] = keyLoc{gen: b.gen, idx: len(o.Entries)}
	o.Entries = append(o.Entries, Entry[S]{Key: key, Items: items})
	o.keys = append(o.keys, key)
	o.items += len(items)
	for _, it := range items {
		o.bytes += it.Size
	}
	if len(o.Entries) == b.cfg.MaxRecords {
		b.seal()
		b.queue = append(b.queue, o)
	}
}

// seal closes the open batch to new items: its keys become busy, and it
// takes the next sequence number (Batch.Seq).
func (b *Batcher[S]) seal() {
	b.gen++
	b.open.Seq = b.gen
	b.open.slab = nil
	b.open = nil
}

// dispatch starts SendFunc goroutines while send slots are free: queued batches
// first, in order, then the open batch if it is due.
func (b *Batcher[S]) dispatch() {
	for !b.closed && b.inFlight < b.limit {
		var bt *batch[S]
		switch {
		case len(b.queue) > 0:
			bt = b.queue[0]
			b.queue[0] = nil
			b.queue = b.queue[1:]
		case b.open != nil && b.open.due:
			bt = b.open
			b.seal()
		default:
			return
		}
		b.inFlight++
		b.sends.Add(1)
		go b.run(bt)
	}
}

// run delivers bt and then releases it.
func (b *Batcher[S]) run(bt *batch[S]) {
	defer b.sends.Done()
	b.send(b.ctx, &bt.Batch)
	b.release(bt)
}

// release frees bt's items and keys after its SendFunc returned: parked items of
// its keys move into the open batch (one entry per key, arrival order).
func (b *Batcher[S]) release(bt *batch[S]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	b.held -= bt.items
	b.heldBytes -= bt.bytes
	for _, k := range bt.keys {
		if b.nParked > 0 {
			if p, ok := b.parked[k]; ok {
				delete(b.parked, k)
				b.nParked -= len(p)
				b.addEntry(b.openBatch(), k, p) // overwrites k's location
				continue
			}
		}
		delete(b.keys, k)
	}
	b.dispatch()
	b.broadcast()
}

// relieve is called when Add is about to block: if a send slot is free, the
// open batch is made due so that waiting out Linger cannot stall the caller.
func (b *Batcher[S]) relieve() {
	if b.open != nil && !b.open.due && len(b.queue) == 0 && b.inFlight < b.limit {
		b.open.due = true
		b.dispatch()
	}
}

// waitChan returns the channel that the next broadcast closes.
func (b *Batcher[S]) waitChan() chan struct{} {
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return b.wake
}

// broadcast wakes every Add and Drain waiting on waitChan.
func (b *Batcher[S]) broadcast() {
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
}

// lingerLoop owns the Linger timer: it makes the open batch due once its
// deadline has passed. It returns when Close closes b.quit.
func (b *Batcher[S]) lingerLoop() {
	defer close(b.loopDone)
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-b.quit:
			return
		case <-b.kick:
		case <-t.C:
		}
		b.mu.Lock()
		if o := b.open; o != nil && !o.due {
			if d := time.Until(o.deadline); d > 0 {
				t.Reset(d)
			} else {
				o.due = true
				b.dispatch()
			}
		}
		b.mu.Unlock()
	}
}
