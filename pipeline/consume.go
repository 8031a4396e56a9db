package pipeline

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
// bounded by kafka.fetch_max_bytes), up to about one fetch's worth of memory
// (pollRecords). The records then wait in one run per partition and are
// handed on round-robin across the partitions, each in offset order, as the
// batcher and the dead-letter queue have room: a partition with a backlog of
// CRM records does not hold up the others (franz-go's own polls drain a fetch
// partition after partition). Dropped records cost no room.
//
// Records are mapped ahead of their turn, on every core, in rounds that take
// the next records of every run alike (mapAhead), while the mapped records
// waiting hold less than kafka.fetch_max_bytes / mapAheadShare of memory.
// A fetch of noise is so mapped and dropped at once, while a fetch of CRM
// events (some 19,000 records of 600 bytes in 512 KiB of snappy) is not
// mapped much faster than Zoho takes it: a mapped record to deliver holds
// its detached copy and its Zoho record besides.
//
// A record waiting keeps only what handing it on needs: an unmapped one its
// fetched record (and so the decompressed batch it came in: its span counts
// the batch until all of it is mapped), a dropped one its offset, a record
// to deliver or dead-letter its detached copy and the mapper's decision, so
// mapped records do not keep franz-go's fetched batches alive.
//
// While records wait, each turn of the loop also takes what franz-go has
// buffered since, without waiting for it, as long as the records waiting
// hold less than kafka.fetch_max_bytes / heldShare of memory, mapped or
// not; a partition's later records join its run. Together with fetches that
// hold several partitions (Options.FetchOptions), the partitions of a
// backlog take turns even when one fetch returns a single partition's
// records. Once none wait, the loop waits for the next fetch. What waits is
// bounded by that memory plus one poll, and franz-go buffers at most a fetch
// per broker meanwhile, each sized so that its records hold at most
// fetchMemoryPerFetch × kafka.fetch_max_bytes (fetchSizer).
//
// Handing on never blocks: while every run's next record waits for room the
// loop waits for the batcher to release items or a dead-letter write to end,
// with rebalances allowed (BlockRebalanceOnPoll holds them only from a poll
// to its first hand-on). A revocation meanwhile drops the revoked partitions'
// waiting records, which were never tracked: their next owner reads them.
func (p *Pipeline) pollLoop(ctx context.Context) {
	q := p.newPollQueue()
	for {
		var fetches kgo.Fetches
		switch {
		case q.empty():
			fetches = p.cl.PollRecords(ctx, q.pollRecords())
		case q.held < q.topUpBelow:
			fetches = p.cl.PollRecords(noWait, q.pollRecords())
		}
		if fetches != nil {
			if !p.take(ctx, q, fetches) {
				return
			}
			if n := p.fetchSize.resize(); n > 0 {
				p.m.fetchBytes.Set(float64(n))
				p.log.Debug("fetch size changed to keep a fetch's records within their memory", zap.Int32("fetch_max_bytes", n))
			}
		}
		p.mapAhead(q)
		// Taken before handOn looks at the room: a release after that closes it.
		changed := p.batches.Changed()
		stalled := p.handOn(ctx, q)
		if fetches != nil {
			p.cl.AllowRebalance()
		}
		// Records that wait for room wait for a release, unless mapping
		// more lets others be handed on meanwhile.
		if stalled && (q.unmapped == 0 || q.mappedHeld >= q.mapAheadBelow) && !p.waitForRelease(ctx, changed) {
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// newPollQueue is the poll loop's queue, its memory bounds sized by
// kafka.fetch_max_bytes as configured (not as the fetch sizer has it now:
// that starts at a 64th of it), or franz-go's kgo.FetchMaxBytes when unset.
func (p *Pipeline) newPollQueue() *pollQueue {
	fetchMax := p.fetchSize.configured
	if fetchMax <= 0 {
		fetchMax, _ = p.cl.OptValue(kgo.FetchMaxBytes).(int32)
	}
	return &pollQueue{
		topUpBelow:    int(fetchMax) / heldShare,
		mapAheadBelow: int(fetchMax) / mapAheadShare,
		pollHolds:     fetchMemoryPerFetch * int(fetchMax),
	}
}

const (
	// heldShare is the share of kafka.fetch_max_bytes under which the
	// records waiting, mapped or not, let the poll loop take more before
	// they are all handed on (64 KiB with the 512 KiB default): a fetch
	// taken whole is seldom that small, so the loop takes more mostly once
	// the records waiting are nearly all handed on, and franz-go's next
	// fetch per broker is what waits meanwhile, not a second one in the
	// loop's hands.
	heldShare = 8
	// mapAheadShare is the share of kafka.fetch_max_bytes the mapped records
	// waiting may hold before the poll loop maps no more (32 KiB with the
	// 512 KiB default: a round of mapWorkerMin identify events; dropped
	// records hold only their offset, so a fetch of noise is mapped at once).
	// Zoho, not mapping, bounds a CRM backlog (BenchmarkZohoBound).
	mapAheadShare = 16
	// heldPastPollPerFetch is how many times kafka.fetch_max_bytes the
	// records handed on may hold (polledRecord.held), in the batcher
	// (batcher.Config.MaxBufferedBytes) and, apart, waiting for dead-letter
	// writes: 8 MiB with the 512 KiB default, some 5,000 identify events of
	// 600 bytes (batch.max_buffered's 1,200 bind first) but 400 of 20 KB, so
	// that large events do not hold batch.max_buffered times their size.
	heldPastPollPerFetch = 16
)

// noWait is the nil context with which PollFetches returns at once, with
// what franz-go has buffered.
var noWait context.Context

// take queues a poll's records by partition, unmapped. It reports false
// once ctx ends or the client is closed.
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
	waiting, held := q.waiting, q.held
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		part := p.offsets.Partition(fp.Topic, fp.Partition)
		if part == nil {
			return // revoked while this fetch was buffered
		}
		part.SetHighWatermark(fp.HighWatermark)
		q.add(part, fp.Records)
	})
	if n := q.waiting - waiting; n > 0 {
		q.perRecord = max((q.held-held)/n, 1)
		p.m.consumed.Add(int64(n))
	}
	return true
}

// mapAhead maps the records waiting, in rounds that each take the next
// unmapped records of every run alike, until none is left unmapped or the
// mapped ones waiting hold mapAheadBelow of memory. A round maps no more
// than that memory leaves room for were every record kept
// (heldRecordOverhead each), at least mapWorkerMin and at most mapRoundMax
// per core; dropped records count in held but not here. So the mapped
// records waiting hold less than mapAheadBelow plus a round's key and value
// bytes, and a run whose next record is unmapped gets it mapped once they
// hold less than mapAheadBelow.
func (p *Pipeline) mapAhead(q *pollQueue) {
	for q.unmapped > 0 && q.mappedHeld < q.mapAheadBelow {
		n := min(max((q.mapAheadBelow-q.mappedHeld)/heldRecordOverhead, mapWorkerMin), mapRoundMax*runtime.GOMAXPROCS(0))
		round := q.nextRound(n)
		p.mapAll(round)
		for _, r := range round {
			for i := range r.recs {
				q.held += int(r.recs[i].held)
				if r.recs[i].m != nil { // a dropped record costs no mapping ahead
					q.mappedHeld += int(r.recs[i].held)
				}
			}
			q.unmapped -= len(r.recs)
			q.advanceMapped(r.sp, len(r.recs))
		}
	}
}

// advanceMapped counts n more records of sp mapped; once all are, the
// fetched records they came in no longer count as held.
func (q *pollQueue) advanceMapped(sp *span, n int) {
	if sp.mapped += n; sp.mapped == sp.to {
		q.held -= sp.fetched
		sp.fetched = 0
	}
}

// mapRoundMax is the most records one round of mapAhead maps per core.
const mapRoundMax = 1024

// roundPart is a run's share of a mapAhead round: recs, the next unmapped
// records of span sp.
type roundPart struct {
	sp   *span
	recs []polledRecord
}

// nextRound picks about n unmapped records to map next, as many from every
// run that has some (at least one each), each run's earliest.
func (q *pollQueue) nextRound(n int) []roundPart {
	var round []roundPart
	for i := range q.runs {
		if sp := q.runs[i].firstUnmapped(); sp != nil {
			round = append(round, roundPart{sp: sp})
		}
	}
	each := max(n/max(len(round), 1), 1)
	for i := range round {
		sp := round[i].sp
		round[i].recs = q.recs[sp.mapped:min(sp.mapped+each, sp.to)]
	}
	return round
}

// pollQueue holds the polled records until they are handed on.
type pollQueue struct {
	// recs are the records polled, in poll order; the runs' spans of it
	// wait, the rest is handed on.
	recs []polledRecord
	// runs are the partitions with records waiting, at most one per
	// assignment.
	runs []partitionRun
	// next is the run the next hand-on visits first (round-robin).
	next int
	// waiting counts the records waiting and unmapped those of them not
	// mapped yet; mappedHeld is the memory the mapped ones to deliver or
	// dead-letter hold (polledRecord.held), and held that, the dropped
	// ones' and the memory of the fetched records of every span not all
	// mapped (span.fetched).
	waiting, held, unmapped, mappedHeld int
	// topUpBelow is the memory held under which the poll loop takes more
	// from franz-go before the records waiting are all handed on, and
	// mapAheadBelow the memory of mapped records waiting under which it
	// maps more of them.
	topUpBelow, mapAheadBelow int
	// pollHolds is the memory one poll takes at most, in records of
	// perRecord bytes each (pollRecords): what one fetch may hold
	// (fetchMemoryPerFetch), so that a poll takes about one broker's fetch,
	// not every broker's; perRecord is what a record of the last poll held
	// as fetched (span.fetched per record), 0 before the first.
	pollHolds, perRecord int
}

// partitionRun is one partition assignment's records waiting, in offset
// order: the spans of recs, first to last. Its mapped records come first:
// the spans before the first with unmapped records are all mapped.
type partitionRun struct {
	part  *watermark.Partition
	spans []span
}

// firstUnmapped is run's first span with unmapped records; nil when none has.
func (run *partitionRun) firstUnmapped() *span {
	for j := range run.spans {
		if sp := &run.spans[j]; sp.mapped < sp.to {
			return sp
		}
	}
	return nil
}

// span is recs[from:to] of a pollQueue, of which recs[from:mapped] are
// mapped and recs[mapped:to] not yet.
type span struct {
	from, mapped, to int
	// fetched estimates the memory of the span's records as fetched, in
	// bytes, until all are mapped: a kgo.Record each and their share of
	// the decompressed batches they came in, which stay alive as long as
	// any of their records is unmapped. A span is one partition's records
	// of a poll, so it holds whole batches.
	fetched int
}

func (q *pollQueue) empty() bool { return len(q.runs) == 0 }

// pollRecords is the most records the next poll takes (kgo.PollRecords; -1
// for all that franz-go has buffered, before a record's size is known):
// pollHolds' worth of the last poll's records. franz-go fetches again from a
// broker only once its buffered fetch is taken whole, so polling every
// broker's fetch at once would have each fetched twice over, a fetch in the
// loop's hands and the next buffered: for events of 20 KB compressed 40:1,
// whose fetches are each a whole producer batch (4 MiB uncompressed) however
// small they are asked, 110 MB with three brokers (BenchmarkPeakRSS).
// Taking less than a whole fetch instead delays the broker's next fetch: a
// poll of 1 MiB's worth cost the mix a third of its throughput
// (BenchmarkPipelineMix), one of pollHolds nothing.
func (q *pollQueue) pollRecords() int {
	if q.perRecord == 0 {
		return -1
	}
	return max(q.pollHolds/q.perRecord, 1)
}

// add queues a partition's fetched records (in offset order), unmapped,
// after those of the partition already waiting.
func (q *pollQueue) add(part *watermark.Partition, recs []*kgo.Record) {
	if len(recs) == 0 {
		return
	}
	sp := span{from: len(q.recs), mapped: len(q.recs)}
	for _, r := range recs {
		sp.fetched += int(unsafe.Sizeof(polledRecord{})+unsafe.Sizeof(*r)) + len(r.Key) + len(r.Value)
		q.recs = append(q.recs, polledRecord{rec: r})
	}
	q.held += sp.fetched
	sp.to = len(q.recs)
	q.waiting += len(recs)
	q.unmapped += len(recs)
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
		sp.from, sp.mapped, sp.to = n, n+sp.mapped-sp.from, n+k
		n += k
	}
	clear(q.recs[n:])
	q.recs = q.recs[:n]
}

// handOn hands on waiting records until every run is empty or waits for
// room or for its next record to be mapped: visiting the runs round-robin,
// each visit hands on the run's dropped records up to its next record that
// costs room (a place in the batcher, or in the dead-letter queue for a
// rejected one, each within its bytes: batcher.Config.Fits) and that
// record, room permitting. A run of a revoked partition is dropped. It
// reports whether a run's next record waits for room.
func (p *Pipeline) handOn(ctx context.Context, q *pollQueue) bool {
	st, cfg := p.batches.Stats(), p.batches.Config()
	room := handOnRoom{
		batch: heldRoom{cfg: cfg, held: st.Held, bytes: st.HeldBytes},
		// The dead-letter queue takes as much as the batcher.
		reject: heldRoom{cfg: cfg, held: len(p.rejects), bytes: int(p.rejectsBytes.Load())},
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
		p.deadLetterAsync(room.rejects, room.rejectSources, room.reject.taken)
	}
	return room.full
}

// handOnRoom is what one hand-on may still take, in the batcher and in the
// dead-letter queue, and what it collected: the drop counts and the
// dead-letter records.
type handOnRoom struct {
	batch, reject heldRoom
	// full is set once a run's next record found no room.
	full          bool
	dropped       [dropReasons]int64
	rejects       []dlq.Record
	rejectSources []delivery.Source
}

// heldRoom counts a hand-on's room in the batcher or the dead-letter queue
// as batcher.Config.Fits does: the records held and the bytes they hold
// (polledRecord.held) as at the start of the hand-on, plus the records it
// took since; taken is their bytes.
type heldRoom struct {
	cfg                batcher.Config
	held, bytes, taken int
}

// take counts a record of size bytes in, if it fits; it reports whether it did.
func (r *heldRoom) take(size int) bool {
	if !r.cfg.Fits(r.held, r.bytes, size) {
		return false
	}
	r.held++
	r.bytes += size
	r.taken += size
	return true
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
		if sp := run.spans[0]; sp.from == sp.mapped {
			return moved // its next record is not mapped yet
		}
		pr := q.head(run)
		if pr.m != nil { // dropped records cost no room
			to := &room.batch
			if pr.m.Outcome == mapping.OutcomeReject {
				to = &room.reject
			}
			if !to.take(int(pr.held)) {
				room.full = true
				return moved
			}
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
	if sp.from < sp.mapped {
		if pr.m != nil {
			q.mappedHeld -= int(pr.held)
		}
		q.held -= int(pr.held)
	} else { // unmapped: a released partition's
		q.unmapped--
		q.advanceMapped(sp, 1)
	}
	if sp.from++; sp.from == sp.to {
		run.spans = run.spans[1:]
	}
	q.waiting--
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
	// offset and leaderEpoch are the record's once mapped (a dropped one is
	// tracked by them alone).
	offset      int64
	leaderEpoch int32
	// held estimates the memory the record holds while it waits once
	// mapped, in bytes (until then its span counts it, span.fetched).
	held int32
	// drop is a dropped record's reason, as dropIndex numbers them.
	drop uint8
}

// heldRecordOverhead estimates what a record to deliver or dead-letter
// holds beside its key, its value and its Zoho record's values while it
// waits: its kgo.Record, its mapping.Mapped and the Zoho record's fields
// (TestHeldCoversMappedMemory).
const heldRecordOverhead = 1 << 10

// mapWorkerMin is the fewest records worth a mapping goroutine of their own.
const mapWorkerMin = 64

// mapAll maps the records of a round, on every core when the round is large
// enough: mapping is the poll loop's main cost, and the Mapper is safe for
// concurrent use. The round is cut in pieces of a core's share, so a round
// of one run is mapped on every core too. Order does not matter here;
// handOn keeps each partition's offset order afterwards.
func (p *Pipeline) mapAll(round []roundPart) {
	total := 0
	for _, r := range round {
		total += len(r.recs)
	}
	workers := min(runtime.GOMAXPROCS(0), total/mapWorkerMin)
	if workers <= 1 {
		for _, r := range round {
			p.mapEach(r.recs)
		}
		return
	}
	share := (total + workers - 1) / workers
	var pieces [][]polledRecord
	for _, r := range round {
		for recs := r.recs; len(recs) > 0; {
			n := min(share, len(recs))
			pieces, recs = append(pieces, recs[:n]), recs[n:]
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(pieces)); i = next.Add(1) - 1 {
				p.mapEach(pieces[i])
			}
		})
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
		held := int(unsafe.Sizeof(*pr)) + heldRecordOverhead + len(pr.rec.Key) + len(pr.rec.Value)
		for _, f := range m.Record {
			held += len(f.Value) // a copy of the value's bytes it was mapped from
		}
		pr.held = int32(min(held, math.MaxInt32))
	}
}

// waitForRelease waits until changed (batcher.Changed, taken before the
// hand-on looked at the room) is closed or a dead-letter write ends, either
// of which may make room; false once ctx ends.
func (p *Pipeline) waitForRelease(ctx context.Context, changed <-chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-changed:
	case <-p.rejectsFreed:
	}
	return true
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
	if err := p.batches.Add(ctx, batcher.Item[delivery.Source]{Key: m.Key, Record: m.Record, Size: int(pr.held), Source: delivery.Source{Part: part, Rec: r, Omitted: m.Omitted, Untyped: m.Untyped}}); err != nil {
		p.log.Debug("record not batched: shutting down", zap.Error(err))
	}
	return nil
}

// deadLetterAsync writes records the poll loop rejected, holding size bytes,
// without blocking the poll loop; each is done once the dead-letter topic
// acknowledged it.
func (p *Pipeline) deadLetterAsync(recs []dlq.Record, srcs []delivery.Source, size int) {
	for range recs {
		p.rejects <- struct{}{} // never blocks: the poll took no more than there was room for
	}
	p.rejectsBytes.Add(int64(size))
	p.rejectsWG.Add(1)
	go func() {
		defer p.rejectsWG.Done()
		defer func() {
			p.rejectsBytes.Add(-int64(size))
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
