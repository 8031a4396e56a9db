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
// is done (acknowledged by Zoho or by the dead-letter topic), its partitions
// are revoked, or shutdown ends it.
func (p *Pipeline) send(_ context.Context, b *batcher.Batch[source]) {
	if p.stopCtx.Err() != nil {
		return // shutting down: batches not yet sent stay uncommitted
	}
	var d delivery
	for _, e := range b.Entries {
		if raw, ok := p.encode(e); ok {
			d.entries = append(d.entries, e)
			d.records = append(d.records, raw)
		}
	}
	if len(d.entries) > 0 {
		p.deliver(d)
	}
}

// encode returns the Zoho record of e: its merged items.
func (p *Pipeline) encode(e batcher.Entry[source]) (json.RawMessage, bool) {
	raw, err := json.Marshal(e.Merged())
	if err != nil { // values are strings and numbers from JSON: cannot happen
		p.log.Error("encoding a Zoho record", zap.Error(err))
		return nil, false
	}
	return raw, true
}

// claim is one attempt's hold on the partitions of its records (see
// partitionOffsets.claim): a revocation waits until the attempts holding its
// partitions end.
type claim []*partitionOffsets

// add claims po once; it reports whether po is claimed (false: released).
// Claims are few (the partitions of one batch), so a linear search is cheapest.
func (c *claim) add(po *partitionOffsets, refused *[]*partitionOffsets) bool {
	if slices.Contains(*c, po) {
		return true
	}
	if slices.Contains(*refused, po) || !po.claim() {
		*refused = appendNew(*refused, po)
		return false
	}
	*c = append(*c, po)
	return true
}

// appendNew appends po to s unless s holds it already.
func appendNew(s []*partitionOffsets, po *partitionOffsets) []*partitionOffsets {
	if slices.Contains(s, po) {
		return s
	}
	return append(s, po)
}

// release ends the claim.
func (c claim) release() {
	for _, po := range c {
		po.unclaim()
	}
}

// released returns the channels closed when each claimed partition is released.
func (c claim) released() []<-chan struct{} {
	out := make([]<-chan struct{}, len(c))
	for i, po := range c {
		out[i] = po.released
	}
	return out
}

// gone returns the channels closed when each claimed partition is forgotten.
func (c claim) gone() []<-chan struct{} {
	out := make([]<-chan struct{}, len(c))
	for i, po := range c {
		out[i] = po.gone
	}
	return out
}

// claim claims the partitions of d's records for one attempt and returns what
// may be sent: records of partitions being revoked, revoked or lost belong to
// their new owner, which may already have sent newer events for the same
// emails, so they are never sent (again) from here. An entry merged from
// several partitions keeps the items of the partitions still owned, and its
// record is merged again from them.
func (p *Pipeline) claim(d delivery) (delivery, claim) {
	var c claim
	var refused []*partitionOffsets
	var out delivery
	for i, e := range d.entries {
		var live []batcher.Item[source]
		dropped := false
		for j, it := range e.Items {
			switch {
			case c.add(it.Source.part, &refused):
				if dropped {
					live = append(live, it)
				}
			case !dropped:
				dropped, live = true, slices.Clone(e.Items[:j])
			}
		}
		switch {
		case !dropped: // the common case: every item owned
			out.entries = append(out.entries, e)
			out.records = append(out.records, d.records[i])
		case len(live) > 0:
			e.Items = live
			if raw, ok := p.encode(e); ok {
				out.entries = append(out.entries, e)
				out.records = append(out.records, raw)
			}
		}
	}
	return out, c
}

// untilClosed returns a context that ends with parent or once every channel
// of chans is closed (at once when chans is empty); call cancel when done.
func untilClosed(parent context.Context, chans []<-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		for _, ch := range chans {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
		cancel()
	}()
	return ctx, cancel
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
//
// Shutdown (stopCtx) ends every wait at once and starts no new attempt; a
// call under way goes on until it is answered or the grace ends (sendCtx).
// Revocation drops the revoked partitions' records before the next attempt,
// ends waits of a delivery that holds nothing else, and cuts off its calls
// once the revoked partitions are forgotten. What is not acknowledged then
// stays uncommitted.
func (p *Pipeline) deliver(d delivery) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = p.o.RetryInitial, p.o.RetryMax
	for p.stopCtx.Err() == nil {
		var c claim
		if d, c = p.claim(d); len(d.entries) == 0 {
			return
		}
		call, cancel := untilClosed(p.sendCtx, c.gone())
		res, err := p.upsert(call, d)
		cut := call.Err() != nil // by shutdown, or by the revocation of every partition of d
		cancel()
		var wait time.Duration
		switch {
		case err == nil:
			p.setPaused(pauseZohoThrottled, false, nil)
			p.setPaused(pauseTokenBudget, false, nil)
			var dead deadLetters
			d, dead = p.settle(d, res)
			// The answer is settled: a revocation need not wait for the
			// retries of this batch or for other partitions' dead letters.
			c.release()
			dead.write(p)
			if p.failed() {
				<-p.stopCtx.Done()
				return
			}
			if len(d.entries) == 0 {
				return
			}
			p.m.retries.Add(1)
			wait = bo.NextBackOff()
		case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
			c.release()
			// No call was made: look again soon, so that the trial call
			// follows the open timeout closely instead of the backoff.
			wait = min(p.o.BreakerOpenTimeout/10, time.Second)
		default:
			c.release()
			switch zohoapi.Classify(err) {
			case zohoapi.ClassConfig:
				p.fail(err)
				<-p.stopCtx.Done()
				return
			case zohoapi.ClassPermanent:
				p.isolate(d, err)
				return
			case zohoapi.ClassThrottled:
				p.m.retries.Add(1)
				var mint *zohoapi.MintWaitError
				if errors.As(err, &mint) {
					// The local token mint budget is spent: wait for it
					// rather than get the refresh token locked out.
					p.setPaused(pauseTokenBudget, true, err)
					wait = time.Until(mint.Until) + jitter(time.Second)
				} else {
					p.lastZohoErr.Store(&err)
					p.setPaused(pauseZohoThrottled, true, err)
					wait = jitter(p.o.ThrottleBackoff)
				}
			default:
				if cut {
					continue // no retry: the loop ends, the records stay uncommitted
				}
				p.m.retries.Add(1)
				p.lastZohoErr.Store(&err)
				p.log.Debug("zoho call failed, retrying", zap.Error(err))
				wait = bo.NextBackOff()
			}
		}
		// The wait ends at shutdown, or once every partition of d is released.
		waitCtx, cancel := untilClosed(p.stopCtx, c.released())
		sleep(waitCtx, wait)
		cancel()
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

// settle handles Zoho's per-record answers: successes are done, and it
// returns the records to try again and the permanent rejections to
// dead-letter (claimed, for deadLetters.write).
func (p *Pipeline) settle(d delivery, res *zohoapi.UpsertResult) (delivery, deadLetters) {
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
	return retry, p.claimDeadLetters(dead, deadSrc)
}

// isolate handles a request Zoho rejected as a whole without per-record
// results (HTTP 400 without data[]): halves are retried separately so that only
// the bad record goes to the dead-letter topic, not the 99 good ones.
func (p *Pipeline) isolate(d delivery, err error) {
	if len(d.entries) > 1 {
		half := len(d.entries) / 2
		p.deliver(delivery{entries: d.entries[:half], records: d.records[:half]})
		p.deliver(delivery{entries: d.entries[half:], records: d.records[half:]})
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
