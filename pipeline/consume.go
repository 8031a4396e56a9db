package pipeline

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
)

// pollLoop fetches, decides and hands on records until ctx ends. It only polls
// as many records as the batcher and the dead-letter queue have room for, so
// processing a poll never blocks (and never holds up a rebalance, which
// BlockRebalanceOnPoll lets run only between polls): a full pipeline stops
// fetching instead of buffering without limit.
func (p *Pipeline) pollLoop(ctx context.Context) {
	var polled []polledRecord // reused across polls
	for {
		room, ok := p.waitForRoom(ctx)
		if !ok {
			return
		}
		fetches := p.cl.PollRecords(ctx, room)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			p.cl.AllowRebalance()
			return
		}
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) {
				p.kafkaFailed(err) // logged once per outage; readiness fails meanwhile
			}
		})
		polled = polled[:0]
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			part := p.offsets.partition(fp.Topic, fp.Partition)
			if part == nil {
				return // revoked while this fetch was buffered
			}
			part.setHighWatermark(fp.HighWatermark)
			for _, r := range fp.Records {
				polled = append(polled, polledRecord{part: part, rec: r})
			}
		})
		p.mapAll(polled)
		p.m.consumed.Add(int64(len(polled)))
		var rejects []dlq.Record
		var rejectSources []source
		var dropped [dropReasons]int64
		for i := range polled {
			if d := p.process(ctx, &polled[i], &dropped); d != nil {
				rejects = append(rejects, *d)
				rejectSources = append(rejectSources, source{polled[i].part, polled[i].rec})
			}
		}
		p.m.addDropped(dropped)
		if len(rejects) > 0 {
			p.deadLetterAsync(rejects, rejectSources)
		}
		clear(polled) // the records now belong to the batcher and the dead-letter writer
		p.cl.AllowRebalance()
	}
}

// polledRecord is one record of a poll, with its partition assignment and the
// mapper's decision.
type polledRecord struct {
	part *partitionOffsets
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

// waitForRoom returns how many records the next poll may take: the room left
// in the batcher and in the dead-letter queue. It waits while there is none.
func (p *Pipeline) waitForRoom(ctx context.Context) (int, bool) {
	for {
		s := p.batches.Stats()
		room := min(p.batches.Config().MaxBuffered-s.Held, cap(p.rejects)-len(p.rejects))
		if room > 0 {
			return room, true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// process hands on one mapped record: dropped records are done at once (and
// counted in dropped), usable ones go to the batcher, and the others come back
// as dead-letter records to write.
func (p *Pipeline) process(ctx context.Context, pr *polledRecord, dropped *[dropReasons]int64) *dlq.Record {
	part, r, m := pr.part, pr.rec, &pr.m
	switch m.Outcome {
	case mapping.OutcomeDrop:
		if part.trackDone(r) {
			dropped[dropIndex(m.Drop)]++
		}
		return nil
	case mapping.OutcomeReject:
		if !part.track(r) {
			return nil
		}
		d := p.deadLetterRecord(r, m.Reject.Code, m.Reject.Message, m.Reject.Field, []byte(m.Reject.Details), nil)
		return &d
	}
	if !part.track(r) {
		return nil
	}
	// The poll took no more records than the batcher has room for, so Add does not block.
	if err := p.batches.Add(ctx, batcher.Item[source]{Key: m.Key, Record: m.Record, Source: source{part, r}}); err != nil {
		p.log.Debug("record not batched: shutting down", zap.Error(err))
	}
	return nil
}

// deadLetterRecord builds the dead-letter record of a source record (the
// contract's headers, key and value byte for byte). When the Zoho record sent
// (which repeats the value's content) would make the dead-letter record larger
// than the dead-letter producer's limit (the dead-letter topic's
// max.message.bytes, see prepareTopics), zoho.record is left out and the message says so: a
// record the source topic accepted must fit the dead-letter topic too.
func (p *Pipeline) deadLetterRecord(r *kgo.Record, code, message, field string, details, zohoRecord []byte) dlq.Record {
	if len(r.Key)+len(r.Value)+len(details)+len(zohoRecord)+topics.DLQHeaderRoom > int(p.dlqLimit.Load()) && len(zohoRecord) > 0 {
		zohoRecord = nil
		message += " (zoho.record left out: the dead-letter record would exceed the dead-letter topic's max.message.bytes)"
	}
	return dlq.Record{
		Key:             r.Key,
		Value:           r.Value,
		Code:            code,
		Message:         message,
		Field:           field,
		Details:         details,
		SourceTopic:     r.Topic,
		SourcePartition: r.Partition,
		SourceOffset:    r.Offset,
		SourceTimestamp: r.Timestamp,
		Module:          p.o.Module,
		ZohoRecord:      zohoRecord,
		FailedAt:        time.Now().UTC(),
		Extra:           replayMarks(r.Headers),
	}
}

// replayMarks are the replay headers of a record that `consumer dlq replay
// --to-source` put back on its source topic, so that its new dead letter names
// the replay and the same replay does not offer it again; nil for others.
func replayMarks(headers []kgo.RecordHeader) []kgo.RecordHeader {
	if m := ReplayMarkOf(headers); m.Group != "" {
		return m.Headers()
	}
	return nil
}

// deadLetterAsync writes records the poll loop rejected, without blocking the
// poll loop; each is done once the dead-letter topic acknowledged it.
func (p *Pipeline) deadLetterAsync(recs []dlq.Record, srcs []source) {
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
		}()
		p.writeDeadLetters(recs, srcs)
	}()
}

// writeDeadLetters writes records to the dead-letter topic and marks their
// sources done once acknowledged; see claimDeadLetters and deadLetters.write.
func (p *Pipeline) writeDeadLetters(recs []dlq.Record, srcs []source) {
	p.claimDeadLetters(recs, srcs).write(p)
}

// deadLetters are dead-letter records grouped by source partition, each group
// holding a claim on its partition until its write ends.
type deadLetters []deadLetterGroup

type deadLetterGroup struct {
	part *partitionOffsets
	recs []dlq.Record
	srcs []source
}

// claimDeadLetters groups records by source partition and claims each
// partition; records of partitions already released are left to their new owner.
func (p *Pipeline) claimDeadLetters(recs []dlq.Record, srcs []source) deadLetters {
	var out deadLetters
	var refused []*partitionOffsets
next:
	for i, src := range srcs {
		for g := range out {
			if out[g].part == src.part {
				out[g].recs, out[g].srcs = append(out[g].recs, recs[i]), append(out[g].srcs, src)
				continue next
			}
		}
		if slices.Contains(refused, src.part) || !src.part.claim() {
			refused = appendNew(refused, src.part)
			continue
		}
		out = append(out, deadLetterGroup{part: src.part, recs: []dlq.Record{recs[i]}, srcs: []source{src}})
	}
	return out
}

// write writes each group (concurrently when there are several), retrying
// until the dead-letter topic acknowledges it (fetching pauses meanwhile),
// and then marks its sources done. A group's retrying ends at shutdown or when
// its partition is released, so a revocation waits only for an attempt under
// way; an attempt goes on until the grace ends. Sources not acknowledged stay
// pending, uncommitted.
func (dl deadLetters) write(p *Pipeline) {
	if len(dl) == 1 {
		dl[0].write(p)
		return
	}
	var wg sync.WaitGroup
	for _, g := range dl {
		wg.Go(func() { g.write(p) })
	}
	wg.Wait()
}

func (g deadLetterGroup) write(p *Pipeline) {
	defer g.part.unclaim()
	retry, cancel := untilClosed(p.stopCtx, []<-chan struct{}{g.part.released})
	defer cancel()
	if err := p.dlq.WriteUntil(p.sendCtx, retry, g.recs...); err != nil {
		return
	}
	p.setPaused(pauseDLQ, false, nil)
	for i, r := range g.recs {
		g.srcs[i].part.done(g.srcs[i].rec.Offset)
		p.m.addDeadLettered(r.Code, 1)
	}
}
