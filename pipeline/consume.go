package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
)

// pollLoop fetches, decides and hands on records until ctx ends. It only polls
// as many records as the batcher and the dead-letter queue have room for, so
// processing a poll never blocks (and never holds up a rebalance, which
// BlockRebalanceOnPoll lets run only between polls): a full pipeline stops
// fetching instead of buffering without limit.
func (p *Pipeline) pollLoop(ctx context.Context) {
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
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) {
				p.log.Warn("fetch error", zap.String("topic", topic), zap.Int32("partition", partition), zap.Error(err))
			}
		})
		var rejects []dlq.Record
		var rejectSources []source
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			part := p.offsets.partition(fp.Topic, fp.Partition)
			if part == nil {
				return // revoked while this fetch was buffered
			}
			part.setHighWatermark(fp.HighWatermark)
			for _, r := range fp.Records {
				if d := p.process(ctx, part, r); d != nil {
					rejects = append(rejects, *d)
					rejectSources = append(rejectSources, source{part, r})
				}
			}
		})
		if len(rejects) > 0 {
			p.deadLetterAsync(rejects, rejectSources)
		}
		p.cl.AllowRebalance()
	}
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

// process decides one record: dropped records are done at once, usable ones go
// to the batcher, and the others come back as dead-letter records to write.
func (p *Pipeline) process(ctx context.Context, part *partitionOffsets, r *kgo.Record) *dlq.Record {
	p.m.consumed.Add(1)
	m := p.mapper.Map(r.Value)
	switch m.Outcome {
	case OutcomeDrop:
		if part.trackDone(r) {
			p.m.addDropped(string(m.Drop), 1)
		}
		return nil
	case OutcomeReject:
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
// contract's headers, key and value byte for byte).
func (p *Pipeline) deadLetterRecord(r *kgo.Record, code, message, field string, details, zohoRecord []byte) dlq.Record {
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
	}
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

// writeDeadLetters writes records to the dead-letter topic, retrying until they
// are acknowledged (fetching pauses meanwhile), then marks their sources done.
// When shutdown gives up first, the sources stay pending: not committed.
func (p *Pipeline) writeDeadLetters(recs []dlq.Record, srcs []source) {
	if err := p.dlq.Write(p.sendCtx, recs...); err != nil {
		return
	}
	p.setPaused(pauseDLQ, false, nil)
	for i, r := range recs {
		srcs[i].part.done(srcs[i].rec.Offset)
		p.m.addDeadLettered(r.Code, 1)
	}
}
