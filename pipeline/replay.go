package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/zohoapi"
)

// SkipOtherModule is the Skipped reason of a dead-letter record whose
// zoho.module is not the module a Replayer upserts into.
const SkipOtherModule = "other_module"

// Replayer sends dead-letter records to Zoho again through the pipeline's own
// delivery path ("consumer dlq replay --direct"):
//
//	dlq.Record ──▶ Mapper (today's mapping) ──▶ batcher ──▶ deliver (breaker, retries, split) ──▶ Zoho
//	 (key, value      │ drop → skipped                                  │ rejected again
//	  byte for byte)  │ reject → dead-letter topic                      ▼
//	                  ▼                                          dead-letter topic (new reason)
//
// Each record's value is mapped again with the Replayer's MapperConfig, so a
// corrected field mapping applies. Batching, merging by email, retries of
// outages, the circuit breaker, the split of requests Zoho rejects as a whole
// and dead-lettering are the Pipeline's, unchanged. A record that fails again
// is written to the dead-letter topic again, with its new reason and its
// original source.* headers: it is never lost.
//
// A Replayer joins no consumer group and consumes nothing; where replay stands
// in the dead-letter topic is the caller's business. It is not safe for
// concurrent use: call Replay from one goroutine, then Close.
type Replayer struct {
	p *Pipeline
}

// NewReplayer validates o and connects a Kafka producer for the dead-letter
// topic. It uses o's Brokers, ClientID, MaxMessageBytes, KafkaOptions,
// DLQTopic, Module, DuplicateCheckFields, Trigger, Zoho, Mapping, Batch, retry
// and breaker settings and Logger, with the defaults documented on Options;
// Topics, Group and the consumer settings are ignored.
func NewReplayer(o Options) (*Replayer, error) {
	o.setDefaults()
	o.Topics, o.Group = nil, ""
	var problems []error
	if len(o.Brokers) == 0 {
		problems = append(problems, errors.New("no Kafka brokers"))
	}
	if o.DLQTopic == "" {
		problems = append(problems, errors.New("no dead-letter topic"))
	}
	if o.Module == "" {
		problems = append(problems, errors.New("no Zoho module"))
	}
	if o.Zoho == nil {
		problems = append(problems, errors.New("no Zoho client"))
	}
	mapper, err := NewMapper(o.Mapping)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pipeline: replay: %w", errors.Join(problems...))
	}
	p := &Pipeline{
		o:         o,
		log:       o.Logger,
		mapper:    mapper,
		offsets:   newOffsetTracker(),
		m:         newMetrics(),
		pausedFor: map[string]bool{},
	}
	p.sendCtx, p.cancelSend = context.WithCancel(context.Background())
	// A configuration error makes deliver wait for the end of sendCtx (the
	// pipeline waits for shutdown); a replay has nothing to wait for.
	p.o.Zoho = stopOnConfigError{Upserter: o.Zoho, stop: p.cancelSend}
	p.breaker = newZohoBreaker(o, p.breakerChanged)
	p.batches = batcher.New(o.Batch, p.send)
	p.cl, err = kgo.NewClient(append(producerOptions(o), o.KafkaOptions...)...)
	if err != nil {
		p.batches.Close()
		return nil, fmt.Errorf("pipeline: replay: kafka client: %w", err)
	}
	p.dlq = dlq.NewWriter(p.cl, o.DLQTopic, dlq.WithOnRetry(func(err error) {
		p.setPaused(pauseDLQ, true, err)
	}))
	return &Replayer{p: p}, nil
}

// ReplayResult says what became of the records of one Replay call. Counts are
// of dead-letter records.
type ReplayResult struct {
	// Sent counts records whose Zoho record Zoho acknowledged (inserted or updated).
	Sent int
	// DeadLettered counts records that failed again and were written to the
	// dead-letter topic with their new reason.
	DeadLettered int
	// Skipped counts records not sent, by reason: a DropReason of today's
	// mapping ("not_crm_event", "no_consent", "tombstone") or SkipOtherModule.
	Skipped map[string]int
	// Handled has one entry per input record: true once it was sent,
	// dead-lettered again or skipped; false when Replay stopped first (the
	// context ended, or a configuration error stopped delivery).
	Handled []bool
}

// SkippedTotal is the sum of Skipped over all reasons.
func (r ReplayResult) SkippedTotal() (n int) {
	for _, v := range r.Skipped {
		n += v
	}
	return n
}

// Replay maps and delivers recs (in batches of up to Batch.MaxRecords, at
// most Batch.MaxInFlight calls at once, records of one email merged and kept
// in order) and returns once every record is handled. Outages are retried
// until ctx ends, as in the pipeline.
//
// Errors: ctx's error when it ended before every record was handled; a
// configuration error from Zoho (zohoapi.ClassConfig: bad credentials, scope,
// module), after which the Replayer delivers nothing more. In both cases
// ReplayResult.Handled says which records are done.
func (r *Replayer) Replay(ctx context.Context, recs []dlq.Record) (ReplayResult, error) {
	p := r.p
	stop := context.AfterFunc(ctx, p.cancelSend)
	defer stop()
	before := p.m.snapshot()
	res := ReplayResult{Skipped: map[string]int{}, Handled: make([]bool, len(recs))}
	parts := make([]*partitionOffsets, len(recs))
	var rejects []dlq.Record
	var rejectSrcs []source
	for i, d := range recs {
		if p.sendCtx.Err() != nil {
			break
		}
		if d.Module != "" && !strings.EqualFold(d.Module, p.o.Module) {
			res.Skipped[SkipOtherModule]++
			res.Handled[i] = true
			continue
		}
		src := replaySource(d)
		parts[i] = src.part
		m := p.mapper.Map(d.Value)
		switch m.Outcome {
		case OutcomeDrop:
			src.part.done(src.rec.Offset)
			res.Skipped[string(m.Drop)]++
		case OutcomeReject:
			rejects = append(rejects, p.deadLetterRecord(src.rec, m.Reject.Code, m.Reject.Message, m.Reject.Field, []byte(m.Reject.Details), nil))
			rejectSrcs = append(rejectSrcs, src)
		default:
			if err := p.batches.Add(p.sendCtx, batcher.Item[source]{Key: m.Key, Record: m.Record, Source: src}); err != nil {
				p.log.Debug("record not batched: replay stopped", zap.Error(err))
			}
		}
	}
	if len(rejects) > 0 {
		p.writeDeadLetters(rejects, rejectSrcs)
	}
	// Sends end soon once sendCtx ends (ctx or a configuration error).
	_ = p.batches.Drain(context.Background())

	after := p.m.snapshot()
	res.Sent = int(after.Delivered - before.Delivered)
	res.DeadLettered = int(after.DeadLetteredTotal() - before.DeadLetteredTotal())
	for i, po := range parts {
		if po != nil {
			res.Handled[i] = po.pendingCount() == 0
		}
	}
	p.stateMu.Lock()
	cfgErr := p.configErr
	p.stateMu.Unlock()
	switch {
	case cfgErr != nil:
		return res, fmt.Errorf("pipeline: replay stopped by a configuration error: %w", cfgErr)
	case ctx.Err() != nil && !allTrue(res.Handled):
		return res, fmt.Errorf("pipeline: replay: %w", ctx.Err())
	}
	return res, nil
}

// Stats returns what the Replayer did so far, counted as the Pipeline counts
// (Delivered, DeadLettered, ZohoCalls, CreditsUsed, Retries, …).
func (r *Replayer) Stats() Stats { return r.p.m.snapshot() }

// Close stops delivery (records not yet handled stay unhandled) and closes
// the Kafka client.
func (r *Replayer) Close() {
	r.p.cancelSend()
	r.p.batches.Close()
	r.p.cl.Close()
}

// replaySource is the source of a replayed record: the original record as the
// dead-letter headers describe it (so a new dead-letter record keeps the
// original source.* headers), tracked alone so that its completion is visible.
func replaySource(d dlq.Record) source {
	rec := &kgo.Record{
		Key:       d.Key,
		Value:     d.Value,
		Topic:     d.SourceTopic,
		Partition: d.SourcePartition,
		Offset:    d.SourceOffset,
		Timestamp: d.SourceTimestamp,
	}
	po := &partitionOffsets{tp: topicPartition{d.SourceTopic, d.SourcePartition}, next: -1, committed: -1, highWatermark: -1}
	po.track(rec)
	return source{part: po, rec: rec}
}

func allTrue(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

// stopOnConfigError calls stop when Zoho answers with a configuration error,
// at request level or for a record.
type stopOnConfigError struct {
	Upserter
	stop func()
}

// Upsert forwards the call and watches its answer.
func (s stopOnConfigError) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	res, err := s.Upserter.Upsert(ctx, r)
	switch {
	case err != nil:
		if zohoapi.Classify(err) == zohoapi.ClassConfig {
			s.stop()
		}
	case res != nil:
		for _, rr := range res.Results {
			if rr.Err != nil && zohoapi.ClassifyRecord(rr.Err) == zohoapi.ClassConfig {
				s.stop()
			}
		}
	}
	return res, err
}
