package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
)

// Upserter is the part of the Zoho client a Sender uses: one upsert call of
// 1..100 records (zohoapi.Client satisfies it).
type Upserter interface {
	Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error)
}

// DeadLetterWriter writes dead-letter records (dlq.Writer satisfies it):
// retrying until the topic acknowledges every record, ctx ends (the write
// under way is cut off) or retry ends (no further attempt starts).
type DeadLetterWriter interface {
	WriteUntil(ctx, retry context.Context, recs ...dlq.Record) error
}

// Source is where a record of a batch came from: its partition assignment
// (for claims and for marking it done), the Kafka record (for its dead
// letter) and the values its mapping left out (mapping.Mapped.Omitted, so
// that a dead letter says which values were given but not sent).
type Source struct {
	Part *watermark.Partition
	Rec  *kgo.Record
	// Omitted are the values left out of the record because they did not
	// convert to their fields' data types (mapping.invalid_values omit);
	// nil when none were.
	Omitted []mapping.Omission
	// Untyped is set when the record's values were encoded without the
	// module's Fields metadata (mapping.Mapped.Untyped): a Zoho INVALID_DATA
	// answer then leads to Options.Remap, or a dead letter saying so
	// (UntypedNote).
	Untyped bool
}

// Options configure a Sender. The settings that are configuration keys
// (delivery.*) take their values from the caller: their defaults live in
// package config. Check names every one out of range.
type Options struct {
	// Zoho is the client upserts go through; required.
	Zoho Upserter
	// Module is the Zoho module records are upserted into, e.g. "Leads"; required.
	Module string
	// DuplicateCheckFields and Trigger are passed to Zoho's upsert as given
	// (nil: omitted, Zoho's defaults apply).
	DuplicateCheckFields, Trigger []string
	// DeadLetters writes the records Zoho rejects; required by New.
	DeadLetters DeadLetterWriter
	// DLQLimit is the dead-letter topic's max.message.bytes, in bytes: a dead
	// letter that would exceed it leaves out zoho.record (0:
	// topics.DefaultMaxMessageBytes).
	DLQLimit int32
	// MaxInFlight is the most upsert calls at once (delivery.max_in_flight),
	// ≥ 1: the ceiling of the adaptive limit (AIMD, concurrency.go) that
	// every call takes a slot of.
	MaxInFlight int
	// RetryInitial and RetryMax bound the exponential backoff (with jitter)
	// between attempts after a transient failure; > 0, RetryMax ≥ RetryInitial.
	RetryInitial, RetryMax time.Duration
	// ThrottleBackoff is the wait after a throttle that a lower concurrency
	// limit cannot fix: Zoho keeps answering 429 TOO_MANY_REQUESTS while
	// the limit is 1 (more than aimdFloorRetries in a row), or throttles token refreshes (Zoho sends no
	// Retry-After); > 0. A 429 with room to cut the limit is retried after
	// a short wait instead (throttle.go).
	ThrottleBackoff time.Duration
	// BreakerFailures consecutive outages open the circuit breaker (≥ 1); it
	// half-opens after BreakerOpenTimeout (> 0).
	BreakerFailures    uint32
	BreakerOpenTimeout time.Duration
	// Credits keeps the calls within the local credit budget and Zoho's
	// reported remaining credits (nil: NewCredits(0, nil), Zoho's count only).
	Credits *Credits
	// Observer learns what the Sender does (nil: NopObserver).
	Observer Observer
	// Memory, when set, skips records Zoho already holds and learns Zoho's
	// final answer per record (the pipeline's credit saver); nil: every
	// record is sent (dead-letter replay).
	Memory RecordMemory
	// OnInvalidField, if set, is called with each field when Zoho rejects a
	// record with INVALID_DATA naming fields (zohoapi.RecordError
	// InvalidDataFields; the record is dead-lettered):
	// the field's type or length may have changed in Zoho, and the pipeline
	// reads the Fields metadata again. It must not block.
	OnInvalidField func(field string)
	// Remap, if set, maps again the records whose values were mapped
	// untyped (Source.Untyped): before every attempt without waiting (those
	// it maps are sent typed), and after Zoho rejected them with
	// INVALID_DATA, with a context that ends at Stop: the records it maps
	// are sent again, typed, instead of being dead-lettered; the others are
	// dead-lettered with UntypedNote.
	Remap RemapFunc
	// Logger receives debug lines about retries (nil: none).
	Logger *zap.Logger
}

// Check returns a problem for every option out of range, named by its
// field: no Zoho client or module, a duration ≤ 0, RetryMax below
// RetryInitial, BreakerFailures or MaxInFlight 0. DeadLetters is New's to check (the
// pipeline makes its writer later).
func (o Options) Check() []error {
	var problems []error
	if o.Zoho == nil {
		problems = append(problems, errors.New("no Zoho client"))
	}
	if o.Module == "" {
		problems = append(problems, errors.New("no Zoho module"))
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			problems = append(problems, fmt.Errorf("%s must be > 0 (got %v)", name, d))
		}
	}
	positive("RetryInitial", o.RetryInitial)
	positive("ThrottleBackoff", o.ThrottleBackoff)
	positive("BreakerOpenTimeout", o.BreakerOpenTimeout)
	if o.RetryMax < o.RetryInitial {
		problems = append(problems, fmt.Errorf("RetryMax (%v) must be ≥ RetryInitial (%v)", o.RetryMax, o.RetryInitial))
	}
	if o.BreakerFailures < 1 {
		problems = append(problems, fmt.Errorf("BreakerFailures must be ≥ 1 (got %d)", o.BreakerFailures))
	}
	if o.MaxInFlight < 1 {
		problems = append(problems, fmt.Errorf("MaxInFlight must be ≥ 1 (got %d)", o.MaxInFlight))
	}
	return problems
}

// Sender delivers batches to Zoho until every record is acknowledged or
// dead-lettered; see the package documentation. Create it with New; its
// methods are safe for concurrent use.
type Sender struct {
	o       Options
	obs     Observer
	log     *zap.Logger
	breaker *gobreaker.CircuitBreaker[*zohoapi.UpsertResult]
	// calls bounds the upsert calls under way (AIMD, concurrency.go).
	calls CallLimiter
	// stopCtx ends at Stop: no attempt starts after it, and every wait
	// (retry backoff, throttle, breaker, dead-letter retry) ends. sendCtx is
	// the context of calls and dead-letter writes under way; it ends at Abandon.
	stopCtx, sendCtx       context.Context
	cancelStop, cancelSend context.CancelFunc
	configErr              atomic.Pointer[error]
	// lastErr is the last outage, reported when the breaker opens.
	lastErr atomic.Pointer[error]
}

// New checks o (Check, and a dead-letter writer is required; every problem
// is returned at once) and returns a Sender.
func New(o Options) (*Sender, error) {
	problems := o.Check()
	if o.DLQLimit <= 0 {
		o.DLQLimit = topics.DefaultMaxMessageBytes
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Credits == nil {
		o.Credits = NewCredits(0, nil)
	}
	o.Credits.obs = o.Observer
	if o.DeadLetters == nil {
		problems = append(problems, errors.New("no dead-letter writer"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	s := &Sender{o: o, obs: o.Observer, log: o.Logger}
	s.stopCtx, s.cancelStop = context.WithCancel(context.Background())
	s.sendCtx, s.cancelSend = context.WithCancel(context.Background())
	s.breaker = newBreaker(o, s.breakerChanged)
	s.calls = NewAIMD(o.MaxInFlight, s.limitChanged)
	return s, nil
}

// Stop starts shutdown: no attempt starts from now on and every wait ends at
// once; calls and dead-letter writes under way go on until Abandon.
func (s *Sender) Stop() { s.cancelStop() }

// Abandon cuts off the calls and dead-letter writes under way (after Stop:
// the end of the shutdown grace). Their records stay not done.
func (s *Sender) Abandon() {
	s.cancelStop()
	s.cancelSend()
}

// Err returns the configuration error that stopped delivery, nil if none.
func (s *Sender) Err() error {
	if e := s.configErr.Load(); e != nil {
		return *e
	}
	return nil
}

// CallLimit is the number of upsert calls allowed at once now: the adaptive
// limit (AIMD), 1..MaxInFlight. The Observer learns each change
// (Observer.ConcurrencyLimit); a batcher feeding the Sender should send no
// more batches at once (batches keep filling meanwhile).
func (s *Sender) CallLimit() int { return s.calls.Limit() }

// SetShare tells the Sender this process's share of the deployment. For
// the call limit: weights are the claims of every source partition (their
// backlogs; one order shared by every member, e.g. by topic then
// partition) and working the positions of those this process owns; the
// limit is anchored at their share of MaxInFlight (FairCalls,
// AIMD.SetFair). For the credit budget: it owns owned of total source
// partitions (Credits.SetShare; total ≤ 0: unknown, that share stays).
func (s *Sender) SetShare(weights []int64, working []int, owned, total int) {
	if len(weights) > 0 {
		s.calls.SetFair(FairCalls(s.o.MaxInFlight, weights, working))
	}
	s.o.Credits.SetShare(owned, total)
}

// limitChanged reports a change of the call limit.
func (s *Sender) limitChanged(limit int) {
	s.log.Debug("zoho concurrency limit changed", zap.Int("limit", limit), zap.Int("max_in_flight", s.o.MaxInFlight))
	s.obs.ConcurrencyLimit(limit)
}

// Breaker returns the circuit breaker's state and counts.
func (s *Sender) Breaker() (gobreaker.State, gobreaker.Counts) {
	return s.breaker.State(), s.breaker.Counts()
}

// fail stops delivery after an error no retry fixes; the first is kept and
// reported to the Observer.
func (s *Sender) fail(err error) {
	if s.configErr.CompareAndSwap(nil, &err) {
		s.obs.Failed(err)
	}
}

// Send is a batcher.SendFunc: it delivers b (see Deliver), except the
// entries Options.Memory skips (done at once), and returns once
// every source record of b is done, its partitions are revoked, or Stop or
// Abandon ended it. The batcher's context is not used: shutdown is Stop's.
func (s *Sender) Send(_ context.Context, b *batcher.Batch[Source]) {
	if s.stopCtx.Err() != nil {
		return // shutting down: batches not yet sent stay not done
	}
	d := batch{entries: make([]batcher.Entry[Source], 0, len(b.Entries)), records: make([]zohoapi.Record, 0, len(b.Entries))}
	for _, e := range b.Entries {
		rec := e.Merged()
		if s.o.Memory != nil && s.o.Memory.Skip(e, rec) {
			for _, it := range e.Items {
				it.Source.Part.Done(it.Source.Rec.Offset)
			}
			continue
		}
		d.entries = append(d.entries, e)
		d.records = append(d.records, rec)
	}
	if len(d.entries) > 0 {
		s.deliver(d, b.Seq)
	}
}

// batch is one batch on its way to Zoho: the merged record of each entry
// (its dead letter's zoho.record is the record's JSON: exactly what was
// sent) and the source records merged into it.
type batch struct {
	entries []batcher.Entry[Source]
	records []zohoapi.Record
}

// slice returns entries [i, j) of d.
func (d batch) slice(i, j int) batch {
	return batch{entries: d.entries[i:j], records: d.records[i:j]}
}

// add appends entry i of from to d.
func (d *batch) add(from batch, i int) {
	d.entries = append(d.entries, from.entries[i])
	d.records = append(d.records, from.records[i])
}

// deliver upserts d, of the batch sealed seq-th (batcher.Batch.Seq), until
// every record is acknowledged or dead-lettered, composing the pieces of
// this package:
//   - claim (claim.go) drops records of revoked partitions before each attempt;
//   - credits (credits.go) are reserved before each call, batches waiting
//     for them served in seal order;
//   - each call waits for a slot of the concurrency limit (concurrency.go);
//   - the breaker (breaker.go) makes the call, or refuses while open;
//   - settle (settle.go) handles per-record results: acknowledged records
//     are done, rejected ones dead-lettered, the others retried;
//   - retry (retry.go) waits with exponential backoff and jitter after an
//     outage, throttle (throttle.go) after 429 (short, or ThrottleBackoff
//     when cutting the limit cannot help) or a spent mint budget;
//   - split (split.go) halves a request rejected as a whole;
//   - a configuration error stops delivery: the batch waits, not done, until Stop.
//
// Stop ends every wait at once and starts no new attempt; a call under way
// goes on until it is answered or Abandon. Revocation drops the revoked
// partitions' records before the next attempt, ends waits of a batch that
// holds nothing else, and cuts off its calls once the revoked partitions are
// forgotten.
func (s *Sender) deliver(d batch, seq uint64) {
	retry := s.newRetry()
	turn := creditTurn{seq: seq} // its place in line for credits (credits.go)
	defer s.leaveCredits(&turn)
	for s.stopCtx.Err() == nil {
		var c claim
		if d, c = s.claim(d); len(d.entries) == 0 {
			return
		}
		s.retypeReady(d)
		if !s.reserveCredits(c, len(d.records), &turn) {
			continue
		}
		// The wait for a call slot ends like the waits between attempts.
		slotCtx, cancel := untilClosed(s.stopCtx, c.released())
		slot, err := s.calls.Acquire(slotCtx)
		cancel()
		if err != nil {
			s.o.Credits.refund(zohoapi.Credits(len(d.records))) // no call: nothing charged
			c.release()
			continue // Stop, or every partition released: the next claim is empty
		}
		if c.anyReleased() {
			// A partition of d was revoked while this attempt waited for
			// credits or a slot: its records now belong to the new owner,
			// which may already have sent newer events of the same emails.
			// Claim again, without them, before calling.
			s.calls.Release(slot, CallNoSignal)
			s.o.Credits.refund(zohoapi.Credits(len(d.records)))
			c.release()
			continue
		}
		call, cancel := untilClosed(s.sendCtx, c.gone())
		res, err := s.call(call, d, func() { s.calls.Free(&slot) })
		cut := call.Err() != nil // by Abandon, or by the revocation of every partition of d
		cancel()
		floorHits := s.calls.Release(slot, callOutcome(err, cut))
		var wait time.Duration
		switch {
		case err == nil:
			s.unthrottle()
			var dead deadLetters
			var untyped []batcher.Entry[Source]
			var why []*zohoapi.RecordError
			d, dead, untyped, why = s.settle(d, res)
			// The answer is settled: a revocation need not wait for the
			// retries of this batch or for other partitions' dead letters.
			c.release()
			dead.write(s)
			if len(untyped) > 0 {
				again, dead := s.retype(s.stopCtx, untyped, why)
				dead.write(s)
				for i := range again.entries {
					d.add(again, i)
				}
			}
			if s.Err() != nil {
				<-s.stopCtx.Done()
				return
			}
			if len(d.entries) == 0 {
				return
			}
			s.obs.Retried()
			wait = retry.NextBackOff()
		case errors.As(err, new(*creditsRefusedError)):
			c.release() // the next reservation waits for the credits
			s.obs.Retried()
		case refused(err):
			c.release()
			wait = s.breakerWait()
		default:
			c.release()
			switch zohoapi.Classify(err) {
			case zohoapi.ClassConfig:
				s.fail(err)
				<-s.stopCtx.Done()
				return
			case zohoapi.ClassPermanent:
				s.split(d, seq, err)
				return
			case zohoapi.ClassThrottled:
				s.obs.Retried()
				wait = s.throttle(err, floorHits)
			default:
				if cut {
					continue // no retry: the loop ends, the records stay not done
				}
				s.obs.Retried()
				s.lastErr.Store(&err)
				s.log.Debug("zoho call failed, retrying", zap.Error(err))
				wait = retry.NextBackOff()
			}
		}
		// The wait ends at Stop, or once every partition of d is released.
		waitCtx, cancel := untilClosed(s.stopCtx, c.released())
		sleep(waitCtx, wait)
		cancel()
	}
}
