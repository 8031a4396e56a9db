package watermark

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Tracker decides, per partition, which offset may be committed: the first
// offset that is not done. A record is tracked when it is fetched and marked done
// when it was dropped, acknowledged by Zoho, or acknowledged by the dead-letter
// topic; completions may arrive in any order, the committable offset only moves
// over a contiguous run of done records. Safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	parts map[topicPartition]*Partition
}

type topicPartition struct {
	topic     string
	partition int32
}

// Partition is one assignment of one partition. A revoked or lost
// partition's object is released (no new attempt sends its records) and then
// forgotten; completions that still arrive for it are ignored, so a late answer
// can never move a commit of a partition this process no longer owns. A later
// assignment of the same partition gets a new object.
//
// Attempts (Zoho calls and dead-letter writes) hold a claim on the
// partitions of their records while they are under way, so that a revocation
// can wait for exactly the work of the partitions it takes away.
type Partition struct {
	tp topicPartition
	// released is closed when revocation starts (or the partition is lost):
	// from then on claim fails, and waits of work holding only released
	// partitions end. gone is closed when the assignment is forgotten: calls
	// still holding only gone partitions are cut off.
	released, gone chan struct{}
	mu             sync.Mutex
	// claims counts attempts under way with records of this assignment; idle,
	// when not nil, is closed once claims drops to 0.
	claims int
	idle   chan struct{}
	// pending holds the tracked offsets that are not yet committable, in
	// fetch order (ascending); head is pending[start].
	pending []pendingOffset
	start   int
	// next is one past the last tracked offset: the committable offset when
	// nothing is pending. -1 until the first record is tracked.
	next        int64
	leaderEpoch int32
	forgotten   bool
	// committed is the offset last committed for this assignment (-1: none).
	committed int64
	// highWatermark is the partition's log end as last seen by a fetch (-1: unknown).
	highWatermark int64
}

type pendingOffset struct {
	offset int64
	// timestamp is the record's Kafka timestamp (Unix nanoseconds), for lag in time.
	timestamp int64
	done      bool
}

// New returns a Tracker with no partition assigned.
func New() *Tracker {
	return &Tracker{parts: make(map[topicPartition]*Partition)}
}

// Assign starts tracking the given partitions (a fresh state each).
func (t *Tracker) Assign(assigned map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range assigned {
		for _, p := range ps {
			tp := topicPartition{topic, p}
			if _, ok := t.parts[tp]; !ok {
				t.parts[tp] = newPartition(tp)
			}
		}
	}
}

// NewPartition is a fresh assignment of topic/partition, tracked on its own
// (not by a Tracker): nothing tracked or committed, never released. Replay
// uses one per record to see when the record is done.
func NewPartition(topic string, partition int32) *Partition {
	return newPartition(topicPartition{topic, partition})
}

// newPartition is a fresh assignment of tp: nothing tracked or committed.
func newPartition(tp topicPartition) *Partition {
	return &Partition{
		tp: tp, next: -1, committed: -1, highWatermark: -1,
		released: make(chan struct{}), gone: make(chan struct{}),
	}
}

// Forget stops tracking the given partitions (releasing them first if
// Release did not); later completions for records of these assignments are
// ignored and calls holding only their records are cut off.
func (t *Tracker) Forget(revoked map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range revoked {
		for _, p := range ps {
			tp := topicPartition{topic, p}
			if po, ok := t.parts[tp]; ok {
				po.mu.Lock()
				po.releaseLocked()
				po.forgotten = true
				close(po.gone)
				po.mu.Unlock()
				delete(t.parts, tp)
			}
		}
	}
}

// Release starts the revocation of the given partitions: no new attempt
// includes their records, and waits of work holding only them end at once.
// Their tracking goes on (answers still arriving are counted) until forget.
// It returns the released partitions' states, for WaitIdle.
func (t *Tracker) Release(revoked map[string][]int32) []*Partition {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*Partition
	for topic, ps := range revoked {
		for _, p := range ps {
			if po, ok := t.parts[topicPartition{topic, p}]; ok {
				po.mu.Lock()
				po.releaseLocked()
				po.mu.Unlock()
				out = append(out, po)
			}
		}
	}
	return out
}

// isReleasedLocked reports whether the assignment's revocation started; po.mu is held.
func (po *Partition) isReleasedLocked() bool {
	select {
	case <-po.released:
		return true
	default:
		return false
	}
}

// releaseLocked closes released once; po.mu is held.
func (po *Partition) releaseLocked() {
	if !po.isReleasedLocked() {
		close(po.released)
	}
}

// Claim registers an attempt under way with records of this assignment. It
// reports false, registering nothing, once the assignment is released: the
// records then belong to the partition's next owner.
func (po *Partition) Claim() bool {
	po.mu.Lock()
	defer po.mu.Unlock()
	if po.isReleasedLocked() {
		return false
	}
	po.claims++
	return true
}

// Unclaim ends one successful claim.
func (po *Partition) Unclaim() {
	po.mu.Lock()
	defer po.mu.Unlock()
	po.claims--
	if po.claims == 0 && po.idle != nil {
		close(po.idle)
		po.idle = nil
	}
}

// Released is closed when the assignment's revocation starts (or it is
// lost): from then on Claim fails.
func (po *Partition) Released() <-chan struct{} { return po.released }

// Gone is closed when the assignment is forgotten: calls still holding only
// gone partitions should be cut off.
func (po *Partition) Gone() <-chan struct{} { return po.gone }

// Topic and ID name the partition.
func (po *Partition) Topic() string { return po.tp.topic }

// ID is the partition number.
func (po *Partition) ID() int32 { return po.tp.partition }

// WaitIdle waits until no attempt holds a claim on any of parts, or ctx ends
// (returning ctx.Err()).
func WaitIdle(ctx context.Context, parts []*Partition) error {
	for _, po := range parts {
		po.mu.Lock()
		if po.claims == 0 {
			po.mu.Unlock()
			continue
		}
		if po.idle == nil {
			po.idle = make(chan struct{})
		}
		idle := po.idle
		po.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Partition returns the current assignment state of a partition, or nil when the
// partition is not assigned to this process.
func (t *Tracker) Partition(topic string, partition int32) *Partition {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.parts[topicPartition{topic, partition}]
}

// Track registers a fetched record as pending. Offsets must be tracked in fetch
// order (ascending); a record at or below an offset already tracked is a
// re-delivery after a seek and reports false, as does a released or
// forgotten assignment: the caller must skip it.
func (po *Partition) Track(r *kgo.Record) bool {
	po.mu.Lock()
	defer po.mu.Unlock()
	if !po.accept(r.Offset) {
		return false
	}
	po.pending = append(po.pending, pendingOffset{offset: r.Offset, timestamp: r.Timestamp.UnixNano()})
	po.next = r.Offset + 1
	po.leaderEpoch = r.LeaderEpoch
	return true
}

// TrackDone registers a fetched record that is done at once (dropped), by
// its offset and leader epoch. It is cheaper than Track + Done when nothing
// is pending, the common case on a topic of page views.
func (po *Partition) TrackDone(offset int64, leaderEpoch int32) bool {
	po.mu.Lock()
	defer po.mu.Unlock()
	if !po.accept(offset) {
		return false
	}
	if po.start < len(po.pending) {
		po.pending = append(po.pending, pendingOffset{offset: offset, done: true})
	}
	po.next = offset + 1
	po.leaderEpoch = leaderEpoch
	return true
}

// accept reports whether r may be tracked: the assignment is live (neither
// released nor forgotten: a record fetched before a revocation and handed on
// after it starts belongs to the partition's next owner) and r is not a
// re-delivery. The first record of an assignment is where fetching started
// (the group's committed offset, or the reset offset), so it also counts as
// committed: nothing is committed before a record is done.
func (po *Partition) accept(offset int64) bool {
	if po.forgotten || po.isReleasedLocked() || (po.next >= 0 && offset < po.next) {
		return false
	}
	if po.next < 0 {
		po.committed = offset
	}
	return true
}

// Done marks a tracked offset done. Unknown offsets and forgotten assignments
// are ignored.
func (po *Partition) Done(offset int64) {
	po.mu.Lock()
	defer po.mu.Unlock()
	if po.forgotten {
		return
	}
	live := po.pending[po.start:]
	i := sort.Search(len(live), func(i int) bool { return live[i].offset >= offset })
	if i == len(live) || live[i].offset != offset {
		return
	}
	live[i].done = true
	for po.start < len(po.pending) && po.pending[po.start].done {
		po.start++
	}
	switch {
	case po.start == len(po.pending):
		po.pending, po.start = po.pending[:0], 0
	case po.start > 1024 && po.start*2 > len(po.pending):
		n := copy(po.pending, po.pending[po.start:])
		po.pending, po.start = po.pending[:n], 0
	}
}

func (po *Partition) committableLocked() (kgo.EpochOffset, bool) {
	if po.next < 0 {
		return kgo.EpochOffset{}, false
	}
	if po.start < len(po.pending) {
		return kgo.EpochOffset{Epoch: -1, Offset: po.pending[po.start].offset}, true
	}
	return kgo.EpochOffset{Epoch: po.leaderEpoch, Offset: po.next}, true
}

// PendingCount is the number of tracked records that are not yet committable.
func (po *Partition) PendingCount() int {
	po.mu.Lock()
	defer po.mu.Unlock()
	return len(po.pending) - po.start
}

// ToCommit returns, for the given partitions (all assigned ones when nil), the
// committable offsets that moved since the last commit.
func (t *Tracker) ToCommit(only map[string][]int32) map[string]map[int32]kgo.EpochOffset {
	t.mu.Lock()
	var parts []*Partition
	if only == nil {
		for _, po := range t.parts {
			parts = append(parts, po)
		}
	} else {
		for topic, ps := range only {
			for _, p := range ps {
				if po, ok := t.parts[topicPartition{topic, p}]; ok {
					parts = append(parts, po)
				}
			}
		}
	}
	t.mu.Unlock()
	out := make(map[string]map[int32]kgo.EpochOffset)
	for _, po := range parts {
		po.mu.Lock()
		eo, ok := po.committableLocked()
		if ok && eo.Offset != po.committed {
			if out[po.tp.topic] == nil {
				out[po.tp.topic] = make(map[int32]kgo.EpochOffset)
			}
			out[po.tp.topic][po.tp.partition] = eo
		}
		po.mu.Unlock()
	}
	return out
}

// Committed records offsets the group coordinator acknowledged.
func (t *Tracker) Committed(offsets map[string]map[int32]kgo.EpochOffset) {
	for topic, ps := range offsets {
		for p, eo := range ps {
			if po := t.Partition(topic, p); po != nil {
				po.mu.Lock()
				if eo.Offset > po.committed {
					po.committed = eo.Offset
				}
				po.mu.Unlock()
			}
		}
	}
}

// SetHighWatermark records a log end offset seen by a fetch or read from
// the brokers, for commit lag; an older, lower one does not replace it.
func (po *Partition) SetHighWatermark(hwm int64) {
	po.mu.Lock()
	po.highWatermark = max(po.highWatermark, hwm)
	po.mu.Unlock()
}

// Lag is one partition's commit lag.
type Lag struct {
	Topic     string
	Partition int32
	// Records is the number of records between the last commit and the log
	// end seen by the last fetch, when Known.
	Records int64
	// Known: this assignment has seen the partition's log end (a fetch) and
	// its committed offset (the first record it tracked, where fetching
	// started). Until then Records is 0 and means nothing: the group's
	// committed offset is not known here yet.
	Known bool
	// Oldest is the Kafka timestamp of the oldest fetched record that is not
	// done (zero: none).
	Oldest time.Time
}

// Lags returns the lag of every assigned partition.
func (t *Tracker) Lags() []Lag {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Lag, 0, len(t.parts))
	for tp, po := range t.parts {
		po.mu.Lock()
		l := Lag{Topic: tp.topic, Partition: tp.partition}
		if po.highWatermark >= 0 && po.committed >= 0 {
			l.Records, l.Known = max(po.highWatermark-po.committed, 0), true
		}
		if po.start < len(po.pending) {
			l.Oldest = time.Unix(0, po.pending[po.start].timestamp)
		}
		out = append(out, l)
		po.mu.Unlock()
	}
	return out
}
