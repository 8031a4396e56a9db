package delivery

import (
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/zohoapi"
)

// PauseReason is why delivery cannot go on for now; the pipeline pauses
// fetching while any reason holds and reports them on /readyz. The values
// are the reasons' names in logs and /readyz.
type PauseReason string

// The pause reasons.
const (
	// PauseBreakerOpen: Zoho kept failing and the circuit breaker is open.
	PauseBreakerOpen PauseReason = "zoho_breaker_open"
	// PauseZohoThrottled: Zoho throttles in a way a lower concurrency limit
	// cannot fix: 429 TOO_MANY_REQUESTS going on at limit 1 (a 429 with room
	// to cut the limit pauses nothing, see Options.ThrottleBackoff).
	PauseZohoThrottled PauseReason = "zoho_throttled"
	// PauseTokenBudget: an access token is needed but the local mint budget
	// (Zoho's 10 tokens per 10 minutes per refresh token) is spent.
	PauseTokenBudget PauseReason = "zoho_token_mint_budget"
	// PauseTokenThrottled: an access token is needed but Zoho's token
	// endpoint throttles token requests ("Access Denied": other processes
	// minted from the same refresh token, zoho-crm-api.md "OAuth 2.0").
	// Not an outage of Zoho CRM: the circuit breaker does not count it.
	PauseTokenThrottled PauseReason = "zoho_token_throttled"
	// PauseCreditBudget: a call waits for Zoho API credits: this process's
	// share of the local budget (zoho.daily_credit_budget) is spent for the
	// rolling 24 h, or Zoho reports the org's credits spent (see Credits).
	PauseCreditBudget PauseReason = "credit_budget_spent"
	// PauseDLQ: writing to the dead-letter topic fails.
	PauseDLQ PauseReason = "dead_letter_write_failing"
	// PauseConfig: a configuration error stopped delivery (until restart).
	PauseConfig PauseReason = "configuration_error"
)

// Call is one upsert call Zoho answered or that failed (calls the breaker
// refused are not reported).
type Call struct {
	// Status is the HTTP status code of the answer, or "error" when none came.
	Status string
	// Took is the call's duration.
	Took time.Duration
	// Records is the number of records sent.
	Records int
	// Result is Zoho's answer, nil when the call failed.
	Result *zohoapi.UpsertResult
}

// Observer learns what a Sender does, for metrics, logs, readiness and
// pausing. Its methods are called from the Sender's goroutines, concurrently,
// and must not block.
type Observer interface {
	// Called reports one upsert call.
	Called(c Call)
	// Retried reports that records are tried again (after an outage, a
	// throttle, or per-record transient errors).
	Retried()
	// Acknowledged reports that Zoho acknowledged the record of items source
	// records; action is Zoho's ("insert" or "update").
	Acknowledged(items int, action string)
	// DeadLettered reports n source records acknowledged by the dead-letter
	// topic with error.code code.
	DeadLettered(code string, n int)
	// Paused adds (on) or removes a pause reason, with its cause when added.
	// Removing a reason that does not hold must be cheap: it happens after
	// every answered call.
	Paused(reason PauseReason, on bool, cause error)
	// BreakerChanged reports a circuit breaker state change; cause is the last
	// outage when it opens.
	BreakerChanged(from, to gobreaker.State, cause error)
	// ConcurrencyLimit reports a new limit of upsert calls at once (the
	// adaptive limit, AIMD: 1..Options.MaxInFlight), e.g. to let a batcher
	// send no more batches at once.
	ConcurrencyLimit(limit int)
	// Failed reports the configuration error (zohoapi.ClassConfig) that
	// stopped delivery, once: batches wait, not done, until Stop.
	Failed(err error)
}

// RecordMemory remembers what Zoho holds per key, so that a record Zoho
// already holds is not sent again (the pipeline's credit saver, package
// creditsaver). Its methods are called from the Sender's goroutines,
// concurrently for different keys, and must not block. Per key they are
// called in order: the batcher hands a key to one Send at a time, and each
// Send asks Skip when it starts and reports Zoho's final answer before it
// returns. Records cut off, retried or dropped from a revoked partition are
// not reported.
type RecordMemory interface {
	// Skip reports whether e's record, its JSON as it would be sent (a merged
	// entry: the merged record), need not be sent because Zoho acknowledged
	// an identical one for e's key last. Asked once per entry when Send
	// starts, when no earlier record of the key is pending (batcher's order
	// guarantee); the Sender then marks e's items done without a call.
	Skip(e batcher.Entry[Source], record zohoapi.Record) bool
	// Acknowledged reports that Zoho acknowledged e's record; record is its
	// JSON exactly as sent.
	Acknowledged(e batcher.Entry[Source], record zohoapi.Record)
	// Rejected reports that Zoho rejected e's record (it is dead-lettered).
	Rejected(e batcher.Entry[Source])
}

// NopObserver observes nothing (the default Observer).
type NopObserver struct{}

// Called implements Observer.
func (NopObserver) Called(Call) {}

// Retried implements Observer.
func (NopObserver) Retried() {}

// Acknowledged implements Observer.
func (NopObserver) Acknowledged(int, string) {}

// DeadLettered implements Observer.
func (NopObserver) DeadLettered(string, int) {}

// Paused implements Observer.
func (NopObserver) Paused(PauseReason, bool, error) {}

// BreakerChanged implements Observer.
func (NopObserver) BreakerChanged(gobreaker.State, gobreaker.State, error) {}

// ConcurrencyLimit implements Observer.
func (NopObserver) ConcurrencyLimit(int) {}

// Failed implements Observer.
func (NopObserver) Failed(error) {}
