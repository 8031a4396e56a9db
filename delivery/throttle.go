package delivery

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/zohosink/zohosink/zohoapi"
)

// throttle returns the wait after a throttled call (zohoapi.ClassThrottled)
// and reports the pause it causes:
//   - the local token mint budget is spent (*zohoapi.MintWaitError, Zoho's 10
//     tokens per 10 minutes per refresh token): wait until the budget allows a
//     mint, rather than get the refresh token locked out (PauseTokenBudget);
//   - Zoho answered 429 TOO_MANY_REQUESTS for concurrency (concurrencyThrottle):
//     Release cut the limit; a short jittered wait (concurrencyRetryWait,
//     growing with each 429 in a row at limit 1), no pause: fetching goes on
//     and batches keep filling while the calls find the org's limit;
//   - Zoho's token endpoint throttles token requests (a *zohoapi.TokenError
//     with Throttled, "Access Denied"): wait ThrottleBackoff, jittered
//     (PauseTokenThrottled; the token source itself asks Zoho again only
//     after its own throttle backoff);
//   - anything else that throttles: more than aimdFloorRetries 429s in a
//     row at limit 1 (the org's slots are taken by others: cutting cannot
//     help), a 429 that is not about concurrency: wait ThrottleBackoff,
//     jittered (PauseZohoThrottled; Zoho sends no Retry-After).
//
// Only the last kind is kept as the cause for a breaker change: the token's
// throttles are not the breaker's (zohoapi.TokenThrottled).
func (s *Sender) throttle(err error, floorHits int) time.Duration {
	var mint *zohoapi.MintWaitError
	if errors.As(err, &mint) {
		s.obs.Paused(PauseTokenBudget, true, err)
		return time.Until(mint.Until) + jitter(time.Second)
	}
	if zohoapi.TokenThrottled(err) {
		s.obs.Paused(PauseTokenThrottled, true, err)
		return jitter(s.o.ThrottleBackoff)
	}
	if concurrencyThrottle(err) && floorHits <= aimdFloorRetries {
		wait := concurrencyRetryWait(s.calls, s.o.RetryInitial, floorHits)
		s.log.Debug("zoho refused a call for concurrency: retrying soon", zap.Duration("wait", wait), zap.Int("limit", s.calls.Limit()))
		return wait
	}
	s.lastErr.Store(&err)
	s.obs.Paused(PauseZohoThrottled, true, err)
	return jitter(s.o.ThrottleBackoff)
}

// concurrencyThrottle reports whether err is a 429 that fewer calls at once
// can fix: the org's concurrency limit (10 heavy calls at once, Zoho CRM
// "API Limits", https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html).
// Zoho answers the same 429 TOO_MANY_REQUESTS when the day's API credits are
// spent, with no documented way to tell the two apart (zoho-crm-api.md
// "Limits"), so every upsert 429 counts as concurrency here.
//
// The exception: a 429 that Credits knows to mean spent credits
// (*creditsRefusedError, credits.go: Zoho reported fewer remaining credits
// than the call needs) is no concurrency signal: it neither cuts the limit
// (which would then stay at 1 for no reason) nor retries soon; Credits
// waits for the credits instead.
func concurrencyThrottle(err error) bool {
	var apiErr *zohoapi.APIError
	var spent *creditsRefusedError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests && !errors.As(err, &spent)
}

// callOutcome is what a call's result tells the concurrency limit: answered
// (err nil, or any answer but a concurrency 429: Zoho took the call),
// throttled for concurrency, or nothing (outages, calls cut off, refused by
// the breaker, token waits and throttles, credit 429s).
func callOutcome(err error, cut bool) CallOutcome {
	switch {
	case err == nil:
		return CallAnswered
	case cut || refused(err):
		return CallNoSignal
	case concurrencyThrottle(err):
		return CallThrottled
	}
	switch zohoapi.Classify(err) {
	case zohoapi.ClassPermanent, zohoapi.ClassConfig:
		return CallAnswered
	}
	return CallNoSignal
}

// unthrottle clears the throttle pauses once Zoho answered a call.
func (s *Sender) unthrottle() {
	s.obs.Paused(PauseZohoThrottled, false, nil)
	s.obs.Paused(PauseTokenBudget, false, nil)
	s.obs.Paused(PauseTokenThrottled, false, nil)
}

// jitter spreads d by ±20% so that replicas throttled together do not retry together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
