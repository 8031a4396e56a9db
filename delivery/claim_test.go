package delivery

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/internal/recordtest"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
)

func rec(topic string, p int32, off int64) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: p, Offset: off, LeaderEpoch: 3}
}

// claimed reports whether some attempt holds a claim on po.
func claimed(po *watermark.Partition) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return watermark.WaitIdle(ctx, []*watermark.Partition{po}) != nil
}

// TestClaimDropsRecordsOfReleasedPartitions: before every attempt, a batch
// keeps only the entries with a source in a partition still owned; an entry
// merged from several partitions keeps its owned sources and its record is
// merged again from them; the attempt claims each owned partition once.
func TestClaimDropsRecordsOfReleasedPartitions(t *testing.T) {
	s := &Sender{log: zap.NewNop()}
	tr := watermark.New()
	tr.Assign(map[string][]int32{"events": {0, 1}})
	p0, p1 := tr.Partition("events", 0), tr.Partition("events", 1)
	item := func(po *watermark.Partition, off int64, fields string) batcher.Item[Source] {
		return batcher.Item[Source]{Record: recordtest.Of(fields), Source: Source{Part: po, Rec: rec("events", po.ID(), off)}}
	}
	mixed := batcher.Entry[Source]{Key: "a", Items: []batcher.Item[Source]{
		item(p0, 1, `{"Email":"a","First_Name":"x"}`),
		item(p1, 2, `{"Email":"a","Last_Name":"from-p1"}`),
		item(p0, 3, `{"Email":"a","First_Name":"y"}`),
	}}
	only1 := batcher.Entry[Source]{Key: "b", Items: []batcher.Item[Source]{item(p1, 4, `{"Email":"b"}`)}}
	d := batch{entries: []batcher.Entry[Source]{mixed, only1}, records: []zohoapi.Record{recordtest.Of(`{"sent":"a"}`), recordtest.Of(`{"sent":"b"}`)}}

	got, c := s.claim(d)
	if len(got.entries) != 2 || string(got.records[0].JSON()) != `{"sent":"a"}` || len(c) != 2 {
		t.Fatalf("nothing released: %d entries, record %s, %d partitions claimed; want 2, unchanged, 2", len(got.entries), got.records[0].JSON(), len(c))
	}
	if !claimed(p0) || !claimed(p1) {
		t.Fatalf("claimed p0=%v p1=%v, want both", claimed(p0), claimed(p1))
	}
	c.release()
	if claimed(p0) || claimed(p1) {
		t.Fatal("release left a claim")
	}

	tr.Release(map[string][]int32{"events": {1}})
	got, c = s.claim(d)
	defer c.release()
	if len(got.entries) != 1 || got.entries[0].Key != "a" {
		t.Fatalf("claim() = %+v, want only entry a", got)
	}
	if live := got.entries[0].Items; len(live) != 2 || live[0].Source.Rec.Offset != 1 || live[1].Source.Rec.Offset != 3 {
		t.Fatalf("entry a kept %v, want the partition-0 items 1 and 3", live)
	}
	if want := `{"Email":"a","First_Name":"y"}`; string(got.records[0].JSON()) != want {
		t.Fatalf("record of entry a = %s, want %s (merged again without partition 1's item)", got.records[0].JSON(), want)
	}
	if len(mixed.Items) != 3 || mixed.Items[1].Source.Rec.Offset != 2 {
		t.Fatal("claim changed the batch's own items")
	}
	if len(c) != 1 || c[0] != p0 || claimed(p1) {
		t.Fatalf("claimed %v (p1 claimed %v), want p0 only", c, claimed(p1))
	}
}
