package delivery

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/zohoapi"
)

// newBreaker is the circuit breaker in front of Zoho: BreakerFailures
// consecutive outages (transient or throttled errors, zohoapi.Classify) open
// it for BreakerOpenTimeout; record rejections, configuration errors and
// concurrency 429s count as successes (Zoho answered: a 429 for concurrency
// is the concurrency limit's signal, see concurrency.go, not an outage);
// cancellations (shutdown, revocation), throttling of the access token (the
// mint budget spent or Zoho's token endpoint answering "Access Denied",
// zohoapi.TokenThrottled: no CRM call was made, throttle pauses for it) and
// refusals for spent API credits (not an outage: Credits waits for them) are
// not counted.
func newBreaker(o Options, onChange func(string, gobreaker.State, gobreaker.State)) *gobreaker.CircuitBreaker[*zohoapi.UpsertResult] {
	return gobreaker.NewCircuitBreaker[*zohoapi.UpsertResult](gobreaker.Settings{
		Name:        "zoho",
		Timeout:     o.BreakerOpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= o.BreakerFailures },
		IsSuccessful: func(err error) bool {
			if err == nil {
				return true
			}
			c := zohoapi.Classify(err)
			return c != zohoapi.ClassTransient && (c != zohoapi.ClassThrottled || concurrencyThrottle(err))
		},
		IsExcluded: func(err error) bool {
			var spent *creditsRefusedError
			return errors.Is(err, context.Canceled) || zohoapi.TokenThrottled(err) || errors.As(err, &spent)
		},
		OnStateChange: onChange,
	})
}

// refused reports whether the breaker refused the call (open, or half-open
// with its trial call under way): no call was made.
func refused(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

// breakerWait is the wait after the breaker refused a call: short, so that
// the trial call follows the open timeout closely instead of the backoff.
func (s *Sender) breakerWait() time.Duration {
	return min(s.o.BreakerOpenTimeout/10, time.Second)
}

// breakerChanged reports a state change with the last outage as its cause.
func (s *Sender) breakerChanged(_ string, from, to gobreaker.State) {
	var cause error
	if last := s.lastErr.Load(); to == gobreaker.StateOpen && last != nil {
		cause = *last
	}
	s.obs.BreakerChanged(from, to, cause)
}

// call makes one upsert call of d through the circuit breaker and reports
// it to the Observer (not when the breaker refused it); answered is
// zohoapi.UpsertRequest.Answered (nil: none).
func (s *Sender) call(ctx context.Context, d batch, answered func()) (*zohoapi.UpsertResult, error) {
	start := time.Now()
	res, err := s.breaker.Execute(func() (*zohoapi.UpsertResult, error) {
		res, err := s.o.Zoho.Upsert(ctx, zohoapi.UpsertRequest{
			Module:               s.o.Module,
			Records:              d.records,
			DuplicateCheckFields: s.o.DuplicateCheckFields,
			Trigger:              s.o.Trigger,
			Answered:             answered,
		})
		if err != nil && s.o.Credits.refused(err, zohoapi.Credits(len(d.records))) {
			err = &creditsRefusedError{err}
		}
		return res, err
	})
	s.settleCredits(res, err, len(d.records))
	if refused(err) {
		return nil, err
	}
	status := "error"
	var apiErr *zohoapi.APIError
	switch {
	case err == nil:
		status = strconv.Itoa(res.StatusCode)
	case errors.As(err, &apiErr):
		status = strconv.Itoa(apiErr.StatusCode)
	}
	s.obs.Called(Call{Status: status, Took: time.Since(start), Records: len(d.records), Result: res})
	return res, err
}
