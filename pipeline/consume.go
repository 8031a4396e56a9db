package pipeline

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/watermark"
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
			part := p.offsets.Partition(fp.Topic, fp.Partition)
			if part == nil {
				return // revoked while this fetch was buffered
			}
			part.SetHighWatermark(fp.HighWatermark)
			for _, r := range fp.Records {
				polled = append(polled, polledRecord{part: part, rec: r})
			}
		})
		p.mapAll(polled)
		p.m.consumed.Add(int64(len(polled)))
		var rejects []dlq.Record
		var rejectSources []delivery.Source
		var dropped [dropReasons]int64
		for i := range polled {
			if d := p.process(ctx, &polled[i], &dropped); d != nil {
				rejects = append(rejects, *d)
				rejectSources = append(rejectSources, delivery.Source{Part: polled[i].part, Rec: polled[i].rec})
			}
		}
		p.m.addDropped(dropped)
		if len(rejects) > 0 {
			p.deadLetterAsync(rejects, rejectSources)
		}
		clear(polled) // the records kept are detached copies, owned by the batcher and the dead-letter writer
		p.cl.AllowRebalance()
	}
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

// waitForRoom returns how many records the next poll may take: the room left
// in the batcher and in the dead-letter queue. While there is none it waits
// for the batcher to release items or a dead-letter write to end.
func (p *Pipeline) waitForRoom(ctx context.Context) (int, bool) {
	for {
		if room := p.room(); room > 0 {
			return room, true
		}
		changed := p.batches.Changed()
		if room := p.room(); room > 0 { // released before Changed was taken
			return room, true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-changed:
		case <-p.rejectsFreed:
		}
	}
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
