package delivery

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/zohosink/zohosink/zohoapi"
)

// throttle returns the wait after a throttled call (zohoapi.ClassThrottled)
// and reports the pause it causes:
//   - the local token mint budget is spent (*zohoapi.MintWaitError, Zoho's 10
//     tokens per 10 minutes per refresh token): wait until the budget allows a
//     mint, rather than get the refresh token locked out (PauseTokenBudget);
//   - Zoho answered 429 TOO_MANY_REQUESTS or throttled a token refresh: wait
//     ThrottleBackoff, jittered (PauseZohoThrottled; Zoho sends no Retry-After).
func (s *Sender) throttle(err error) time.Duration {
	var mint *zohoapi.MintWaitError
	if errors.As(err, &mint) {
		s.obs.Paused(PauseTokenBudget, true, err)
		return time.Until(mint.Until) + jitter(time.Second)
	}
	s.lastErr.Store(&err)
	s.obs.Paused(PauseZohoThrottled, true, err)
	return jitter(s.o.ThrottleBackoff)
}

// unthrottle clears the throttle pauses once Zoho answered a call.
func (s *Sender) unthrottle() {
	s.obs.Paused(PauseZohoThrottled, false, nil)
	s.obs.Paused(PauseTokenBudget, false, nil)
}

// jitter spreads d by ±20% so that replicas throttled together do not retry together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
