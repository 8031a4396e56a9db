package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/zohosink/zohosink/zohoapi"
)

// CreditWindow is the window of Zoho's API credit limit: a rolling 24 hours
// (Zoho CRM v8 "API Limits").
const CreditWindow = 24 * time.Hour

// The interval between probes once Zoho reports its credits spent: it
// starts at creditProbeInitial and doubles after every refusal, up to
// creditProbeMax (Zoho says neither when credits free up nor how many:
// X-API-CREDITS-REMAINING has no reset time and there is no Retry-After).
const (
	creditProbeInitial = time.Minute
	creditProbeMax     = 15 * time.Minute
)

// creditBucket is how close in time charges are merged into one ledger
// entry: the ledger holds at most CreditWindow/creditBucket entries, and a
// merged entry frees its credits when its last charge leaves the window, so
// credits are never freed early and at most creditBucket late.
const creditBucket = time.Second

// Clock is the time source of Credits: the current time, and a channel that
// receives once d has passed. Tests pass a fake one; nil is the real clock.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Credits keeps the Zoho API credits a Sender spends (Options.Credits; one
// Sender per Credits) within two limits, and makes calls wait (never fail)
// while either is reached:
//
//   - the local budget: NewCredits' budget per rolling 24 h (CreditWindow) for
//     the whole deployment, of which this process may spend its share (see
//     SetShare); every call reserves its price (zohoapi.Credits: 1 credit per
//     10 records) before it is made, and the reservation is given back when
//     Zoho did not charge the call (refused 429, no request sent). A call
//     waits exactly until enough of the ledger's charges leave the window.
//     A share smaller than one call's price still lets one call through per
//     window, so that delivery never stalls for good.
//   - Zoho's own count: once Zoho reports the org's remaining credits
//     (X-API-CREDITS-REMAINING, zohoapi.CreditsHeader, sent once half the
//     day's credits are used), the count taken is the least of the latest
//     answers' (creditReports: answers of concurrent calls are settled in
//     any order, so an older one may say more) less the credits of the
//     calls in flight (Zoho may not have counted them yet): concurrent calls
//     must not overrun the org's last credits, or Zoho refuses whichever
//     arrives last, perhaps the one with a partition's oldest records. A
//     call that needs more than is left waits for the
//     answers of the calls in flight; once none is in flight, or when Zoho
//     refused a call because the credits are spent
//     (zohoapi.APIError.CreditsExhausted), it waits and one call probes again
//     after an interval that starts at a minute and doubles up to 15 minutes
//     (Zoho tells neither when credits free up nor how many). An answered
//     call ends the wait.
//
// Batches waiting for credits are served in the order the batcher sealed
// them (batcher.Batch.Seq): the earliest goes first, and while it waits no
// batch sealed later takes credits, even ones that would fit, so that a
// partition's oldest records, which hold back its commit, are not left
// waiting behind newer ones (batches of equal Seq, e.g. 0 when not from a
// Batcher, are served in any order). A batch keeps its place when it tries
// again, and leaves the line when it ends (Stop, its partitions released).
//
// While a call waits for credits, the Observer learns PauseCreditBudget.
// Safe for concurrent use. The ledger is in memory: a restarted process
// starts with nothing spent (see the package documentation for the bound).
type Credits struct {
	clock  Clock
	budget int

	mu sync.Mutex
	// owned and total are the source partitions this process owns and the
	// source topics have (SetShare); limit is this process's share of budget.
	owned, total int
	limit        int
	// ledger holds the credits reserved within the window, oldest first; spent is their sum.
	ledger []creditCharge
	spent  int
	// reports holds Zoho's counts of remaining credits in the latest
	// creditReports answers, -1 for an answer without one, at next; zohoLocked
	// is the least of them less the calls in flight.
	reports [creditReports]int
	next    int
	// inFlight is the credits reserved for calls not yet settled (answered,
	// failed, or given back): Zoho's report in one call's answer may not
	// count the others yet.
	inFlight int
	// probeAt is when a call may probe Zoho's spent credits again (zero: Zoho
	// did not refuse); probeWait is the interval after the next refusal.
	probeAt   time.Time
	probeWait time.Duration
	// waiting holds the seal order (creditTurn.seq) of every batch waiting
	// for credits, ascending: the line, the lowest served first.
	waiting []uint64
	// blocked counts the batches waiting for credits; the pause holds while
	// it is > 0. pauseMu guards it and orders the Observer's calls.
	pauseMu sync.Mutex
	blocked int
	obs     Observer
	// changed is closed (and replaced) when waiting calls may go on earlier
	// than they computed: a larger share, Zoho answering, the batch first
	// in line served or gone.
	changed chan struct{}
}

// creditTurn is one batch's place in the line for credits (see Credits):
// its seal order (batcher.Batch.Seq), kept across its attempts, and
// whether it waits in line now. The batch's deliver call owns it; Credits
// sets waiting.
type creditTurn struct {
	seq     uint64
	waiting bool
}

// creditCharge is one ledger entry: n credits reserved from first to last.
type creditCharge struct {
	first, last time.Time
	n           int
}

// NewCredits returns the credit limits of a Sender: budget credits per
// rolling 24 h for the deployment (0: no local budget, only Zoho's own
// count is honoured; negative is treated as 0), of which this process owns
// all until SetShare says otherwise. clock nil is the real clock.
func NewCredits(budget int, clock Clock) *Credits {
	if clock == nil {
		clock = realClock{}
	}
	c := &Credits{clock: clock, budget: max(budget, 0), owned: 1, total: 1,
		probeWait: creditProbeInitial, obs: NopObserver{}, changed: make(chan struct{})}
	c.limit = c.budget
	for i := range c.reports {
		c.reports[i] = -1
	}
	return c
}

// SetShare sets this process's share of the budget: owned of total source
// partitions (the pipeline calls it on every assignment and revocation).
// The share is budget × owned / total credits, rounded down; total ≤ 0
// leaves the share as it was.
func (c *Credits) SetShare(owned, total int) {
	if total <= 0 {
		return
	}
	owned = min(max(owned, 0), total)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owned, c.total = owned, total
	limit := int(int64(c.budget) * int64(owned) / int64(total))
	if limit > c.limit {
		c.wakeLocked()
	}
	c.limit = limit
}

// CreditStats is what Credits reports on /metrics.
type CreditStats struct {
	// Budget is this process's share of the deployment's budget, in credits
	// per rolling 24 h; 0 without a local budget.
	Budget int
	// Remaining is what this process may still spend of Budget now; 0
	// without a local budget.
	Remaining int
	// Zoho is the org's remaining credits as Zoho reports them (the least
	// count of the latest creditReports answers), less the calls in flight;
	// -1 while Zoho reports none.
	Zoho int
}

// Stats returns the current limits.
func (c *Credits) Stats() CreditStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(c.clock.Now())
	st := CreditStats{Zoho: c.zohoLocked()}
	if c.budget > 0 {
		st.Budget, st.Remaining = c.limit, max(c.limit-c.spent, 0)
	}
	return st
}

// reserve takes n credits for a call about to be made by the batch whose
// turn t is. It returns 0 when they are reserved (t leaves the line), else
// how long until a reservation may succeed, a channel closed when it may
// succeed earlier (for wait) and why the call waits (t waits in line).
func (c *Credits) reserve(t *creditTurn, n int) (time.Duration, <-chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait, why := c.admitLocked(t.seq, n); wait > 0 {
		if !t.waiting {
			i, _ := slices.BinarySearch(c.waiting, t.seq)
			c.waiting = slices.Insert(c.waiting, i, t.seq)
			t.waiting = true
		}
		return wait, c.changed, why
	}
	c.leaveLocked(t)
	return 0, nil, nil
}

// leave takes the batch whose turn t is out of the line (it ends waiting),
// so that it holds up no later batch.
func (c *Credits) leave(t *creditTurn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leaveLocked(t)
}

// leaveLocked takes t out of the line, if it waits there; when it was first,
// the others wake up to see whose turn it is.
func (c *Credits) leaveLocked(t *creditTurn) {
	if !t.waiting {
		return
	}
	t.waiting = false
	i, _ := slices.BinarySearch(c.waiting, t.seq)
	c.waiting = slices.Delete(c.waiting, i, i+1)
	if i == 0 && len(c.waiting) > 0 {
		c.wakeLocked()
	}
}

// admitLocked charges n credits for a call of the batch sealed seq-th,
// returning 0, or returns how long until it may be charged and why not:
// batches sealed earlier wait in line, the local budget is spent, or Zoho's
// count is.
func (c *Credits) admitLocked(seq uint64, n int) (time.Duration, error) {
	if ahead, _ := slices.BinarySearch(c.waiting, seq); ahead > 0 {
		// Woken (changed) when the first in line is served or gone.
		return CreditWindow, fmt.Errorf("%d batch(es) sealed earlier wait for credits first (they are served in the order they were sealed); a call of %d credit(s) waits its turn", ahead, n)
	}
	now := c.clock.Now()
	c.pruneLocked(now)
	if wait := c.budgetWaitLocked(now, n); wait > 0 {
		return wait, fmt.Errorf("the local credit budget is spent: %d of %d credits used in the last 24 h (zoho.daily_credit_budget %d, this process's share %d/%d of the source partitions); a call of %d credit(s) waits %v",
			c.spent, c.limit, c.budget, c.owned, c.total, n, wait.Round(time.Second))
	}
	zoho := c.zohoLocked()
	switch {
	case !c.probeAt.IsZero() && now.Before(c.probeAt):
		return c.probeAt.Sub(now), errors.New("the org's API credits for the last 24 h are spent, Zoho says; probing again at " + c.probeAt.Format(time.RFC3339))
	case !c.probeAt.IsZero():
		c.probeAt = now.Add(c.probeWait) // this call probes; the others wait for its answer
	case zoho >= 0 && zoho < n && c.inFlight > 0:
		// Woken (changed) when one of them is answered with a newer count.
		return CreditWindow, fmt.Errorf("only %d API credits are left for the org, Zoho says (X-API-CREDITS-REMAINING), less %d reserved by calls in flight: a call of %d credit(s) waits for their answers", zoho+c.inFlight, c.inFlight, n)
	case zoho >= 0 && zoho < n:
		c.backOffLocked(now)
		return c.probeAt.Sub(now), fmt.Errorf("only %d API credits are left for the org, Zoho says (X-API-CREDITS-REMAINING): a call of %d credit(s) waits", zoho, n)
	}
	c.chargeLocked(now, n)
	return 0, nil
}

// budgetWaitLocked returns how long until n credits fit in the local
// budget: 0 when they fit now (or when nothing is spent: one call may
// exceed a share smaller than its price), else until enough charges leave
// the window.
func (c *Credits) budgetWaitLocked(now time.Time, n int) time.Duration {
	if c.budget == 0 || c.spent == 0 || c.spent+n <= c.limit {
		return 0
	}
	left := c.spent
	for _, ch := range c.ledger {
		left -= ch.n
		if left == 0 || left+n <= c.limit {
			return ch.last.Add(CreditWindow).Sub(now)
		}
	}
	return 0 // cannot happen: the ledger sums to spent
}

// chargeLocked adds n credits reserved at now to the ledger and takes them
// off Zoho's last count.
func (c *Credits) chargeLocked(now time.Time, n int) {
	if k := len(c.ledger) - 1; k >= 0 && now.Sub(c.ledger[k].first) < creditBucket {
		c.ledger[k].n += n
		c.ledger[k].last = now
	} else {
		c.ledger = append(c.ledger, creditCharge{first: now, last: now, n: n})
	}
	c.spent += n
	c.inFlight += n
}

// pruneLocked drops the charges that left the window.
func (c *Credits) pruneLocked(now time.Time) {
	i := 0
	for i < len(c.ledger) && !c.ledger[i].last.Add(CreditWindow).After(now) {
		c.spent -= c.ledger[i].n
		i++
	}
	if i > 0 {
		c.ledger = append(c.ledger[:0], c.ledger[i:]...)
	}
}

// refund gives back n credits reserved for a call Zoho did not charge (or
// that was not made), and wakes the batches waiting for credits.
func (c *Credits) refund(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight = max(c.inFlight-n, 0)
	for k := len(c.ledger) - 1; k >= 0 && n > 0; k-- {
		take := min(n, c.ledger[k].n)
		c.ledger[k].n -= take
		c.spent -= take
		n -= take
		if c.ledger[k].n == 0 {
			c.ledger = c.ledger[:k]
		}
	}
	if len(c.waiting) > 0 {
		c.wakeLocked() // the credits given back may be what the first in line waits for
	}
}

// answered learns Zoho's remaining credits from an answered call: its
// report, or none (less than half the day's credits used). Zoho answering
// ends a refusal.
func (c *Credits) answered(res *zohoapi.UpsertResult, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight = max(c.inFlight-n, 0)
	c.reportLocked(res.CreditsRemaining, res.CreditsReported, !c.probeAt.IsZero())
	if !c.probeAt.IsZero() {
		c.probeAt, c.probeWait = time.Time{}, creditProbeInitial
	}
	if len(c.waiting) > 0 {
		c.wakeLocked()
	}
}

// creditReports is how many of Zoho's latest answers Credits takes its
// count of remaining credits from: the least of them. Answers of
// concurrent calls are settled in any order, so a report can be older than
// one settled before it (Zoho computed it before charging calls answered
// since) and say more; the least of the latest answers, 2 × delivery's most
// calls at once (max_in_flight 10), is never such a report, and a count
// that rises (the window freed credits) is taken once that many answers
// report it.
const creditReports = 20

// reportLocked keeps Zoho's count in one answer (reported: its
// X-API-CREDITS-REMAINING; else none, less than half the day's credits
// used) among the latest; after a probe (alone after a refusal) it is the
// only one kept.
func (c *Credits) reportLocked(remaining int, reported, probe bool) {
	if !reported {
		remaining = -1
	}
	if probe {
		for i := range c.reports {
			c.reports[i] = -1
		}
	}
	c.reports[c.next] = remaining
	c.next = (c.next + 1) % creditReports
}

// zohoLocked is Zoho's count of the org's remaining credits as zohosink
// takes it: the least count of the latest answers less the credits of the
// calls in flight (Zoho may not have counted them yet); -1 when none of
// those answers reported a count.
func (c *Credits) zohoLocked() int {
	least := -1
	for _, r := range c.reports {
		if r >= 0 && (least < 0 || r < least) {
			least = r
		}
	}
	if least < 0 {
		return -1
	}
	return max(least-c.inFlight, 0)
}

// settled ends the reservation of n credits of a call that failed after it
// was sent: Zoho may have charged it.
func (c *Credits) settled(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight = max(c.inFlight-n, 0)
}

// refused reports whether err is Zoho refusing a call of n credits because
// the org's credits are spent: a 429 that says so
// (zohoapi.APIError.CreditsExhausted) or that reported fewer credits left
// than the call needs. Then the call's reservation is given back, and calls
// wait until a probe after a growing interval. Any other error's report of
// the remaining credits is kept.
func (c *Credits) refused(err error, n int) bool {
	var apiErr *zohoapi.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	spent := apiErr.CreditsExhausted() ||
		(apiErr.StatusCode == http.StatusTooManyRequests && apiErr.CreditsReported && apiErr.CreditsRemaining < n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if apiErr.CreditsReported {
		c.reportLocked(apiErr.CreditsRemaining, true, false)
	}
	if !spent {
		return false
	}
	c.backOffLocked(c.clock.Now())
	return true
}

// backOffLocked sets the next probe of Zoho's spent credits one interval
// from now and doubles the interval after it, up to creditProbeMax.
func (c *Credits) backOffLocked(now time.Time) {
	c.probeAt = now.Add(c.probeWait)
	c.probeWait = min(2*c.probeWait, creditProbeMax)
}

// wakeLocked ends the waits under way so that they try again.
func (c *Credits) wakeLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// wait waits d, until ctx ends, or until woken (reserve's channel) is
// closed: the call may go on earlier (a larger share, Zoho answering, the
// batch first in line served or gone).
func (c *Credits) wait(ctx context.Context, d time.Duration, woken <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-woken:
	case <-c.clock.After(d):
	}
}

// block adds (+1) or removes (-1) a batch waiting for credits, reporting
// PauseCreditBudget on the first and its end after the last.
func (c *Credits) block(delta int, cause error) {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	c.blocked += delta
	switch {
	case delta > 0 && c.blocked == 1:
		c.obs.Paused(PauseCreditBudget, true, cause)
	case delta < 0 && c.blocked == 0:
		c.obs.Paused(PauseCreditBudget, false, nil)
	}
}

// reserveCredits reserves the credits of a call of records records before
// it is made by the batch whose turn t is (see Credits). When they are not
// to be had it releases c, reports the batch as waiting (t.waiting: in line
// and counted in the pause), waits until they may be (or Stop, or every
// partition of c is released) and returns false: the caller claims its
// records again and retries. A batch that reserves after waiting is no
// longer waiting.
func (s *Sender) reserveCredits(c claim, records int, t *creditTurn) bool {
	cr := s.o.Credits
	waited := t.waiting
	wait, woken, why := cr.reserve(t, zohoapi.Credits(records))
	if wait <= 0 {
		if waited {
			cr.block(-1, nil)
		}
		return true
	}
	c.release()
	if !waited {
		cr.block(1, why)
	}
	waitCtx, cancel := untilClosed(s.stopCtx, c.released())
	cr.wait(waitCtx, wait, woken)
	cancel()
	return false
}

// leaveCredits ends the wait for credits of the batch whose turn t is, if
// it waits, when its delivery ends (Stop, its partitions released): it
// leaves the line and the pause.
func (s *Sender) leaveCredits(t *creditTurn) {
	if !t.waiting {
		return
	}
	s.o.Credits.leave(t)
	if s.stopCtx.Err() == nil { // after Stop the pause no longer matters
		s.o.Credits.block(-1, nil)
	}
}

// settleCredits learns from a call's outcome: Zoho's remaining credits from
// an answer, and the reservation given back when Zoho charged nothing (no
// request was sent: breaker refused, token not to be had; Zoho answered 429;
// or 401, even after a fresh token: a call Zoho could not authenticate names
// no org to charge). Every outcome ends the call's reservation in flight.
func (s *Sender) settleCredits(res *zohoapi.UpsertResult, err error, records int) {
	cr := s.o.Credits
	var apiErr *zohoapi.APIError
	var mint *zohoapi.MintWaitError
	var tok *zohoapi.TokenError
	switch {
	case err == nil:
		cr.answered(res, zohoapi.Credits(records))
	case refused(err), errors.As(err, &mint), errors.As(err, &tok),
		errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode == http.StatusUnauthorized):
		cr.refund(zohoapi.Credits(records))
	default:
		cr.settled(zohoapi.Credits(records))
	}
}

// creditsRefusedError marks a call Zoho refused for spent credits, so that
// the circuit breaker does not count it (it is not an outage).
type creditsRefusedError struct{ err error }

func (e *creditsRefusedError) Error() string { return e.err.Error() }
func (e *creditsRefusedError) Unwrap() error { return e.err }
