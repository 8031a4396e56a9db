package pipeline

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"

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
// bounded by kafka.fetch_max_bytes) and maps it at once. The records then
// wait in one run per partition and are handed on round-robin across the
// partitions, each in offset order, as the batcher and the dead-letter queue
// have room: a partition with a backlog of CRM records does not hold up the
// others (franz-go's own polls drain a fetch partition after partition).
// Dropped records cost no room.
//
// A partition with records waiting is paused (kgo.PauseFetchPartitions) until
// they are all handed on, so franz-go fetches the other partitions meanwhile,
// and a poll never returns a partition twice. While records wait, the loop
// takes what franz-go has buffered for the other partitions without waiting
// for it, as long as the records waiting hold fewer than topUpBelow bytes of
// values; once none wait, it waits for the next fetch. So the records waiting
// are bounded by topUpBelow plus one poll.
//
// Handing on never blocks: while every run's next record waits for room the
// loop waits for the batcher to release items or a dead-letter write to end,
// with rebalances allowed (BlockRebalanceOnPoll holds them only from a poll
// to its first hand-on). A revocation meanwhile drops the revoked partitions'
// waiting records, which were never tracked: their next owner reads them.
func (p *Pipeline) pollLoop(ctx context.Context) {
	q := pollQueue{topUpBelow: int(p.o.FetchMaxBytes)}
	if q.topUpBelow <= 0 {
		q.topUpBelow = franzFetchMaxBytes
	}
	for {
		var fetches kgo.Fetches
		switch {
		case q.empty():
			fetches = p.cl.PollFetches(ctx)
		case q.bytes < q.topUpBelow:
			fetches = p.cl.PollFetches(noWait)
		}
		if fetches != nil {
			if !p.take(ctx, &q, fetches) {
				return
			}
		}
		p.handOn(ctx, &q)
		p.pauseWaiting(&q)
		if fetches != nil {
			p.cl.AllowRebalance()
		}
		if !q.empty() && !p.waitForRoom(ctx) {
			return
		}
	}
}

// noWait is the nil context with which PollFetches returns at once, with
// what franz-go has buffered.
var noWait context.Context

// franzFetchMaxBytes is franz-go's default kgo.FetchMaxBytes (50 MiB), used
// when Options.FetchMaxBytes is 0.
const franzFetchMaxBytes = 50 << 20

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
	p.mapAll(q.recs[first:])
	p.m.consumed.Add(int64(len(q.recs) - first))
	return true
}

// pollQueue holds the polled records, mapped, until they are handed on.
type pollQueue struct {
	// recs are the records polled, partition after partition, poll after
	// poll; the runs' parts of it wait, the rest is handed on.
	recs []polledRecord
	// runs are the partitions with records waiting, in poll order (so their
	// parts of recs are in ascending order), at most one per partition.
	runs []partitionRun
	// next is the run the next hand-on visits first (round-robin).
	next int
	// waiting and bytes count the records waiting and their values' bytes.
	waiting, bytes int
	// topUpBelow is the bytes of values waiting under which the poll loop
	// takes more from franz-go before they are all handed on.
	topUpBelow int
	// resume are the partitions paused for their runs that have none left.
	resume map[string][]int32
}

// partitionRun is one partition's records waiting: recs[from:to].
type partitionRun struct {
	part     *watermark.Partition
	from, to int
	// paused is whether the partition's fetching is paused for this run.
	paused bool
}

func (q *pollQueue) empty() bool { return len(q.runs) == 0 }

// compact moves the records waiting to the front of recs, when more of it
// was handed on than waits, and forgets the others.
func (q *pollQueue) compact() {
	if len(q.recs)-q.waiting <= q.waiting {
		return
	}
	n := 0
	for i := range q.runs {
		r := &q.runs[i]
		k := copy(q.recs[n:], q.recs[r.from:r.to])
		r.from, r.to = n, n+k
		n += k
	}
	clear(q.recs[n:]) // the records kept are detached copies, owned by the batcher and the dead-letter writer
	q.recs = q.recs[:n]
}

// add queues a partition's fetched records (in offset order).
func (q *pollQueue) add(part *watermark.Partition, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	from := len(q.recs)
	for _, r := range recs {
		q.recs = append(q.recs, polledRecord{part: part, rec: r})
		q.bytes += len(r.Value)
	}
	q.waiting += len(recs)
	q.runs = append(q.runs, partitionRun{part: part, from: from, to: len(q.recs)})
}

// handedOn counts a record handed on (or dropped with its run).
func (q *pollQueue) handedOn(pr *polledRecord) {
	q.waiting--
	q.bytes -= len(pr.rec.Value)
}

// remove deletes run i, which has no records left, marking its partition
// for resuming if it was paused.
func (q *pollQueue) remove(i int) {
	if r := q.runs[i]; r.paused {
		if q.resume == nil {
			q.resume = map[string][]int32{}
		}
		q.resume[r.part.Topic()] = append(q.resume[r.part.Topic()], r.part.ID())
	}
	q.runs = slices.Delete(q.runs, i, i+1)
}

// pauseWaiting pauses fetching the partitions with records waiting and
// resumes those whose runs ended.
func (p *Pipeline) pauseWaiting(q *pollQueue) {
	if len(q.resume) > 0 {
		p.cl.ResumeFetchPartitions(q.resume)
		clear(q.resume)
	}
	var pause map[string][]int32
	for i := range q.runs {
		r := &q.runs[i]
		if r.paused {
			continue
		}
		if pause == nil {
			pause = map[string][]int32{}
		}
		pause[r.part.Topic()] = append(pause[r.part.Topic()], r.part.ID())
		r.paused = true
	}
	if pause != nil {
		p.cl.PauseFetchPartitions(pause)
	}
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
	var dropped [dropReasons]int64
	for stalled := 0; stalled < len(q.runs); {
		i := q.next % len(q.runs)
		run := &q.runs[i]
		moved := p.handOnRun(ctx, q, run, &room, &dropped)
		if run.from == run.to {
			q.remove(i)
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
	p.m.addDropped(dropped)
	if len(room.rejects) > 0 {
		p.deadLetterAsync(room.rejects, room.rejectSources)
	}
}

// handOnRoom is what one hand-on may still take, and the dead-letter records
// it collected.
type handOnRoom struct {
	batch, reject int
	rejects       []dlq.Record
	rejectSources []delivery.Source
}

// handOnRun is one visit of a run (see handOn); it reports whether it handed
// anything on. A released partition's run is emptied.
func (p *Pipeline) handOnRun(ctx context.Context, q *pollQueue, run *partitionRun, room *handOnRoom, dropped *[dropReasons]int64) bool {
	select {
	case <-run.part.Released():
		for ; run.from < run.to; run.from++ {
			q.handedOn(&q.recs[run.from])
		}
		return true
	default:
	}
	moved := false
	for run.from < run.to {
		pr := &q.recs[run.from]
		switch pr.m.Outcome {
		case mapping.OutcomeDrop:
		case mapping.OutcomeReject:
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
		run.from++
		moved = true
		q.handedOn(pr)
		if d := p.process(ctx, pr, dropped); d != nil {
			room.rejects = append(room.rejects, *d)
			room.rejectSources = append(room.rejectSources, delivery.Source{Part: pr.part, Rec: pr.rec})
		}
		if pr.m.Outcome != mapping.OutcomeDrop {
			return true
		}
	}
	return moved
}

// polledRecord is one record of a poll, with its partition assignment and the
// mapper's decision.
type polledRecord struct {
	part *watermark.Partition
	rec  *kgo.Record
	m    mapping.Mapped
}

// mapWorkerMin is the fewest records worth a mapping goroutine of their own.
const mapWorkerMin = 64

// mapAll maps the records of a poll, on every core when the poll is large
// enough: mapping is the poll loop's main cost, and the Mapper is safe for
// concurrent use. Order does not matter here; the records are handed on in
// fetch order afterwards.
func (p *Pipeline) mapAll(polled []polledRecord) {
	workers := min(runtime.GOMAXPROCS(0), len(polled)/mapWorkerMin)
	if workers <= 1 {
		for i := range polled {
			polled[i].m = p.mapper.Map(polled[i].rec.Value)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(polled) + workers - 1) / workers
	for start := 0; start < len(polled); start += chunk {
		part := polled[start:min(start+chunk, len(polled))]
		wg.Go(func() {
			for i := range part {
				part[i].m = p.mapper.Map(part[i].rec.Value)
			}
		})
	}
	wg.Wait()
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

// process hands on one mapped record: dropped records are done at once (and
// counted in dropped), usable ones go to the batcher, and the others come back
// as dead-letter records to write.
func (p *Pipeline) process(ctx context.Context, pr *polledRecord, dropped *[dropReasons]int64) *dlq.Record {
	part, r, m := pr.part, pr.rec, &pr.m
	switch m.Outcome {
	case mapping.OutcomeDrop:
		if part.TrackDone(r) {
			dropped[dropIndex(m.Drop)]++
		}
		return nil
	case mapping.OutcomeReject:
		if !part.Track(r) {
			return nil
		}
		r = detach(r) // outlives the poll
		pr.rec = r
		d := p.sender.DeadLetterRecord(r, m.Reject.Code, m.Reject.Message, m.Reject.Field, []byte(m.Reject.Details), nil)
		return &d
	}
	if !part.Track(r) {
		return nil
	}
	if m.Omitted != nil {
		p.fields.observe(m.Omitted)
	}
	r = detach(r) // outlives the poll
	// The poll took no more records than the batcher has room for, so Add does not block.
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
