package dlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer sends records and waits for the broker's answer. *kgo.Client
// satisfies it. The client should be configured to accept records as large as
// the source topic's plus headers (kgo.ProducerBatchMaxBytes set to the
// brokers' message.max.bytes; config kafka.max_message_bytes).
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// Default retry delays of a Writer: the first retry after DefaultRetryInitial,
// doubling (±50% jitter) up to DefaultRetryMax.
const (
	DefaultRetryInitial = 500 * time.Millisecond
	DefaultRetryMax     = 30 * time.Second
)

// Writer writes dead-letter records to one topic and does not give up on them.
// It is safe for concurrent use; each Write retries its own records.
type Writer struct {
	producer     Producer
	topic        string
	retryInitial time.Duration
	retryMax     time.Duration
	onRetry      func(error)
	onAttempt    func(acked, failed int, took time.Duration)
	now          func() time.Time
}

// Option configures a Writer.
type Option func(*Writer)

// WithBackoff sets the retry delays: the first retry waits about initial, each
// next one twice as long (±50% jitter), at most max. Defaults:
// DefaultRetryInitial and DefaultRetryMax. Non-positive values keep the default.
func WithBackoff(initial, maxDelay time.Duration) Option {
	return func(w *Writer) {
		if initial > 0 {
			w.retryInitial = initial
		}
		if maxDelay > 0 {
			w.retryMax = maxDelay
		}
	}
}

// WithOnRetry sets a hook called before every retry with a *RetryError (how
// many records failed, the attempt, the wait, and the first broker or client
// error). It runs on the writing goroutine, so it should return quickly; the
// pipeline uses it to pause fetching and raise an alert. Default: none.
func WithOnRetry(fn func(err error)) Option {
	return func(w *Writer) { w.onRetry = fn }
}

// WithOnAttempt sets a hook called after every produce attempt of a Write with
// how many records the broker acknowledged, how many failed (to be retried),
// and how long the attempt took. It runs on the writing goroutine, so it should
// return quickly; the pipeline uses it for its dead-letter write metrics.
// Default: none.
func WithOnAttempt(fn func(acked, failed int, took time.Duration)) Option {
	return func(w *Writer) { w.onAttempt = fn }
}

// NewWriter returns a Writer producing to topic through p.
func NewWriter(p Producer, topic string, opts ...Option) *Writer {
	w := &Writer{
		producer:     p,
		topic:        topic,
		retryInitial: DefaultRetryInitial,
		retryMax:     DefaultRetryMax,
		now:          time.Now,
	}
	for _, o := range opts {
		o(w)
	}
	if w.retryMax < w.retryInitial {
		w.retryMax = w.retryInitial
	}
	return w
}

// Topic returns the dead-letter topic.
func (w *Writer) Topic() string { return w.topic }

// RetryError describes a failed attempt that Write will retry. It is what the
// OnRetry hook receives; errors.Is/As reach the underlying error (for example
// kerr.TopicAuthorizationFailed, kerr.MessageTooLarge,
// kerr.UnknownTopicOrPartition).
type RetryError struct {
	// Topic is the dead-letter topic.
	Topic string
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Failed is how many records of this Write are not yet acknowledged;
	// Total is how many it has.
	Failed, Total int
	// Wait is the delay before the next attempt.
	Wait time.Duration
	// Err is the first record's error of the failed attempt.
	Err error
}

// Error says how many records failed, on which attempt, and the wait before the next.
func (e *RetryError) Error() string {
	return fmt.Sprintf("dlq: writing to %s: %d of %d records failed on attempt %d, retrying in %s: %v",
		e.Topic, e.Failed, e.Total, e.Attempt, e.Wait.Round(time.Millisecond), e.Err)
}

// Unwrap returns the underlying error.
func (e *RetryError) Unwrap() error { return e.Err }

// errNoResult stands for a record the Producer returned no result for.
var errNoResult = errors.New("dlq: producer returned no result for the record")

// Write produces recs to the dead-letter topic and returns nil once the
// broker has acknowledged every one of them. A zero FailedAt is set to the
// time of the call. Records that fail, for any reason the broker or client
// gives (missing topic, authorization, record too large, timeouts), are
// produced again after a backoff, and OnRetry is called before each retry;
// records already acknowledged are not sent again. Records of one Write may
// therefore land out of order. Write gives up only when ctx ends (or the
// client is closed): it then returns an error that wraps ctx.Err() (or
// kgo.ErrClientClosed) and the last produce error, and the caller must treat
// the records as not written.
func (w *Writer) Write(ctx context.Context, recs ...Record) error {
	return w.WriteUntil(ctx, ctx, recs...)
}

// WriteUntil is Write with retrying bounded apart from the attempts: ctx
// bounds every produce attempt, as in Write, and once retry ends no attempt
// starts and a wait between attempts ends at once, so only an attempt under
// way when retry ends goes on (until the broker answers or ctx ends). It
// gives up with an error that wraps retry.Err() (or ctx.Err()) and the last
// produce error. The pipeline ends retry when shutdown starts, so that only
// writes under way get the shutdown grace.
func (w *Writer) WriteUntil(ctx, retry context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	now := w.now()
	pending := make([]Record, len(recs))
	for i, r := range recs {
		if r.FailedAt.IsZero() {
			r.FailedAt = now
		}
		pending[i] = r
	}
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     w.retryInitial,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         w.retryMax,
	}
	bo.Reset()
	for attempt := 1; ; attempt++ {
		start := time.Now()
		failed, lastErr := w.produce(ctx, pending)
		if w.onAttempt != nil {
			w.onAttempt(len(pending)-len(failed), len(failed), time.Since(start))
		}
		if len(failed) == 0 {
			return nil
		}
		pending = failed
		giveUp := func(cause error) error {
			return fmt.Errorf("dlq: gave up writing %d of %d records to %s after %d attempts: %w",
				len(pending), len(recs), w.topic, attempt, errors.Join(cause, lastErr))
		}
		if errors.Is(lastErr, kgo.ErrClientClosed) {
			return giveUp(kgo.ErrClientClosed)
		}
		if ctx.Err() != nil {
			return giveUp(ctx.Err())
		}
		if retry.Err() != nil {
			return giveUp(retry.Err())
		}
		wait := bo.NextBackOff()
		if w.onRetry != nil {
			w.onRetry(&RetryError{Topic: w.topic, Attempt: attempt, Failed: len(pending), Total: len(recs), Wait: wait, Err: lastErr})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return giveUp(ctx.Err())
		case <-retry.Done():
			t.Stop()
			return giveUp(retry.Err())
		case <-t.C:
		}
	}
}

// produce sends one attempt (fresh *kgo.Record values, so no state of an
// earlier attempt is reused) and returns the records that were not
// acknowledged, with the first error.
func (w *Writer) produce(ctx context.Context, recs []Record) (failed []Record, firstErr error) {
	krs := make([]*kgo.Record, len(recs))
	index := make(map[*kgo.Record]int, len(recs))
	for i, r := range recs {
		krs[i] = r.KafkaRecord(w.topic)
		index[krs[i]] = i
	}
	errs := make([]error, len(recs))
	for i := range errs {
		errs[i] = errNoResult
	}
	for _, res := range w.producer.ProduceSync(ctx, krs...) {
		if i, ok := index[res.Record]; ok {
			errs[i] = res.Err
		}
	}
	for i, err := range errs {
		if err != nil {
			failed = append(failed, recs[i])
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return failed, firstErr
}
