package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/zohosink/zohosink/batcher"
)

// TestOwnedDropsRecordsOfForgottenPartitions: before every attempt, a delivery
// keeps only the entries with a source in a partition still owned, and an
// entry keeps only its owned sources.
func TestOwnedDropsRecordsOfForgottenPartitions(t *testing.T) {
	tr := newOffsetTracker()
	tr.assign(map[string][]int32{"events": {0, 1}})
	p0, p1 := tr.partition("events", 0), tr.partition("events", 1)
	item := func(po *partitionOffsets, off int64) batcher.Item[source] {
		return batcher.Item[source]{Source: source{part: po, rec: rec("events", po.tp.partition, off)}}
	}
	mixed := batcher.Entry[source]{Key: "a", Items: []batcher.Item[source]{item(p0, 1), item(p1, 2), item(p0, 3)}}
	only1 := batcher.Entry[source]{Key: "b", Items: []batcher.Item[source]{item(p1, 4)}}
	d := delivery{entries: []batcher.Entry[source]{mixed, only1}, records: []json.RawMessage{[]byte(`{"a":1}`), []byte(`{"b":1}`)}}

	if got := d.owned(); len(got.entries) != 2 || len(liveEntry(mixed).Items) != 3 {
		t.Fatalf("nothing forgotten: %d entries, %d items", len(got.entries), len(liveEntry(mixed).Items))
	}
	tr.forget(map[string][]int32{"events": {1}})
	got := d.owned()
	if len(got.entries) != 1 || got.entries[0].Key != "a" || string(got.records[0]) != `{"a":1}` {
		t.Fatalf("owned() = %+v, want only entry a with its record", got)
	}
	live := liveEntry(mixed)
	if len(live.Items) != 2 || live.Items[0].Source.rec.Offset != 1 || live.Items[1].Source.rec.Offset != 3 {
		t.Fatalf("liveEntry kept %v, want the partition-0 items 1 and 3", live.Items)
	}
	if len(mixed.Items) != 3 || mixed.Items[1].Source.rec.Offset != 2 {
		t.Fatal("liveEntry changed the batch's own items")
	}
}
