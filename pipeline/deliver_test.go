package pipeline

import (
	"encoding/json"
	"testing"

	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
)

// TestClaimDropsRecordsOfReleasedPartitions: before every attempt, a delivery
// keeps only the entries with a source in a partition still owned; an entry
// merged from several partitions keeps its owned sources and its record is
// merged again from them; the attempt claims each owned partition once.
func TestClaimDropsRecordsOfReleasedPartitions(t *testing.T) {
	p := &Pipeline{log: zap.NewNop()}
	tr := newOffsetTracker()
	tr.assign(map[string][]int32{"events": {0, 1}})
	p0, p1 := tr.partition("events", 0), tr.partition("events", 1)
	item := func(po *partitionOffsets, off int64, fields map[string]any) batcher.Item[source] {
		return batcher.Item[source]{Record: fields, Source: source{part: po, rec: rec("events", po.tp.partition, off)}}
	}
	mixed := batcher.Entry[source]{Key: "a", Items: []batcher.Item[source]{
		item(p0, 1, map[string]any{"Email": "a", "First_Name": "x"}),
		item(p1, 2, map[string]any{"Email": "a", "Last_Name": "from-p1"}),
		item(p0, 3, map[string]any{"Email": "a", "First_Name": "y"}),
	}}
	only1 := batcher.Entry[source]{Key: "b", Items: []batcher.Item[source]{item(p1, 4, map[string]any{"Email": "b"})}}
	d := delivery{entries: []batcher.Entry[source]{mixed, only1}, records: []json.RawMessage{[]byte(`{"sent":"a"}`), []byte(`{"sent":"b"}`)}}

	got, c := p.claim(d)
	if len(got.entries) != 2 || string(got.records[0]) != `{"sent":"a"}` || len(c) != 2 {
		t.Fatalf("nothing released: %d entries, record %s, %d partitions claimed; want 2, unchanged, 2", len(got.entries), got.records[0], len(c))
	}
	if p0.claims != 1 || p1.claims != 1 {
		t.Fatalf("claims p0=%d p1=%d, want one each", p0.claims, p1.claims)
	}
	c.release()

	tr.release(map[string][]int32{"events": {1}})
	got, c = p.claim(d)
	defer c.release()
	if len(got.entries) != 1 || got.entries[0].Key != "a" {
		t.Fatalf("claim() = %+v, want only entry a", got)
	}
	if live := got.entries[0].Items; len(live) != 2 || live[0].Source.rec.Offset != 1 || live[1].Source.rec.Offset != 3 {
		t.Fatalf("entry a kept %v, want the partition-0 items 1 and 3", live)
	}
	if want := `{"Email":"a","First_Name":"y"}`; string(got.records[0]) != want {
		t.Fatalf("record of entry a = %s, want %s (merged again without partition 1's item)", got.records[0], want)
	}
	if len(mixed.Items) != 3 || mixed.Items[1].Source.rec.Offset != 2 {
		t.Fatal("claim changed the batch's own items")
	}
	if len(c) != 1 || c[0] != p0 || p1.claims != 0 {
		t.Fatalf("claimed %v (p1 claims %d), want p0 only", c, p1.claims)
	}
}
