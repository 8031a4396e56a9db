package pipeline

import (
	"bytes"
	"maps"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/watermark"
)

// TestDetachedRecordKeepsNoFetchAlive: a record the poll loop keeps (for
// Zoho or the dead-letter topic) is detached from the fetched batch it was
// decoded from, so holding it does not keep that batch's memory alive.
func TestDetachedRecordKeepsNoFetchAlive(t *testing.T) {
	fetch := bytes.Repeat([]byte("x"), 1<<20) // a fetched batch
	copy(fetch[100:], "key")
	copy(fetch[200:], `{"type":"identify"}`)
	copy(fetch[300:], "hv")
	r := &kgo.Record{
		Key: fetch[100:103], Value: fetch[200:219], Topic: "events", Partition: 2, Offset: 7,
		Headers: []kgo.RecordHeader{{Key: "h", Value: fetch[300:302]}},
	}
	batch := weak.Make(&fetch[0])
	d := detach(r)
	r, fetch = nil, nil
	runtime.GC()
	runtime.GC()
	if batch.Value() != nil {
		t.Error("the detached record keeps the fetched batch alive")
	}
	if string(d.Key) != "key" || string(d.Value) != `{"type":"identify"}` || d.Topic != "events" || d.Partition != 2 || d.Offset != 7 ||
		len(d.Headers) != 1 || d.Headers[0].Key != "h" || string(d.Headers[0].Value) != "hv" {
		t.Errorf("detached record %+v differs from the original", d)
	}
	runtime.KeepAlive(d)
}

// TestCommitLagFallsBackToTheGroup: a partition whose lag this assignment
// does not know yet shows the group's committed lag as the brokers report
// it, and no series while that is not known either.
func TestCommitLagFallsBackToTheGroup(t *testing.T) {
	m := newMetrics()
	lags := []watermark.Lag{
		{Topic: "events", Partition: 0, Records: 31_230, Known: true},
		{Topic: "events", Partition: 1},
		{Topic: "events", Partition: 2},
	}
	m.setLags(lags, map[string]map[int32]int64{"events": {0: 99, 1: 35_469}}, time.Now())
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.commitLag)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 {
		t.Fatalf("gather: %v, %d families", err, len(families))
	}
	got := map[string]float64{}
	for _, mt := range families[0].GetMetric() {
		for _, l := range mt.GetLabel() {
			if l.GetName() == "partition" {
				got[l.GetValue()] = mt.GetGauge().GetValue()
			}
		}
	}
	if want := map[string]float64{"0": 31_230, "1": 35_469}; !maps.Equal(got, want) {
		t.Errorf("commit lag by partition %v, want %v (partition 2, known neither here nor by the group, without a series)", got, want)
	}
}

// TestGroupLagsWithoutCommit: a partition without a commit counts its lag
// from the log start when fetching starts there, and is left out with
// kafka.start_offset latest (the group starts at the log end, not counted
// from the start as kadm does); one with a commit counts from the commit.
func TestGroupLagsWithoutCommit(t *testing.T) {
	lag := kadm.GroupLag{"events": {
		0: {Topic: "events", Partition: 0, Commit: kadm.Offset{At: 400}, End: kadm.ListedOffset{Offset: 1000}, Lag: 600},
		1: {Topic: "events", Partition: 1, Commit: kadm.Offset{At: -1}, End: kadm.ListedOffset{Offset: 1500}, Lag: 1500},
	}}
	if got, want := groupLags(lag, false), (map[string]map[int32]int64{"events": {0: 600, 1: 1500}}); !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("start earliest: %v, want %v", got, want)
	}
	if got, want := groupLags(lag, true), (map[string]map[int32]int64{"events": {0: 600}}); !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("start latest: %v, want %v", got, want)
	}
}

// TestPollQueueKeepsOffsetOrder: a partition's records of a later poll join
// its run behind the records still waiting, compaction keeps every run's
// records in offset order, and a mapped record waiting keeps no fetched
// batch alive (a dropped one keeps its offset, the others a detached copy).
func TestPollQueueKeepsOffsetOrder(t *testing.T) {
	mapper, err := mapping.NewMapper(mapping.MapperConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{mapper: mapper}
	fetch := bytes.Repeat([]byte(" "), 1<<20) // a fetched batch the values point into
	batch := weak.Make(&fetch[0])
	lead := []byte(`{"type":"identify","traits":{"email":"a@example.com"}}`)
	page := []byte(`{"type":"page"}`)
	at := 0
	fetched := func(partition int32, from, n int) []*kgo.Record {
		var out []*kgo.Record
		for o := from; o < from+n; o++ {
			v := page
			if o%3 == 0 {
				v = lead
			}
			at += copy(fetch[at:], v)
			out = append(out, &kgo.Record{Partition: partition, Offset: int64(o), LeaderEpoch: 2, Value: fetch[at-len(v) : at]})
		}
		return out
	}
	a, b := watermark.NewPartition("events", 0), watermark.NewPartition("events", 1)
	var q pollQueue
	poll := func(add func()) {
		q.compact()
		first := len(q.recs)
		add()
		p.mapQueued(&q, first)
	}
	poll(func() { q.add(a, fetched(0, 0, 10)); q.add(b, fetched(1, 0, 10)) })
	var got [2][]int64
	pop := func(run *partitionRun, n int) {
		for range n {
			got[run.part.ID()] = append(got[run.part.ID()], q.pop(run).offset)
		}
	}
	pop(&q.runs[0], 8)
	pop(&q.runs[1], 2)
	poll(func() { q.add(b, fetched(1, 10, 5)); q.add(a, fetched(0, 10, 5)) }) // compacts first: 10 of 20 were handed on
	if len(q.runs) != 2 || q.waiting != 20 {
		t.Fatalf("%d runs, %d records waiting; want a partition's later records in its run: 2 runs, 20 waiting", len(q.runs), q.waiting)
	}
	fetch = nil
	runtime.GC()
	runtime.GC()
	if batch.Value() != nil {
		t.Error("the records waiting keep the fetched batch alive")
	}
	for len(q.runs[0].spans) > 0 || len(q.runs[1].spans) > 0 {
		for i := range q.runs {
			if len(q.runs[i].spans) > 0 {
				pop(&q.runs[i], 1)
			}
		}
	}
	for part, offs := range got {
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d handed on offsets %v; want 0..14 in order", part, offs)
			}
		}
		if len(offs) != 15 {
			t.Fatalf("partition %d handed on %d records, want 15", part, len(offs))
		}
	}
	if q.waiting != 0 || q.held != 0 {
		t.Errorf("nothing waits, yet waiting=%d held=%d", q.waiting, q.held)
	}
}
