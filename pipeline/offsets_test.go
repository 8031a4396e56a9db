package pipeline

import (
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func rec(topic string, p int32, off int64) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: p, Offset: off, LeaderEpoch: 3}
}

// TestOffsetTrackerRandomOrder completes records in random orders, some dropped at
// once, with gaps in the offsets (compaction, transaction markers), and checks
// after every completion that the committable offset is exactly the first
// offset not done.
func TestOffsetTrackerRandomOrder(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed*7+1))
		tr := newOffsetTracker()
		tr.assign(map[string][]int32{"events": {0}})
		po := tr.partition("events", 0)
		n := 1 + rng.IntN(300)
		var offsets, pending []int64
		doneSet := map[int64]bool{}
		off := int64(rng.IntN(1000))
		for range n {
			off += 1 + int64(rng.IntN(3)) // gaps
			offsets = append(offsets, off)
			if rng.IntN(3) == 0 {
				if !po.trackDone(rec("events", 0, off)) {
					t.Fatalf("seed %d: trackDone refused %d", seed, off)
				}
				doneSet[off] = true
			} else {
				if !po.track(rec("events", 0, off)) {
					t.Fatalf("seed %d: track refused %d", seed, off)
				}
				pending = append(pending, off)
			}
		}
		rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
		check := func() {
			want := offsets[len(offsets)-1] + 1
			for _, o := range offsets {
				if !doneSet[o] {
					want = o
					break
				}
			}
			got, ok := po.committable()
			if !ok || got.Offset != want {
				t.Fatalf("seed %d: committable = %d (%v), want %d", seed, got.Offset, ok, want)
			}
		}
		check()
		for _, o := range pending {
			po.done(o)
			po.done(o) // a duplicate completion changes nothing
			doneSet[o] = true
			check()
		}
		if got, _ := po.committable(); got.Epoch != 3 {
			t.Fatalf("seed %d: epoch %d once all done, want the record's leader epoch 3", seed, got.Epoch)
		}
		if po.pendingCount() != 0 {
			t.Fatalf("seed %d: %d still pending", seed, po.pendingCount())
		}
	}
}

func TestOffsetTrackerRedeliveryAndForget(t *testing.T) {
	tr := newOffsetTracker()
	tr.assign(map[string][]int32{"events": {0, 1}})
	po := tr.partition("events", 0)
	po.track(rec("events", 0, 10))
	po.track(rec("events", 0, 11))
	if po.track(rec("events", 0, 11)) || po.trackDone(rec("events", 0, 5)) {
		t.Fatal("a re-delivered offset was tracked again")
	}
	po.done(11)
	if got := tr.toCommit(nil); len(got) != 0 {
		t.Fatalf("toCommit = %v before the first record is done, want nothing", got)
	}
	po.track(rec("events", 0, 12))
	po.done(10)
	got := tr.toCommit(nil)
	if got["events"][0].Offset != 12 {
		t.Fatalf("toCommit = %v, want events/0 at 12", got)
	}
	if _, ok := got["events"][1]; ok {
		t.Fatal("a partition with nothing tracked was committed")
	}
	tr.committed(got)
	if again := tr.toCommit(nil); len(again) != 0 {
		t.Fatalf("unchanged offsets committed again: %v", again)
	}

	tr.forget(map[string][]int32{"events": {0}})
	po.done(12) // a late answer for a forgotten assignment
	if tr.partition("events", 0) != nil {
		t.Fatal("forgotten partition still assigned")
	}
	if got := tr.toCommit(nil); len(got) != 0 {
		t.Fatalf("forgotten partition committed: %v", got)
	}
	if po.track(rec("events", 0, 12)) {
		t.Fatal("a forgotten assignment tracked a record")
	}
	tr.assign(map[string][]int32{"events": {0}})
	if fresh := tr.partition("events", 0); fresh == po || !fresh.track(rec("events", 0, 10)) {
		t.Fatal("a new assignment must start fresh")
	}
}

func BenchmarkOffsetTrackerDropped(b *testing.B) {
	tr := newOffsetTracker()
	tr.assign(map[string][]int32{"events": {0}})
	po := tr.partition("events", 0)
	r := rec("events", 0, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Offset = int64(i)
		po.trackDone(r)
	}
}
