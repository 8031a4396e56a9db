package watermark

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
		tr := New()
		tr.Assign(map[string][]int32{"events": {0}})
		po := tr.Partition("events", 0)
		n := 1 + rng.IntN(300)
		var offsets, pending []int64
		doneSet := map[int64]bool{}
		off := int64(rng.IntN(1000))
		for range n {
			off += 1 + int64(rng.IntN(3)) // gaps
			offsets = append(offsets, off)
			if rng.IntN(3) == 0 {
				if !po.TrackDone(off, 3) {
					t.Fatalf("seed %d: trackDone refused %d", seed, off)
				}
				doneSet[off] = true
			} else {
				if !po.Track(rec("events", 0, off)) {
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
			got, ok := committable(po)
			if !ok || got.Offset != want {
				t.Fatalf("seed %d: committable = %d (%v), want %d", seed, got.Offset, ok, want)
			}
		}
		check()
		for _, o := range pending {
			po.Done(o)
			po.Done(o) // a duplicate completion changes nothing
			doneSet[o] = true
			check()
		}
		if got, _ := committable(po); got.Epoch != 3 {
			t.Fatalf("seed %d: epoch %d once all done, want the record's leader epoch 3", seed, got.Epoch)
		}
		if po.PendingCount() != 0 {
			t.Fatalf("seed %d: %d still pending", seed, po.PendingCount())
		}
	}
}

func TestOffsetTrackerRedeliveryAndForget(t *testing.T) {
	tr := New()
	tr.Assign(map[string][]int32{"events": {0, 1}})
	po := tr.Partition("events", 0)
	po.Track(rec("events", 0, 10))
	po.Track(rec("events", 0, 11))
	if po.Track(rec("events", 0, 11)) || po.TrackDone(5, 0) {
		t.Fatal("a re-delivered offset was tracked again")
	}
	po.Done(11)
	if got := tr.ToCommit(nil); len(got) != 0 {
		t.Fatalf("toCommit = %v before the first record is done, want nothing", got)
	}
	po.Track(rec("events", 0, 12))
	po.Done(10)
	got := tr.ToCommit(nil)
	if got["events"][0].Offset != 12 {
		t.Fatalf("toCommit = %v, want events/0 at 12", got)
	}
	if _, ok := got["events"][1]; ok {
		t.Fatal("a partition with nothing tracked was committed")
	}
	tr.Committed(got)
	if again := tr.ToCommit(nil); len(again) != 0 {
		t.Fatalf("unchanged offsets committed again: %v", again)
	}

	tr.Release(map[string][]int32{"events": {0}})
	if po.Track(rec("events", 0, 13)) || po.TrackDone(14, 0) {
		t.Fatal("a released assignment tracked a record fetched before its revocation")
	}
	tr.Forget(map[string][]int32{"events": {0}})
	po.Done(12) // a late answer for a forgotten assignment
	if tr.Partition("events", 0) != nil {
		t.Fatal("forgotten partition still assigned")
	}
	if got := tr.ToCommit(nil); len(got) != 0 {
		t.Fatalf("forgotten partition committed: %v", got)
	}
	if po.Track(rec("events", 0, 12)) {
		t.Fatal("a forgotten assignment tracked a record")
	}
	tr.Assign(map[string][]int32{"events": {0}})
	if fresh := tr.Partition("events", 0); fresh == po || !fresh.Track(rec("events", 0, 10)) {
		t.Fatal("a new assignment must start fresh")
	}
}

func BenchmarkOffsetTrackerDropped(b *testing.B) {
	tr := New()
	tr.Assign(map[string][]int32{"events": {0}})
	po := tr.Partition("events", 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		po.TrackDone(int64(i), 0)
	}
}

// committable is the offset ToCommit would return for po.
func committable(po *Partition) (kgo.EpochOffset, bool) {
	po.mu.Lock()
	defer po.mu.Unlock()
	return po.committableLocked()
}

// TestLagKnownOnceFetchedAndTracked: a partition's commit lag is known only
// once its log end was seen and its first record tracked (where fetching
// started: the group's committed offset); before, it is not a 0 or the
// whole log end.
func TestLagKnownOnceFetchedAndTracked(t *testing.T) {
	tr := New()
	tr.Assign(map[string][]int32{"events": {0, 1}})
	lagOf := func(p int32) Lag {
		t.Helper()
		for _, l := range tr.Lags() {
			if l.Partition == p {
				return l
			}
		}
		t.Fatalf("no lag for partition %d", p)
		return Lag{}
	}
	if l := lagOf(0); l.Known {
		t.Errorf("before any fetch: %+v, want not known", l)
	}
	tr.Partition("events", 0).SetHighWatermark(130_000) // fetched, no record taken yet
	if l := lagOf(0); l.Known {
		t.Errorf("log end seen, no record tracked: %+v, want not known (not the whole log end)", l)
	}
	tr.Partition("events", 0).Track(rec("events", 0, 100_000))
	if l := lagOf(0); !l.Known || l.Records != 30_000 {
		t.Errorf("first record at the committed offset 100000, log end 130000: %+v, want 30000 known", l)
	}
	if l := lagOf(1); l.Known {
		t.Errorf("partition 1, never fetched: %+v, want not known", l)
	}
	// The brokers report a later log end while fetching is paused; a
	// fetch's older, lower one does not take it back.
	tr.Partition("events", 0).SetHighWatermark(130_500)
	tr.Partition("events", 0).SetHighWatermark(130_000)
	if l := lagOf(0); l.Records != 30_500 {
		t.Errorf("after log ends 130500 then 130000: %+v, want 30500", l)
	}
}
