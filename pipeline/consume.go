package pipeline

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/watermark"
)

// pollLoop fetches, decides and hands on records until ctx ends.
//
// A poll takes what franz-go has buffered (at most a fetch per broker, each
// bounded by kafka.fetch_max_bytes) and maps it at once, on every core. The
// records then wait in one run per partition and are handed on round-robin
// across the partitions, each in offset order, as the batcher and the
// dead-letter queue have room: a partition with a backlog of CRM records
// does not hold up the others (franz-go's own polls drain a fetch partition
// after partition). Dropped records cost no room.
//
// A record waiting keeps only what handing it on needs: a dropped record its
// offset, a record to deliver or dead-letter its detached copy and the
// mapper's decision, so records waiting do not keep franz-go's fetched
// batches alive.
//
// While records wait, each turn of the loop also takes what franz-go has
// buffered since, without waiting for it, as long as the records waiting
// hold less than heldPerFetch × kafka.fetch_max_bytes of memory; a
// partition's later records join its run. Together with fetches that hold
// several partitions (Options.FetchOptions), the partitions of a backlog
// take turns even when one fetch returns a single partition's records.
// Once none wait, the loop waits for the next fetch. What waits is bounded
// by that memory plus one poll, and franz-go buffers at most a fetch per
// broker meanwhile.
//
// Handing on never blocks: while every run's next record waits for room the
// loop waits for the batcher to release items or a dead-letter write to end,
// with rebalances allowed (BlockRebalanceOnPoll holds them only from a poll
// to its first hand-on). A revocation meanwhile drops the revoked partitions'
// waiting records, which were never tracked: their next owner reads them.
func (p *Pipeline) pollLoop(ctx context.Context) {
	fetchMax, _ := p.cl.OptValue(kgo.FetchMaxBytes).(int32)
	q := pollQueue{topUpBelow: heldPerFetch * int(fetchMax)}
	for {
		var fetches kgo.Fetches
		switch {
		case q.empty():
			fetches = p.cl.PollFetches(ctx)
		case q.held < q.topUpBelow:
			fetches = p.cl.PollFetches(noWait)
		}
		if fetches != nil {
			if !p.take(ctx, &q, fetches) {
				return
			}
		}
		p.handOn(ctx, &q)
		if fetches != nil {
			p.cl.AllowRebalance()
		}
		if !q.empty() && !p.waitForRoom(ctx) {
			return
		}
	}
}

// heldPerFetch is how many times kafka.fetch_max_bytes the records waiting
// may hold in memory before the poll loop stops taking more (8 MiB with the
// 512 KiB default): room for a fetch's worth of CRM records from several
// partitions, next to franz-go's fetch per broker.
const heldPerFetch = 16

// noWait is the nil context with which PollFetches returns at once, with
// what franz-go has buffered.
var noWait context.Context

// take queues a poll's records, mapped, by partition. It reports false once
// ctx ends or the client is closed.
func (p *Pipeline) take(ctx context.Context, q *pollQueue, fetches kgo.Fetches) bool {
	if fetches.IsClientClosed() || ctx.Err() != nil {
		p.cl.AllowRebalance()
		return false
	}
	fetches.EachError(func(_ string, _ int32, err error) {
		if !errors.Is(err, context.Canceled) {
			p.kafkaFailed(err) // logged once per outage; readiness fails meanwhile
		}
	})
	q.compact()
	first := len(q.recs)
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		part := p.offsets.Partition(fp.Topic, fp.Partition)
		if part == nil {
			return // revoked while this fetch was buffered
		}
		part.SetHighWatermark(fp.HighWatermark)
		q.add(part, fp.Records)
	})
	p.mapQueued(q, first)
	p.m.consumed.Add(int64(len(q.recs) - first))
	return true
}

// mapQueued maps the records queued from recs[first] on and counts the
// memory they hold.
func (p *Pipeline) mapQueued(q *pollQueue, first int) {
	p.mapAll(q.recs[first:])
	for i := first; i < len(q.recs); i++ {
		q.held += int(q.recs[i].held)
	}
}

// pollQueue holds the polled records, mapped, until they are handed on.
type pollQueue struct {
	// recs are the records polled, in poll order; the runs' spans of it
	// wait, the rest is handed on.
	recs []polledRecord
	// runs are the partitions with records waiting, at most one per
	// assignment.
	runs []partitionRun
	// next is the run the next hand-on visits first (round-robin).
	next int
	// waiting and held count the records waiting and the memory they hold
	// (polledRecord.held).
	waiting, held int
	// topUpBelow is the memory held under which the poll loop takes more
	// from franz-go before the records waiting are all handed on.
	topUpBelow int
}

// partitionRun is one partition assignment's records waiting, in offset
// order: the spans of recs, first to last.
type partitionRun struct {
	part  *watermark.Partition
	spans []span
}

// span is recs[from:to] of a pollQueue.
type span struct{ from, to int }

func (q *pollQueue) empty() bool { return len(q.runs) == 0 }

// add queues a partition's fetched records (in offset order) after those of
// the partition already waiting.
func (q *pollQueue) add(part *watermark.Partition, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	sp := span{from: len(q.recs)}
	for _, r := range recs {
		q.recs = append(q.recs, polledRecord{rec: r})
	}
	sp.to = len(q.recs)
	q.waiting += len(recs)
	for i := range q.runs {
		if q.runs[i].part == part {
			q.runs[i].spans = append(q.runs[i].spans, sp)
			return
		}
	}
	q.runs = append(q.runs, partitionRun{part: part, spans: []span{sp}})
}

// compact moves the records waiting to the front of recs, keeping their
// order, once more of it was handed on than waits.
func (q *pollQueue) compact() {
	if len(q.recs)-q.waiting <= q.waiting {
		return
	}
	var spans []*span
	for i := range q.runs {
		for j := range q.runs[i].spans {
			spans = append(spans, &q.runs[i].spans[j])
		}
	}
	slices.SortFunc(spans, func(a, b *span) int { return a.from - b.from })
	n := 0
	for _, sp := range spans {
		k := copy(q.recs[n:], q.recs[sp.from:sp.to])
		sp.from, sp.to = n, n+k
		n += k
	}
	clear(q.recs[n:])
	q.recs = q.recs[:n]
}

// handOn hands on waiting records until every run is empty or waits for
// room: visiting the runs round-robin, each visit hands on the run's dropped
// records up to its next record that costs room (a place in the batcher, or
// in the dead-letter queue for a rejected one) and that record, room
// permitting. A run of a revoked partition is dropped.
func (p *Pipeline) handOn(ctx context.Context, q *pollQueue) {
	room := handOnRoom{
		batch:  p.batches.Config().MaxBuffered - p.batches.Stats().Held,
		reject: cap(p.rejects) - len(p.rejects),
	}
	for stalled := 0; stalled < len(q.runs); {
		i := q.next % len(q.runs)
		run := &q.runs[i]
		moved := p.handOnRun(ctx, q, run, &room)
		if len(run.spans) == 0 {
			q.runs = slices.Delete(q.runs, i, i+1)
			q.next, stalled = i, 0
			continue
		}
		q.next = i + 1
		if moved {
			stalled = 0
		} else {
			stalled++
		}
	}
	p.m.addDropped(room.dropped)
	if len(room.rejects) > 0 {
		p.deadLetterAsync(room.rejects, room.rejectSources)
	}
}

// handOnRoom is what one hand-on may still take, and what it collected: the
// drop counts and the dead-letter records.
type handOnRoom struct {
	batch, reject int
	dropped       [dropReasons]int64
	rejects       []dlq.Record
	rejectSources []delivery.Source
}

// handOnRun is one visit of a run (see handOn); it reports whether it handed
// anything on. A released partition's run is emptied.
func (p *Pipeline) handOnRun(ctx context.Context, q *pollQueue, run *partitionRun, room *handOnRoom) bool {
	select {
	case <-run.part.Released():
		for len(run.spans) > 0 {
			q.pop(run)
		}
		return true
	default:
	}
	moved := false
	for len(run.spans) > 0 {
		pr := q.head(run)
		switch {
		case pr.m == nil: // dropped: costs no room
		case pr.m.Outcome == mapping.OutcomeReject:
			if room.reject == 0 {
				return moved
			}
			room.reject--
		default:
			if room.batch == 0 {
				return moved
			}
			room.batch--
		}
		q.pop(run)
		moved = true
		if d := p.process(ctx, run.part, pr, &room.dropped); d != nil {
			room.rejects = append(room.rejects, *d)
			room.rejectSources = append(room.rejectSources, delivery.Source{Part: run.part, Rec: pr.rec})
		}
		if pr.m != nil {
			return true
		}
	}
	return moved
}

// head is the next record of run, which has one.
func (q *pollQueue) head(run *partitionRun) *polledRecord {
	return &q.recs[run.spans[0].from]
}

// pop takes the next record off run, which has one. The record stays valid
// until the next poll is taken.
func (q *pollQueue) pop(run *partitionRun) *polledRecord {
	sp := &run.spans[0]
	pr := &q.recs[sp.from]
	if sp.from++; sp.from == sp.to {
		run.spans = run.spans[1:]
	}
	q.waiting--
	q.held -= int(pr.held)
	return pr
}

// polledRecord is one record of a poll. Once mapped it keeps only what
// handing it on needs, not the fetched batch it came in.
type polledRecord struct {
	// rec is the fetched record until mapped; then nil for a dropped record
	// and a detached copy of it for the others.
	rec *kgo.Record
	// m is the mapper's decision on a record not dropped; nil for a dropped one.
	m *mapping.Mapped
	// offset and leaderEpoch are the record's (a dropped one is tracked by
	// them alone).
	offset      int64
	leaderEpoch int32
	// held estimates the memory the record holds while it waits, in bytes.
	held int32
	// drop is a dropped record's reason, as dropIndex numbers them.
	drop uint8
}

// heldRecordOverhead estimates what a record to deliver or dead-letter
// holds beside its key and value while it waits: its kgo.Record, its
// mapping.Mapped and the Zoho record's fields.
const heldRecordOverhead = 1 << 10

// mapWorkerMin is the fewest records worth a mapping goroutine of their own.
const mapWorkerMin = 64

// mapAll maps the records of a poll, on every core when the poll is large
// enough: mapping is the poll loop's main cost, and the Mapper is safe for
// concurrent use. Order does not matter here; handOn keeps each
// partition's offset order afterwards.
func (p *Pipeline) mapAll(polled []polledRecord) {
	workers := min(runtime.GOMAXPROCS(0), len(polled)/mapWorkerMin)
	if workers <= 1 {
		p.mapEach(polled)
		return
	}
	var wg sync.WaitGroup
	chunk := (len(polled) + workers - 1) / workers
	for start := 0; start < len(polled); start += chunk {
		part := polled[start:min(start+chunk, len(polled))]
		wg.Go(func() { p.mapEach(part) })
	}
	wg.Wait()
}

// mapEach maps records and lets go of the fetched ones (see polledRecord).
func (p *Pipeline) mapEach(polled []polledRecord) {
	for i := range polled {
		pr := &polled[i]
		m := p.mapper.Map(pr.rec.Value)
		pr.offset, pr.leaderEpoch = pr.rec.Offset, pr.rec.LeaderEpoch
		if m.Outcome == mapping.OutcomeDrop {
			pr.drop = uint8(dropIndex(m.Drop))
			pr.rec, pr.held = nil, int32(unsafe.Sizeof(*pr))
			continue
		}
		pr.rec, pr.m = detach(pr.rec), &m // both outlive the poll
		pr.held = int32(unsafe.Sizeof(*pr)) + heldRecordOverhead + int32(len(pr.rec.Key)+len(pr.rec.Value))
	}
}

// waitForRoom waits until the batcher and the dead-letter queue both have
// room (batcher.Changed, the end of a dead-letter write); false once ctx ends.
func (p *Pipeline) waitForRoom(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	for p.room() <= 0 {
		changed := p.batches.Changed()
		if p.room() > 0 { // released before Changed was taken
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		case <-p.rejectsFreed:
		}
	}
	return true
}

// room is how many records the batcher and the dead-letter queue can take now.
func (p *Pipeline) room() int {
	return min(p.batches.Config().MaxBuffered-p.batches.Stats().Held, cap(p.rejects)-len(p.rejects))
}

// process hands on one mapped record of part: dropped records are done at
// once (and counted in dropped), usable ones go to the batcher, and the
// others come back as dead-letter records to write.
func (p *Pipeline) process(ctx context.Context, part *watermark.Partition, pr *polledRecord, dropped *[dropReasons]int64) *dlq.Record {
	if pr.m == nil {
		if part.TrackDone(pr.offset, pr.leaderEpoch) {
			dropped[pr.drop]++
		}
		return nil
	}
	r, m := pr.rec, pr.m
	if !part.Track(r) {
		return nil
	}
	if m.Outcome == mapping.OutcomeReject {
		d := p.sender.DeadLetterRecord(r, m.Reject.Code, m.Reject.Message, m.Reject.Field, []byte(m.Reject.Details), nil)
		return &d
	}
	if m.Omitted != nil {
		p.fields.observe(m.Omitted)
	}
	// The hand-on took no more records than the batcher has room for, so Add does not block.
	if err := p.batches.Add(ctx, batcher.Item[delivery.Source]{Key: m.Key, Record: m.Record, Source: delivery.Source{Part: part, Rec: r, Omitted: m.Omitted, Untyped: m.Untyped}}); err != nil {
		p.log.Debug("record not batched: shutting down", zap.Error(err))
	}
	return nil
}

// deadLetterAsync writes records the poll loop rejected, without blocking the
// poll loop; each is done once the dead-letter topic acknowledged it.
func (p *Pipeline) deadLetterAsync(recs []dlq.Record, srcs []delivery.Source) {
	for range recs {
		p.rejects <- struct{}{} // never blocks: the poll took no more than there was room for
	}
	p.rejectsWG.Add(1)
	go func() {
		defer p.rejectsWG.Done()
		defer func() {
			for range recs {
				<-p.rejects
			}
			select { // wake the poll loop if it waits for room
			case p.rejectsFreed <- struct{}{}:
			default:
			}
		}()
		p.sender.DeadLetter(recs, srcs)
	}()
}

// detach returns a copy of r that shares no memory with the fetch: its key,
// value and header values copied, in one allocation. A record kept past its
// poll (waiting in the batcher, for Zoho or for the dead-letter topic) would
// otherwise keep its whole fetched batch alive through the slices it points
// into (the decompressed batch, or the whole fetch response when the batch
// was not compressed): with CRM events sparse among the noise, each of the
// batch.max_buffered records held could pin a batch of its own. Detached,
// the records held cost their own size, and the fetched data is bounded by
// kafka.fetch_max_bytes per broker.
func detach(r *kgo.Record) *kgo.Record {
	c := *r
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Value)
	}
	buf := make([]byte, 0, n)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		buf = append(buf, b...)
		return buf[len(buf)-len(b) : len(buf) : len(buf)]
	}
	c.Key, c.Value = take(r.Key), take(r.Value)
	if r.Headers != nil {
		c.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			c.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: take(h.Value)}
		}
	}
	return &c
}
