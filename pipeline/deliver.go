package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/zohoapi"
)

// delivery is one batch on its way to Zoho: the merged record of each email
// (encoded once, so the dead-letter topic gets exactly what was sent) and the
// source records merged into it.
type delivery struct {
	entries []batcher.Entry[source]
	records []json.RawMessage
}

// send is the batcher's SendFunc: it runs in its own goroutine, holding one of
// the MaxInFlight slots (and its emails) until every source record of the batch
// is done (acknowledged by Zoho or by the dead-letter topic) or shutdown
// abandons it.
func (p *Pipeline) send(_ context.Context, b *batcher.Batch[source]) {
	var d delivery
	for _, e := range b.Entries {
		e = liveEntry(e)
		if len(e.Items) == 0 {
			continue // every source's partition was revoked: its new owner sends it
		}
		raw, err := json.Marshal(e.Merged())
		if err != nil { // values are strings and numbers from JSON: cannot happen
			p.log.Error("encoding a Zoho record", zap.Error(err))
			continue
		}
		d.entries = append(d.entries, e)
		d.records = append(d.records, raw)
	}
	if len(d.entries) > 0 {
		p.deliver(p.sendCtx, d)
	}
}

// owned returns the entries of d that still have a source in a partition this
// process owns.
func (d delivery) owned() delivery {
	var out delivery
	for i, e := range d.entries {
		if len(liveEntry(e).Items) > 0 {
			out.entries = append(out.entries, e)
			out.records = append(out.records, d.records[i])
		}
	}
	return out
}

// liveEntry drops the items of an entry whose partitions were revoked or lost.
// The common case, nothing forgotten, returns e as it is.
func liveEntry(e batcher.Entry[source]) batcher.Entry[source] {
	for i, it := range e.Items {
		if !it.Source.part.isForgotten() {
			continue
		}
		live := slices.Clone(e.Items[:i])
		for _, it := range e.Items[i+1:] {
			if !it.Source.part.isForgotten() {
				live = append(live, it)
			}
		}
		e.Items = live
		break
	}
	return e
}

// deliver upserts d until every record is acknowledged or dead-lettered:
//   - transient failures (5xx, timeouts, breaker open) are retried with
//     exponential backoff and jitter; 429 waits ThrottleBackoff with fetching paused;
//   - a spent token mint budget waits until the budget allows a mint, with
//     fetching paused (reason zoho_token_mint_budget);
//   - record rejections go to the dead-letter topic, the rest of the batch is done;
//   - a whole request rejected without per-record results is split in halves
//     until the bad record is alone, then that record is dead-lettered;
//   - a configuration error stops delivery: the batch waits, uncommitted, until shutdown.
func (p *Pipeline) deliver(ctx context.Context, d delivery) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = p.o.RetryInitial, p.o.RetryMax
	for ctx.Err() == nil {
		// Records of partitions revoked (after the grace) or lost meanwhile
		// belong to their new owner, which may already have sent newer events
		// for the same emails: never send them again from here.
		if d = d.owned(); len(d.entries) == 0 {
			return
		}
		res, err := p.upsert(ctx, d)
		if err != nil {
			if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
				// No call was made: look again soon, so that the trial call
				// follows the open timeout closely instead of the backoff.
				sleep(ctx, min(p.o.BreakerOpenTimeout/10, time.Second))
				continue
			}
			switch zohoapi.Classify(err) {
			case zohoapi.ClassConfig:
				p.fail(err)
				<-ctx.Done()
				return
			case zohoapi.ClassPermanent:
				p.isolate(ctx, d, err)
				return
			case zohoapi.ClassThrottled:
				p.m.retries.Add(1)
				var wait *zohoapi.MintWaitError
				if errors.As(err, &wait) {
					// The local token mint budget is spent: wait for it
					// rather than get the refresh token locked out.
					p.setPaused(pauseTokenBudget, true, err)
					sleep(ctx, time.Until(wait.Until)+jitter(time.Second))
					continue
				}
				p.lastZohoErr.Store(&err)
				p.setPaused(pauseZohoThrottled, true, err)
				sleep(ctx, jitter(p.o.ThrottleBackoff))
				continue
			default:
				p.m.retries.Add(1)
				p.lastZohoErr.Store(&err)
				p.log.Debug("zoho call failed, retrying", zap.Error(err))
				sleep(ctx, bo.NextBackOff())
				continue
			}
		}
		p.setPaused(pauseZohoThrottled, false, nil)
		p.setPaused(pauseTokenBudget, false, nil)
		retry := p.settle(ctx, d, res)
		if len(retry.entries) == 0 {
			return
		}
		p.m.retries.Add(1)
		d = retry
		sleep(ctx, bo.NextBackOff())
	}
}

// upsert makes one call through the circuit breaker and records its metrics.
func (p *Pipeline) upsert(ctx context.Context, d delivery) (*zohoapi.UpsertResult, error) {
	start := time.Now()
	res, err := p.breaker.Execute(func() (*zohoapi.UpsertResult, error) {
		return p.o.Zoho.Upsert(ctx, zohoapi.UpsertRequest{
			Module:               p.o.Module,
			Records:              d.records,
			DuplicateCheckFields: p.o.DuplicateCheckFields,
			Trigger:              p.o.Trigger,
		})
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return nil, err // no call was made
	}
	status := "error"
	var apiErr *zohoapi.APIError
	switch {
	case err == nil:
		status = strconv.Itoa(res.StatusCode)
		p.m.answered.Add(1)
		p.m.recordsSent.Add(int64(len(d.records)))
		p.m.addCredits(res.Credits)
		p.m.batchRecords.Observe(float64(len(d.records)))
	case errors.As(err, &apiErr):
		status = strconv.Itoa(apiErr.StatusCode)
	}
	p.m.observeCall(status, time.Since(start))
	return res, err
}

// settle handles Zoho's per-record answers: successes are done, permanent
// rejections are dead-lettered, and the records to try again are returned.
func (p *Pipeline) settle(ctx context.Context, d delivery, res *zohoapi.UpsertResult) delivery {
	var retry delivery
	var dead []dlq.Record
	var deadSrc []source
	for i, r := range res.Results {
		e := d.entries[i]
		if r.Err == nil {
			for _, it := range e.Items {
				it.Source.part.done(it.Source.rec.Offset)
			}
			p.m.delivered.Add(int64(len(e.Items)))
			if r.Action == "insert" {
				p.m.inserted.Add(1)
			} else {
				p.m.updated.Add(1)
			}
			continue
		}
		switch zohoapi.ClassifyRecord(r.Err) {
		case zohoapi.ClassTransient, zohoapi.ClassThrottled:
			retry.entries = append(retry.entries, e)
			retry.records = append(retry.records, d.records[i])
		case zohoapi.ClassConfig:
			p.fail(r.Err)
			retry.entries = append(retry.entries, e)
			retry.records = append(retry.records, d.records[i])
		default:
			for _, it := range e.Items {
				dead = append(dead, p.deadLetterRecord(it.Source.rec, r.Err.Code, r.Err.Message, r.Err.Field, r.Err.Details, d.records[i]))
				deadSrc = append(deadSrc, it.Source)
			}
		}
	}
	if len(dead) > 0 {
		p.writeDeadLetters(dead, deadSrc)
	}
	if p.failed() {
		<-ctx.Done()
		return delivery{}
	}
	return retry
}

// isolate handles a request Zoho rejected as a whole without per-record
// results (HTTP 400 without data[]): halves are retried separately so that only
// the bad record goes to the dead-letter topic, not the 99 good ones.
func (p *Pipeline) isolate(ctx context.Context, d delivery, err error) {
	if len(d.entries) > 1 {
		half := len(d.entries) / 2
		p.deliver(ctx, delivery{entries: d.entries[:half], records: d.records[:half]})
		p.deliver(ctx, delivery{entries: d.entries[half:], records: d.records[half:]})
		return
	}
	code, message, details := codeRequestRejected, err.Error(), json.RawMessage(nil)
	var apiErr *zohoapi.APIError
	if errors.As(err, &apiErr) {
		code, message, details = apiErr.Code, apiErr.Message, apiErr.Details
	}
	var dead []dlq.Record
	var srcs []source
	for _, it := range d.entries[0].Items {
		dead = append(dead, p.deadLetterRecord(it.Source.rec, code, message, "", details, d.records[0]))
		srcs = append(srcs, it.Source)
	}
	p.writeDeadLetters(dead, srcs)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// jitter spreads d by ±20% so that replicas throttled together do not retry together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
