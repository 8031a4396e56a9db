package pipeline

import (
	"bytes"
	"fmt"
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
	q := pollQueue{mapAheadBelow: 1 << 30}
	poll := func(add func()) {
		q.compact()
		add()
		p.mapAhead(&q)
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

// leadRecords are n fetched identify events of distinct users of partition,
// each value an allocation of its own.
func leadRecords(partition int32, n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Partition: partition, Offset: int64(i), Key: fmt.Appendf(nil, "usr_%d_%06d", partition, i), Value: fmt.Appendf(nil,
			`{"type":"identify","userId":"usr_%d_%06d","traits":{"email":"lead.%d.%d@example.com","firstName":"Ada","lastName":"Lovelace","company":"Analytical Engines Ltd","phone":"+44 20 7946 0000"},"context":{"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0.0.0","consent":{"categories":{"marketing":true}}}}`,
			partition, i, partition, i)}
	}
	return recs
}

// mappedOf is how many records of run are mapped.
func mappedOf(run *partitionRun) int {
	n := 0
	for _, sp := range run.spans {
		n += sp.mapped - sp.from
	}
	return n
}

// TestPollQueueMapsAheadWithinItsMemory: records to deliver are mapped ahead
// of their turn only while the mapped ones waiting hold less than
// mapAheadBelow (plus a round), each run's earliest and the runs alike;
// handing mapped records on lets more be mapped, a released run's unmapped
// records are let go, and a fetch's worth of noise is mapped at once (a
// dropped record holds only its offset).
func TestPollQueueMapsAheadWithinItsMemory(t *testing.T) {
	mapper, err := mapping.NewMapper(mapping.MapperConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{mapper: mapper}
	const below = 256 << 10
	q := pollQueue{mapAheadBelow: below}
	parts := []*watermark.Partition{watermark.NewPartition("events", 0), watermark.NewPartition("events", 1), watermark.NewPartition("events", 2)}
	for i, part := range parts {
		q.add(part, leadRecords(int32(i), 2000))
	}
	if q.held < 3*2000*300 || q.mappedHeld != 0 {
		t.Fatalf("6,000 fetched events of ~300 bytes hold %d bytes (%d mapped); want their size counted, none mapped", q.held, q.mappedHeld)
	}
	p.mapAhead(&q)
	if q.mappedHeld < below || q.mappedHeld > 2*below || q.unmapped == 0 {
		t.Fatalf("mapped ahead: %d bytes held by mapped records, %d unmapped; want at least %d and at most twice that, the rest unmapped", q.mappedHeld, q.unmapped, below)
	}
	for i := range q.runs {
		if d := mappedOf(&q.runs[i]) - mappedOf(&q.runs[0]); d > 1 || d < -1 {
			t.Fatalf("runs mapped %d and %d records; want the runs alike", mappedOf(&q.runs[0]), mappedOf(&q.runs[i]))
		}
	}
	run := &q.runs[0]
	first := mappedOf(run)
	for range first {
		if pr := q.pop(run); pr.m == nil || pr.m.Outcome != mapping.OutcomeDeliver {
			t.Fatalf("offset %d handed on unmapped or not to deliver", pr.offset)
		}
	}
	p.mapAhead(&q)
	if mappedOf(run) == 0 {
		t.Fatal("a run whose mapped records were handed on gets no more mapped")
	}
	for i := range q.runs { // a revocation: every run's records let go, mapped or not
		for len(q.runs[i].spans) > 0 {
			q.pop(&q.runs[i])
		}
	}
	if q.waiting != 0 || q.unmapped != 0 || q.held != 0 || q.mappedHeld != 0 {
		t.Errorf("nothing waits, yet waiting=%d unmapped=%d held=%d mappedHeld=%d", q.waiting, q.unmapped, q.held, q.mappedHeld)
	}

	noise := make([]*kgo.Record, 20_000)
	for i := range noise {
		noise[i] = &kgo.Record{Offset: int64(i), Value: []byte(`{"type":"page","properties":{"path":"/pricing"}}`)}
	}
	q = pollQueue{mapAheadBelow: 512 << 10 / mapAheadShare} // the default fetch_max_bytes
	q.add(parts[0], noise)
	p.mapAhead(&q)
	if q.unmapped != 0 {
		t.Errorf("%d page views left unmapped; want a fetch of noise mapped and dropped at once", q.unmapped)
	}
}

// TestHeldCoversMappedMemory: what a mapped record to deliver is estimated
// to hold (polledRecord.held: heldRecordOverhead besides its key and value)
// covers the heap it holds, so mapAheadBelow bounds real memory.
func TestHeldCoversMappedMemory(t *testing.T) {
	mapper, err := mapping.NewMapper(mapping.MapperConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{mapper: mapper}
	q := pollQueue{mapAheadBelow: 1 << 30}
	q.add(watermark.NewPartition("events", 0), leadRecords(0, 5000))
	p.mapAhead(&q) // the fetched records are garbage now: each was detached
	heapAlloc := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	with := heapAlloc()
	estimate := q.mappedHeld
	q = pollQueue{}
	real := int(with) - int(heapAlloc())
	if estimate < real || estimate > 3*real {
		t.Errorf("5,000 mapped identify events hold %d bytes of heap, estimated %d; want the estimate to cover it, within 3 times", real, estimate)
	}
	t.Logf("held %d bytes, estimated %d", real, estimate)
}
