package replay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/zohoapi"
)

// ThrottledError ends a replay when Zoho throttles it: the token endpoint
// refused to mint an access token (Zoho allows 10 per 10 minutes per refresh
// token; "Access Denied", zohoapi.TokenError.Throttled) or the local mint
// budget that keeps under that limit is spent (zohoapi.MintWaitError), or
// upserts were answered 429 TOO_MANY_REQUESTS even one at a time (after the
// Sender's concurrency limit was cut to 1) or LIMIT_EXCEEDED (the day's API
// credits or the org's concurrency used up; zoho-crm-api.md "API Limits"). Waiting it
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

// guard stops a replay (stop) when Zoho answers with a configuration
// error or throttles a record; the first throttle is kept for Replay to
// return. Request-level throttles reach it from the Sender (throttled):
// a 429 for concurrency first cuts the Sender's concurrency limit and is
// retried soon, and only a throttle that fewer calls cannot fix (Zoho
// refusing even one call at a time, a token throttle, the mint budget)
// stops the replay.
type guard struct {
	delivery.Upserter
	stop func()
	log  *zap.Logger

	mu       sync.Mutex
	throttle *ThrottledError
}

// Upsert forwards the call and watches its answer.
func (g *guard) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	res, err := g.Upserter.Upsert(ctx, r)
	switch {
	case err != nil:
		if zohoapi.Classify(err) == zohoapi.ClassConfig {
			g.stop()
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

// throttledBy notes a throttle the Sender paused for (err its cause).
func (g *guard) throttledBy(err error) {
	var tokErr *zohoapi.TokenError
	var wait *zohoapi.MintWaitError
	g.noteThrottle(&ThrottledError{Token: errors.As(err, &tokErr) || errors.As(err, &wait), At: time.Now(), Err: err})
}

// noteThrottle keeps e and stops the replay when e is the first throttle.
func (g *guard) noteThrottle(e *ThrottledError) {
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
func (g *guard) throttled() *ThrottledError {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.throttle
}
