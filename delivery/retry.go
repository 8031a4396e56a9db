package delivery

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// newRetry is the backoff between attempts of one batch after outages:
// exponential from RetryInitial up to RetryMax, with backoff's default jitter
// (±50%), never giving up (only Stop or a revocation ends the retries).
func (s *Sender) newRetry() *backoff.ExponentialBackOff {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = s.o.RetryInitial, s.o.RetryMax
	return bo
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
