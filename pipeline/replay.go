package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// SkipOtherModule is the Skipped reason of a dead-letter record whose
// zoho.module is not the module a Replayer upserts into.
const SkipOtherModule = "other_module"

// Header names of the replay marks: a Replayer adds both to every
// dead-letter record it writes, and "consumer dlq replay --to-source" adds
// both to every record it produces back to a source topic. Values are
// UTF-8 strings. The dead-letter contract's headers are unchanged.
const (
	// HeaderReplayGroup names the replay that wrote the record: the
	// consumer group keeping that replay's position in the dead-letter topic.
	// A replay skips the records its own group wrote (they already failed
	// again under it), so running it again sends nothing new.
	HeaderReplayGroup = "replay.group"
	// HeaderReplayCount is how many replays the record has been through,
	// decimal: 1 for the dead letter of a record's first replay. Records the
	// pipeline wrote have no replay headers (count 0).
	HeaderReplayCount = "replay.count"
)

// ReplayMark is a record's replay marks: the group of the replay that wrote
// it and its replay count. The zero value is "never replayed".
type ReplayMark struct {
	// Group is the replay.group header, "" when absent.
	Group string
	// Count is the replay.count header, 0 when absent or not a number ≥ 0.
	Count int
}

// ReplayMarkOf reads the replay marks of a Kafka record's headers (the last
// of repeated headers wins).
func ReplayMarkOf(headers []kgo.RecordHeader) ReplayMark {
	var m ReplayMark
	for _, h := range headers {
		switch h.Key {
		case HeaderReplayGroup:
			m.Group = string(h.Value)
		case HeaderReplayCount:
			if n, err := strconv.Atoi(string(h.Value)); err == nil && n >= 0 {
				m.Count = n
			}
		}
	}
	return m
}

// Headers returns m as the two replay headers.
func (m ReplayMark) Headers() []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: HeaderReplayGroup, Value: []byte(m.Group)},
		{Key: HeaderReplayCount, Value: []byte(strconv.Itoa(m.Count))},
	}
}

// ReplayRecord is a dead-letter record to replay with the replay count its
// own replay.count header says (0 for records the pipeline wrote).
type ReplayRecord struct {
	dlq.Record
	// Count is the record's replay.count; a dead letter written for it again
	// carries Count+1.
	Count int
}

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
// original source.* headers: it is never lost. Every dead-letter record it
// writes also carries the replay marks (HeaderReplayGroup: the Replayer's
// group; HeaderReplayCount: the input's Count+1), so that the next replay of
// the same group can leave it out instead of sending it again forever.
//
// A replay fails fast instead of waiting on Zoho's rate limits: the first
// time Zoho throttles the token refresh or an upsert, the Replayer stops
// delivering and Replay returns a *ThrottledError (records not yet done stay
// unhandled). Outages (5xx, timeouts) are retried and the circuit breaker
// works as in the pipeline. Its log lines speak of the replay (a replay
// fetches nothing, so nothing about pausing fetches is logged).
//
// A Replayer joins no consumer group and consumes nothing; where replay stands
// in the dead-letter topic is the caller's business. It is not safe for
// concurrent use: call Replay from one goroutine, then Close.
type Replayer struct {
	p     *Pipeline
	guard *replayGuard
	group string
}

// NewReplayer validates o and connects a Kafka producer for the dead-letter
// topic; group (required) is written as replay.group on every dead-letter
// record the Replayer writes. It uses o's Brokers, ClientID, MaxMessageBytes, KafkaOptions,
// DLQTopic, Module, DuplicateCheckFields, Trigger, Zoho, Mapping, Batch, retry
// and breaker settings and Logger, checked as New checks them; Topics and
// Group are ignored.
func NewReplayer(o Options, group string) (*Replayer, error) {
	problems := o.check()
	o.Topics, o.Group = nil, ""
	mapper, more := checkDelivery(o)
	problems = append(problems, more...)
	if group == "" {
		problems = append(problems, errors.New("no replay group"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pipeline: replay: %w", errors.Join(problems...))
	}
	log := o.Logger.With(zap.String("replay_group", group))
	p := &Pipeline{
		o:         o,
		log:       log,
		mapper:    mapper,
		offsets:   newOffsetTracker(),
		m:         newMetrics(),
		pausedFor: map[string]bool{},
	}
	r := &Replayer{p: p, group: group}
	p.sendCtx, p.cancelSend = context.WithCancel(context.Background())
	p.stopCtx, p.cancelStop = p.sendCtx, p.cancelSend
	// A configuration error makes deliver wait for the end of sendCtx (the
	// pipeline waits for shutdown), and a throttle would make it wait for
	// minutes: a replay stops on both instead.
	r.guard = &replayGuard{Upserter: o.Zoho, stop: p.cancelSend, log: log}
	p.o.Zoho = r.guard
	p.breaker = newZohoBreaker(o, func(_ string, from, to gobreaker.State) {
		switch to {
		case gobreaker.StateOpen:
			log.Warn("Zoho keeps failing: replay waits before trying again (circuit breaker open)",
				zap.Duration("wait", o.BreakerOpenTimeout), zap.String("from", from.String()))
		case gobreaker.StateClosed:
			log.Info("Zoho answers again: replay continues (circuit breaker closed)")
		}
	})
	p.batches = batcher.New(o.Batch, p.send)
	var err error
	limit := topics.Limits{}.ProducerLimit(o.MaxMessageBytes)
	p.dlqLimit.Store(limit)
	p.cl, err = kgo.NewClient(append(producerOptions(o, limit), o.KafkaOptions...)...)
	if err != nil {
		p.batches.Close()
		return nil, fmt.Errorf("pipeline: replay: kafka client: %w", err)
	}
	p.dlq = dlq.NewWriter(p.cl, o.DLQTopic, dlq.WithOnRetry(func(err error) {
		log.Warn("writing to the dead-letter topic failed: replay retries (records that failed again are never dropped)", zap.Error(err))
	}))
	return r, nil
}

// ThrottledError ends a replay when Zoho throttles it: the token endpoint
// refused to mint an access token (Zoho allows 10 per 10 minutes per refresh
// token; "Access Denied", zohoapi.TokenError.Throttled) or the local mint
// budget that keeps under that limit is spent (zohoapi.MintWaitError), or an upsert was
// answered 429 TOO_MANY_REQUESTS or LIMIT_EXCEEDED (the day's API credits or
// the concurrency limit used up; zoho-crm-api.md "API Limits"). Waiting it
// out inside one command would hang it for minutes: run the replay again later.
type ThrottledError struct {
	// Token is true for the token endpoint's throttle, false for upserts.
	Token bool
	// At is when Zoho refused.
	At time.Time
	// Err is the zohoapi error (a *zohoapi.TokenError or *zohoapi.APIError,
	// or a *zohoapi.RecordError for a record-level throttle).
	Err error
}

// TokenWindow is Zoho's token-refresh window: 10 access tokens per refresh
// token per 10 minutes (zoho-crm-api.md "OAuth 2.0").
const TokenWindow = zohoapi.MintWindow

// RetryAfter is when a new attempt should succeed: for the local mint budget
// (a *zohoapi.MintWaitError) the time it names; for a token throttle At +
// TokenWindow (an upper bound: Zoho does not say when the oldest token of the
// window was minted); zero for upserts (Zoho documents no Retry-After).
func (e *ThrottledError) RetryAfter() time.Time {
	var wait *zohoapi.MintWaitError
	if errors.As(e.Err, &wait) {
		return wait.Until
	}
	if e.Token {
		return e.At.Add(TokenWindow)
	}
	return time.Time{}
}

// Error says what Zoho throttled and wraps Zoho's error text.
func (e *ThrottledError) Error() string {
	if e.Token {
		return fmt.Sprintf("replay stopped: Zoho throttled token refreshes (10 per 10 minutes per refresh token), try again after ~%s: %v",
			e.RetryAfter().Format("15:04:05 MST"), e.Err)
	}
	return fmt.Sprintf("replay stopped: Zoho throttled the upserts (API credits or concurrency exhausted): %v", e.Err)
}

// Unwrap returns the zohoapi error.
func (e *ThrottledError) Unwrap() error { return e.Err }

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
// Every dead-letter record written for recs[i] carries replay.group = the
// Replayer's group and replay.count = recs[i].Count+1.
//
// Errors: ctx's error when it ended before every record was handled; a
// configuration error from Zoho (zohoapi.ClassConfig: bad credentials, scope,
// module) or a *ThrottledError (Zoho throttled the token or an upsert), after
// which the Replayer delivers nothing more. In every case ReplayResult.Handled
// says which records are done.
func (r *Replayer) Replay(ctx context.Context, recs []ReplayRecord) (ReplayResult, error) {
	p := r.p
	stop := context.AfterFunc(ctx, p.cancelSend)
	defer stop()
	before := p.m.snapshot()
	res := ReplayResult{Skipped: map[string]int{}, Handled: make([]bool, len(recs))}
	parts := make([]*partitionOffsets, len(recs))
	var rejects []dlq.Record
	var rejectSrcs []source
	for i, rr := range recs {
		d := rr.Record
		if p.sendCtx.Err() != nil {
			break
		}
		if d.Module != "" && !strings.EqualFold(d.Module, p.o.Module) {
			res.Skipped[SkipOtherModule]++
			res.Handled[i] = true
			continue
		}
		src := replaySource(d, ReplayMark{Group: r.group, Count: rr.Count + 1})
		parts[i] = src.part
		m := p.mapper.Map(d.Value)
		switch m.Outcome {
		case mapping.OutcomeDrop:
			src.part.done(src.rec.Offset)
			res.Skipped[string(m.Drop)]++
		case mapping.OutcomeReject:
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
	case r.guard.throttled() != nil:
		return res, fmt.Errorf("pipeline: %w", r.guard.throttled())
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
// original source.* headers), carrying mark (so a new dead-letter record names
// this replay; see replayMarks), tracked alone so that its completion is visible.
func replaySource(d dlq.Record, mark ReplayMark) source {
	rec := &kgo.Record{
		Key:       d.Key,
		Value:     d.Value,
		Headers:   mark.Headers(),
		Topic:     d.SourceTopic,
		Partition: d.SourcePartition,
		Offset:    d.SourceOffset,
		Timestamp: d.SourceTimestamp,
	}
	po := newPartitionOffsets(topicPartition{d.SourceTopic, d.SourcePartition})
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

// replayGuard stops a replay (stop) when Zoho answers with a configuration
// error or throttles, at request level or for a record; the first throttle
// is kept for Replay to return.
type replayGuard struct {
	Upserter
	stop func()
	log  *zap.Logger

	mu       sync.Mutex
	throttle *ThrottledError
}

// Upsert forwards the call and watches its answer.
func (g *replayGuard) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	res, err := g.Upserter.Upsert(ctx, r)
	switch {
	case err != nil:
		switch zohoapi.Classify(err) {
		case zohoapi.ClassConfig:
			g.stop()
		case zohoapi.ClassThrottled:
			var tokErr *zohoapi.TokenError
			var wait *zohoapi.MintWaitError
			g.noteThrottle(&ThrottledError{Token: errors.As(err, &tokErr) || errors.As(err, &wait), At: time.Now(), Err: err})
		}
	case res != nil:
		for _, rr := range res.Results {
			if rr.Err == nil {
				continue
			}
			switch zohoapi.ClassifyRecord(rr.Err) {
			case zohoapi.ClassConfig:
				g.stop()
			case zohoapi.ClassThrottled:
				g.noteThrottle(&ThrottledError{At: time.Now(), Err: rr.Err})
			}
		}
	}
	return res, err
}

// noteThrottle keeps e and stops the replay when e is the first throttle.
func (g *replayGuard) noteThrottle(e *ThrottledError) {
	g.mu.Lock()
	first := g.throttle == nil
	if first {
		g.throttle = e
	}
	g.mu.Unlock()
	if first {
		g.log.Warn("Zoho throttled the replay: stopping; records not done stay for the next run", zap.Bool("token", e.Token), zap.Error(e.Err))
		g.stop()
	}
}

// throttled returns the first throttle, nil if none.
func (g *replayGuard) throttled() *ThrottledError {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.throttle
}
