package delivery

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// CallLimiter bounds the upsert calls a Sender makes at once. A Sender takes
// a slot before every call and gives it back, with what Zoho answered, when
// the call ends. AIMD is the implementation; the interface keeps the
// Sender's part of the contract small.
type CallLimiter interface {
	// Acquire waits until a call may start and returns its slot, or
	// ctx.Err() when ctx ends first.
	Acquire(ctx context.Context) (CallSlot, error)
	// Free gives s's slot back as soon as Zoho has answered, before the
	// answer is parsed (zohoapi.UpsertRequest.Answered), so that the next
	// call need not wait for the parsing; Release then only takes the
	// outcome. At most once per slot; Release alone also frees it.
	Free(s *CallSlot)
	// Release gives s back with the call's outcome. For CallThrottled it
	// returns how many calls made at the floor (limit 1) Zoho refused in a
	// row, this one included (0: the call was made at a larger limit, which
	// the 429 cut): the longer that run, the less cutting can help.
	Release(s CallSlot, o CallOutcome) (floorHits int)
	// Limit is the number of calls allowed at once now, 1..max.
	Limit() int
	// CallTime is the mean duration of recent answered calls (0 before the
	// first): the scale of the short wait before retrying a refused call.
	CallTime() time.Duration
	// SetFair sets this process's fair share of the calls allowed at once
	// (FairCalls).
	SetFair(calls int)
}

// CallSlot is one call's hold on a CallLimiter slot.
type CallSlot struct {
	// cuts is the number of cuts when the call started: a 429 of a call
	// that started before the latest cut does not cut again.
	cuts uint64
	// fulls is the number of times every slot was taken when the call
	// started: a call during which it grew was part of a full window.
	fulls uint64
	// limit is the limit when the call started: only 429s of calls made
	// at limit 1 show that cutting cannot help.
	limit int
	start time.Time
	// freed is set by Free: the slot is back already.
	freed bool
}

// CallOutcome is what a call told the limiter about Zoho's concurrency.
type CallOutcome int

const (
	// CallAnswered: Zoho answered (any status other than a concurrency 429,
	// including per-record rejections): the limit may grow.
	CallAnswered CallOutcome = iota + 1
	// CallThrottled: Zoho answered 429 TOO_MANY_REQUESTS because the org's
	// concurrency limit was exceeded: the limit is cut.
	CallThrottled
	// CallNoSignal: the call says nothing about concurrency (an outage, a
	// cut-off call, a token-refresh throttle, a 429 for exhausted daily
	// credits): the limit stays.
	CallNoSignal
)

// AIMD tuning.
const (
	// aimdCut is the multiplicative decrease on a concurrency 429: gentle,
	// because with a few slots per replica one refused call means the
	// replicas together are one slot over the org's limit.
	aimdCut = 0.75
	// aimdProbeWindows is how many windows (a limit's worth of answered
	// calls) the limit takes to climb its last slot back to the ceiling
	// where the last 429 happened. Every such probe costs the org one 429,
	// so N replicas at the ceiling see about N probes per aimdProbeWindows
	// windows: with 3 replicas sharing 10 slots (windows of ~3 calls),
	// about one 429 per 200 calls.
	aimdProbeWindows = 64
	// aimdInitial is the limit at start: 2, so that one call hanging
	// (until zoho.request_timeout) does not stall a process, while 2
	// replicas starting together stay within even the Free edition's 5
	// calls at once and 3 within the 10 heavy calls.
	aimdInitial = 2
	// callTimeWeight is the weight of the newest call in CallTime's moving average.
	callTimeWeight = 0.2
)

// AIMD is the adaptive limit of concurrent upsert calls of one process:
// additive increase, multiplicative decrease, between 1 and max
// (delivery.max_in_flight). Each Zoho org allows a fixed number of calls at
// once per app (Free 5, Standard 10, Professional 15, Enterprise 20,
// Ultimate 25) and only 10 heavy calls, which upserts of more than 10
// records are, and answers 429 TOO_MANY_REQUESTS beyond it (Zoho CRM "API
// Limits", https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html;
// zoho-crm-api.md "Limits"). Replicas of one deployment share that limit
// without knowing of each other: each finds its share from the 429s it gets.
//
// Replicas that only react to 429s do not share fairly: whoever starts
// first takes every slot and, reusing each the instant its call ends, never
// sees a 429, while the others collect the 429s and sit at limit 1. So the
// limit is anchored at a fair share the pipeline knows without talking to
// the other replicas: this process's share of the consumer group's
// backlog (SetFair with FairCalls of every partition's committed lag, on
// every rebalance and every commit interval; equal per partition until the
// lag is known). FairCalls gives each partition a whole number of calls so
// that the members' shares add up to exactly max: 3 equal replicas of 6
// equal partitions and max_in_flight 10 (Zoho's heavy-call limit, the
// default) get 3, 3 and 4 and fill the org's 10 slots without a 429; and
// as a replica's partitions drain its slots move to the replicas that
// still have a backlog, within a commit interval, instead of idling until
// their next probe (64 windows). A larger share takes effect only at the
// second reading in a row, so the replicas whose share shrank give their
// slots back first.
//
// The limit moves in these phases:
//   - start: at the fair share once SetFair is called (before it, slow
//     start from 2, aimdInitial, +1 per answered call, doubling every
//     window, until the first concurrency 429 or max);
//   - on a concurrency 429 the limit is cut ×0.75, once per window: 429s of
//     calls that started before the latest cut are the same overshoot and
//     do not cut again. The limit before the cut is the ceiling. A cut
//     from above the fair share stops at it; at or below it the cut goes
//     on (other apps of the org hold slots) down to 1;
//   - below the fair share: +1 per window (a limit's worth of answered
//     calls) back to it;
//   - the first slot above the fair share is probed slowly (over
//     aimdProbeWindows windows; each failed probe costs the org one 429);
//     past it, +1 per window until a 429 (the org has room: a replica left,
//     or its partitions drained);
//   - after a cut: +1 per window up to one slot below the ceiling, the last
//     slot to the ceiling over aimdProbeWindows windows, and +1 per window
//     again past the ceiling (the capacity has moved).
//
// The limit grows only while it is in use (answers of calls during which
// every slot was taken): a quiet process does not grow a limit it has not
// tested. Its methods are safe for concurrent use.
type AIMD struct {
	max      int
	onChange func(limit int)

	mu      sync.Mutex
	limit   float64 // 1..max; floor(limit) calls at once
	ceiling float64 // the limit before the latest cut; 0 before the first (slow start)
	// fair is this process's fair share of max (SetShare), 1..max; 0 while
	// unknown.
	fair int
	// larger is a larger fair share asked for once (SetFair), 0 if none.
	larger int
	cuts   uint64
	fulls  uint64 // times an Acquire took the last free slot
	inUse  int
	// floorHits counts concurrency 429s in a row of calls made at limit 1.
	floorHits int
	wake      chan struct{} // closed (and replaced) when a slot may be free; nil if nobody waits
	// callTime is the moving average of answered calls' durations.
	callTime time.Duration
}

// NewAIMD returns a limit of concurrent calls between 1 and maxInFlight (values
// below 1 are taken as 1), starting at min(aimdInitial, maxInFlight). onChange, when not nil, is called
// with the new limit (a whole number of calls) each time it changes, outside
// the limiter's lock, and must not block.
func NewAIMD(maxInFlight int, onChange func(limit int)) *AIMD {
	m := max(maxInFlight, 1)
	return &AIMD{max: m, onChange: onChange, limit: float64(min(aimdInitial, m))}
}

// Max is the ceiling of the limit (delivery.max_in_flight).
func (a *AIMD) Max() int { return a.max }

// Limit implements CallLimiter.
func (a *AIMD) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.limit)
}

// CallTime implements CallLimiter.
func (a *AIMD) CallTime() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.callTime
}

// Acquire implements CallLimiter: it waits while Limit calls are under way.
func (a *AIMD) Acquire(ctx context.Context) (CallSlot, error) {
	a.mu.Lock()
	for a.inUse >= int(a.limit) {
		if a.wake == nil {
			a.wake = make(chan struct{})
		}
		ch := a.wake
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return CallSlot{}, ctx.Err()
		}
		a.mu.Lock()
	}
	s := CallSlot{cuts: a.cuts, fulls: a.fulls, limit: int(a.limit), start: time.Now()}
	a.inUse++
	if a.inUse >= int(a.limit) {
		a.fulls++
	}
	a.mu.Unlock()
	return s, nil
}

// Free implements CallLimiter.
func (a *AIMD) Free(s *CallSlot) {
	if s.freed {
		return
	}
	s.freed = true
	a.mu.Lock()
	a.inUse--
	a.wakeLocked()
	a.mu.Unlock()
}

// wakeLocked wakes the Acquire calls waiting when a slot is free.
func (a *AIMD) wakeLocked() {
	if a.wake != nil && a.inUse < int(a.limit) {
		close(a.wake)
		a.wake = nil
	}
}

// Release implements CallLimiter: CallAnswered grows the limit (when every
// slot was in use), CallThrottled cuts it (once per window), CallNoSignal
// leaves it.
func (a *AIMD) Release(s CallSlot, o CallOutcome) (floorHits int) {
	a.mu.Lock()
	// The call was part of a full window when every slot was taken while
	// it ran (from its start, or now).
	full := a.fulls > s.fulls || a.inUse >= int(a.limit)
	if !s.freed {
		a.inUse--
	}
	before := int(a.limit)
	switch o {
	case CallAnswered:
		took := time.Since(s.start)
		if a.callTime == 0 {
			a.callTime = took
		} else {
			a.callTime += time.Duration(callTimeWeight * float64(took-a.callTime))
		}
		a.floorHits = 0
		if full {
			a.grow()
		}
	case CallThrottled:
		if s.limit == 1 {
			a.floorHits++
			floorHits = a.floorHits
		}
		if s.cuts == a.cuts {
			a.cut()
		}
	}
	after := int(a.limit)
	a.wakeLocked()
	a.mu.Unlock()
	if after != before && a.onChange != nil {
		a.onChange(after)
	}
	return floorHits
}

// FairCalls is the share of maxInFlight calls at once that belongs to the
// partitions at the positions owned (distinct indexes of weights) of the
// deployment's source partitions, weights being each partition's claim
// (its backlog in records; all ≤ 0: equal claims). Partition i holds
// floor(maxInFlight × W(i+1) / W) − floor(maxInFlight × W(i) / W) calls,
// W(i) the sum of the weights before i and W their total, so the shares of
// all members add up to exactly maxInFlight when they see the same weights
// (3 members of 6 equal partitions and 10 calls: 3, 3 and 4, not 3 × 3).
// The result is at least 1.
func FairCalls(maxInFlight int, weights []int64, owned []int) int {
	cum := make([]int64, len(weights)+1)
	for i, x := range weights {
		cum[i+1] = cum[i] + max(x, 0)
	}
	if cum[len(weights)] == 0 { // equal claims
		for i := range weights {
			cum[i+1] = int64(i + 1)
		}
	}
	total, m := cum[len(weights)], int64(maxInFlight)
	if total == 0 {
		return max(1, maxInFlight)
	}
	var calls int64
	for _, i := range owned {
		if i >= 0 && i < len(weights) {
			calls += m*cum[i+1]/total - m*cum[i]/total
		}
	}
	return max(1, int(calls))
}

// SetFair sets this process's fair share of the org's calls at once
// (FairCalls of its source partitions' backlog; the pipeline sets it on every
// assignment, revocation and loss and every commit interval), capped at
// max. A smaller share takes effect at once, a larger one at the second
// call in a row that asks for it (so that the replicas whose share shrank
// give their slots back before others take them). When it changes, the
// limit starts over at it, with no ceiling (see AIMD).
func (a *AIMD) SetFair(calls int) {
	fair := min(max(calls, 1), a.max)
	a.mu.Lock()
	if fair == a.fair || fair > a.fair && a.fair > 0 && fair != a.larger {
		// A larger share takes effect at the second call in a row that
		// asks for it: members read the backlog at different moments,
		// and those whose share shrank give slots back first.
		a.larger = fair
		if fair == a.fair {
			a.larger = 0
		}
		a.mu.Unlock()
		return
	}
	a.larger = 0
	before := int(a.limit)
	a.fair, a.limit, a.ceiling = fair, float64(fair), 0
	if a.wake != nil && a.inUse < fair {
		close(a.wake)
		a.wake = nil
	}
	a.mu.Unlock()
	if fair != before && a.onChange != nil {
		a.onChange(fair)
	}
}

// cut is the decrease on a concurrency 429 (see AIMD).
func (a *AIMD) cut() {
	a.ceiling = a.limit
	if a.fair > 0 {
		// The slot above the fair share is probed slowly from now on.
		a.ceiling = max(a.ceiling, float64(a.fair+1))
	}
	floor := 1.0
	if a.fair > 0 && a.limit > float64(a.fair) {
		floor = float64(a.fair)
	}
	a.limit = max(floor, a.limit*aimdCut)
	a.cuts++
}

// grow adds one answered call's share of the increase (see AIMD).
func (a *AIMD) grow() {
	switch l := a.limit; {
	case a.ceiling == 0 && a.fair == 0:
		a.limit++
	case l < float64(a.fair):
		a.limit += 1 / l
	case l < float64(a.fair+1):
		a.limit += 1 / (aimdProbeWindows * l)
	case a.ceiling == 0:
		a.limit += 1 / l
	case l+1 < a.ceiling || l >= a.ceiling:
		a.limit += 1 / l
	default:
		a.limit += 1 / (aimdProbeWindows * l)
	}
	a.limit = min(a.limit, float64(a.max))
}

// aimdFloorRetries is how many 429s in a row of calls made at limit 1 are
// retried with concurrencyRetryWait before delivery takes the long
// ThrottleBackoff: other callers (replicas that started earlier, other
// apps) hold the org's slots, and a call of this process gets one only
// when it arrives as one frees.
const aimdFloorRetries = 6

// concurrencyRetryWait is the wait before retrying a call refused for
// concurrency, after floorHits refusals in a row at limit 1 (Release): a
// random part of one call time (the time in which a slot of the org
// usually frees) doubled per floor hit, so that the replicas refused
// together do not retry together and a process squeezed to one call tries
// less and less often; initial before the first answered call.
func concurrencyRetryWait(l CallLimiter, initial time.Duration, floorHits int) time.Duration {
	d := l.CallTime()
	if d <= 0 {
		d = initial
	}
	d <<= min(floorHits, aimdFloorRetries)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
