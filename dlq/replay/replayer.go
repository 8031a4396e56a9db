package replay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/watermark"
)

// SkipOtherModule is the Skipped reason of a dead-letter record whose
// zoho.module is not the module a Replayer upserts into.
const SkipOtherModule = "other_module"

// Record is a dead-letter record to replay with the replay count its own
// replay.count header says (0 for records the pipeline wrote).
type Record struct {
	dlq.Record
	// Count is the record's replay.count; a dead letter written for it again
	// carries Count+1.
	Count int
}

// Options configure a Replayer.
type Options struct {
	// Group (required) is written as replay.group on every dead-letter
	// record the Replayer writes.
	Group string
	// DLQTopic is the dead-letter topic records that fail again are written to.
	DLQTopic string
	// DLQLimit is the dead-letter topic's record batch limit in bytes
	// (topics.Limits.ProducerLimit; default topics.DefaultMaxMessageBytes).
	DLQLimit int32
	// KafkaOptions connect the dead-letter producer (seed brokers, client
	// id, security); the Replayer adds the producer's sizing.
	KafkaOptions []kgo.Opt
	// Delivery configures the Sender (Zoho, Module, retries, breaker; checked
	// by delivery.Options.Check); its DeadLetters, DLQLimit, Observer and
	// Logger are the Replayer's, its MaxInFlight is Batch.MaxInFlight.
	Delivery delivery.Options
	// Mapping is today's mapping, applied to every record's value.
	Mapping mapping.MapperConfig
	// Batch sizes batches; MaxInFlight is the number of concurrent upsert calls.
	Batch batcher.Config
	// Logger receives the replay's log lines (default: none).
	Logger *zap.Logger
}

// Replayer sends dead-letter records to Zoho again ("consumer dlq replay
// --direct") through the same delivery.Sender the pipeline uses:
//
//	Record ──▶ Mapper (today's mapping) ──▶ batcher ──▶ delivery.Sender (breaker, retries, split) ──▶ Zoho
//	 (key, value  │ drop → skipped                            │ rejected again
//	  byte for    │ reject → dead-letter topic                ▼
//	  byte)       ▼                                   dead-letter topic (new reason)
//
// Each record's value is mapped again with today's MapperConfig, so a
// corrected field mapping applies. A record that fails again is written to
// the dead-letter topic again, with its new reason and its original source.*
// headers: it is never lost. Every dead-letter record it writes also carries
// the replay marks (dlq.HeaderReplayGroup: the Replayer's group;
// dlq.HeaderReplayCount: the input's Count+1), so that the next replay of the
// same group can leave it out instead of sending it again forever.
//
// A replay fails fast instead of waiting on Zoho's rate limits: the first
// time Zoho throttles the token refresh or an upsert, the Replayer stops
// delivering and Replay returns a *ThrottledError (records not yet done stay
// unhandled); a configuration error stops it likewise. Outages (5xx,
// timeouts) are retried and the circuit breaker works as in the pipeline.
//
// A Replayer joins no consumer group and consumes nothing; where replay
// stands in the dead-letter topic is Run's business. It is not safe for
// concurrent use: call Replay from one goroutine, then Close.
type Replayer struct {
	o       Options
	log     *zap.Logger
	mapper  *mapping.Mapper
	sender  *delivery.Sender
	batches *batcher.Batcher[delivery.Source]
	guard   *guard
	cl      *kgo.Client
	// stopped ends when a configuration error, a throttle or Close stops delivery.
	stopped context.Context
	stop    context.CancelFunc
	// counts of the current Replay call
	sent, deadLettered atomic.Int64
}

// NewReplayer checks o (every problem at once) and connects the dead-letter producer.
func NewReplayer(o Options) (*Replayer, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	o.Delivery.MaxInFlight = o.Batch.MaxInFlight
	var problems []error
	if o.Group == "" {
		problems = append(problems, errors.New("no replay group"))
	}
	if o.DLQTopic == "" {
		problems = append(problems, errors.New("no dead-letter topic"))
	}
	problems = append(problems, o.Delivery.Check()...)
	mapper, err := mapping.NewMapper(o.Mapping)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("replay: %w", errors.Join(problems...))
	}
	if o.DLQLimit <= 0 {
		o.DLQLimit = topics.DefaultMaxMessageBytes
	}
	log := o.Logger.With(zap.String("replay_group", o.Group))
	r := &Replayer{o: o, log: log, mapper: mapper}
	r.stopped, r.stop = context.WithCancel(context.Background())
	r.cl, err = kgo.NewClient(append(append([]kgo.Opt{}, o.KafkaOptions...), topics.ProducerOpts(o.DLQLimit)...)...)
	if err != nil {
		return nil, fmt.Errorf("replay: kafka client: %w", err)
	}
	d := o.Delivery
	// A configuration error makes the Sender wait for Stop (the pipeline
	// waits for shutdown), and a throttle would make it wait for minutes: a
	// replay stops on both instead.
	r.guard = &guard{Upserter: d.Zoho, stop: r.stop, log: log}
	d.Zoho = r.guard
	d.DLQLimit = o.DLQLimit
	d.DeadLetters = dlq.NewWriter(r.cl, o.DLQTopic, dlq.WithOnRetry(func(err error) {
		log.Warn("writing to the dead-letter topic failed: replay retries (records that failed again are never dropped)", zap.Error(err))
	}))
	d.Observer = observer{r}
	d.Logger = log
	if r.sender, err = delivery.New(d); err != nil {
		r.cl.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	context.AfterFunc(r.stopped, r.sender.Abandon)
	r.batches = batcher.New(o.Batch, r.sender.Send)
	r.batches.SetMaxInFlight(r.sender.CallLimit())
	return r, nil
}

// Result says what became of the records of one Replay call. Counts are
// of dead-letter records.
type Result struct {
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
	// context ended, or a configuration error or a throttle stopped delivery).
	Handled []bool
}

// Replay maps and delivers recs (in batches of up to Batch.MaxRecords, at
// most Batch.MaxInFlight calls at once, records of one email merged and kept
// in order) and returns once every record is handled. Outages are retried
// until ctx ends, as in the pipeline.
//
// Every dead-letter record written for recs[i] carries replay.group = the
// Replayer's group and replay.count = recs[i].Count+1.
//
// Errors: ctx's error when it ended before every record was handled; a
// configuration error from Zoho (zohoapi.ClassConfig: bad credentials, scope,
// module) or a *ThrottledError, after which the Replayer delivers nothing
// more. In every case Result.Handled says which records are done.
func (r *Replayer) Replay(ctx context.Context, recs []Record) (Result, error) {
	stop := context.AfterFunc(ctx, r.stop)
	defer stop()
	r.sent.Store(0)
	r.deadLettered.Store(0)
	res := Result{Skipped: map[string]int{}, Handled: make([]bool, len(recs))}
	parts := make([]*watermark.Partition, len(recs))
	var rejects []dlq.Record
	var rejectSrcs []delivery.Source
	for i, rr := range recs {
		d := rr.Record
		if r.stopped.Err() != nil {
			break
		}
		m, other := mapDirect(r.mapper, r.o.Delivery.Module, d)
		if other {
			res.Skipped[SkipOtherModule]++
			res.Handled[i] = true
			continue
		}
		src := source(d, dlq.ReplayMark{Group: r.o.Group, Count: rr.Count + 1})
		parts[i] = src.Part
		switch m.Outcome {
		case mapping.OutcomeDrop:
			src.Part.Done(src.Rec.Offset)
			res.Skipped[string(m.Drop)]++
		case mapping.OutcomeReject:
			rejects = append(rejects, r.sender.DeadLetterRecord(src.Rec, m.Reject.Code, m.Reject.Message, m.Reject.Field, []byte(m.Reject.Details), nil))
			rejectSrcs = append(rejectSrcs, src)
		default:
			src.Omitted = m.Omitted
			if err := r.batches.Add(r.stopped, batcher.Item[delivery.Source]{Key: m.Key, Record: m.Record, Source: src}); err != nil {
				r.log.Debug("record not batched: replay stopped", zap.Error(err))
			}
		}
	}
	if len(rejects) > 0 {
		r.sender.DeadLetter(rejects, rejectSrcs)
	}
	// Sends end soon once stopped (ctx, a configuration error or a throttle).
	_ = r.batches.Drain(context.Background())

	res.Sent, res.DeadLettered = int(r.sent.Load()), int(r.deadLettered.Load())
	all := true
	for i, po := range parts {
		if po != nil {
			res.Handled[i] = po.PendingCount() == 0
		}
		all = all && res.Handled[i]
	}
	switch {
	case r.sender.Err() != nil:
		return res, fmt.Errorf("replay stopped by a configuration error: %w", r.sender.Err())
	case r.guard.throttled() != nil:
		return res, r.guard.throttled()
	case ctx.Err() != nil && !all:
		return res, fmt.Errorf("replay: %w", ctx.Err())
	}
	return res, nil
}

// mapDirect is the one step from a dead-letter record to what Replay
// delivers, shared with PreviewDirect so that a dry run shows what a replay
// sends: otherModule when d was meant for another module than module (it is
// skipped), else m's mapping of d's value.
func mapDirect(m *mapping.Mapper, module string, d dlq.Record) (mp mapping.Mapped, otherModule bool) {
	if d.Module != "" && !strings.EqualFold(d.Module, module) {
		return mapping.Mapped{}, true
	}
	return m.Map(d.Value), false
}

// Close stops delivery (records not yet handled stay unhandled) and closes
// the Kafka client.
func (r *Replayer) Close() {
	r.stop()
	r.batches.Close()
	r.cl.Close()
}

// source is the source of a replayed record: the original record as the
// dead-letter headers describe it (so a new dead-letter record keeps the
// original source.* headers and the source record's own headers), carrying
// mark (so a new dead-letter record names this replay), tracked alone so
// that its completion is visible.
func source(d dlq.Record, mark dlq.ReplayMark) delivery.Source {
	rec := &kgo.Record{
		Key:       d.Key,
		Value:     d.Value,
		Headers:   append(dlq.SourceHeaders(d.Extra), mark.Headers()...),
		Topic:     d.SourceTopic,
		Partition: d.SourcePartition,
		Offset:    d.SourceOffset,
		Timestamp: d.SourceTimestamp,
	}
	po := watermark.NewPartition(d.SourceTopic, d.SourcePartition)
	po.Track(rec)
	return delivery.Source{Part: po, Rec: rec}
}

// observer counts what the Sender did and logs the breaker's changes in
// the replay's words; a throttle it would pause for (credits spent, Zoho
// refusing even one call at a time, token throttles) stops the replay (a
// replay fetches nothing: waiting would hang the command for minutes).
type observer struct{ r *Replayer }

func (observer) Called(delivery.Call)               {}
func (observer) Retried()                           {}
func (o observer) Acknowledged(items int, _ string) { o.r.sent.Add(int64(items)) }
func (o observer) DeadLettered(_ string, n int)     { o.r.deadLettered.Add(int64(n)) }

// Paused stops the replay when its upserts would wait: for Zoho API
// credits (Zoho reports the org's credits spent), or for a throttle fewer
// calls cannot fix (ThrottleBackoff, the token mint budget, Zoho throttling
// token requests).
func (o observer) Paused(reason delivery.PauseReason, on bool, cause error) {
	switch {
	case !on:
	case reason == delivery.PauseCreditBudget:
		o.r.guard.noteThrottle(&ThrottledError{At: time.Now(), Err: cause})
	case reason == delivery.PauseZohoThrottled || reason == delivery.PauseTokenBudget || reason == delivery.PauseTokenThrottled:
		o.r.guard.throttledBy(cause)
	}
}
func (o observer) Failed(err error)           { o.r.stop() }
func (o observer) ConcurrencyLimit(limit int) { o.r.batches.SetMaxInFlight(limit) }
func (o observer) BreakerChanged(from, to gobreaker.State, cause error) {
	switch to {
	case gobreaker.StateOpen:
		o.r.log.Warn("Zoho keeps failing: replay waits before trying again (circuit breaker open)",
			zap.Duration("wait", o.r.o.Delivery.BreakerOpenTimeout), zap.String("from", from.String()), zap.NamedError("cause", cause))
	case gobreaker.StateClosed:
		o.r.log.Info("Zoho answers again: replay continues (circuit breaker closed)")
	}
}
