package zohosim

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Stats are counters since the server started (or the last [Server.Reset]).
type Stats struct {
	// UpsertCalls counts every request to an upsert URL, whatever its answer.
	UpsertCalls int
	// RecordsReceived counts records in upsert bodies that passed the
	// request-level checks (1..100 records).
	RecordsReceived int
	// Inserts, Updates and RecordErrors count per-record outcomes.
	Inserts, Updates, RecordErrors int
	// RecordErrorCodes counts per-record errors by Zoho code
	// (MULTIPLE_OR_MULTI_ERRORS counts once, under that code).
	RecordErrorCodes map[string]int
	// Credits is the number of API credits charged (upsert: 1 per 10 records;
	// fields, layouts, users, org: 1).
	Credits int
	// CreditsRemaining is the rest of the rolling-24 h budget, -1 without one.
	CreditsRemaining int
	// PeakConcurrency is the highest number of upsert calls in progress at
	// once, counting the calls refused because they exceeded the limit.
	PeakConcurrency int
	// InFlight is the number of upsert calls in progress now.
	InFlight int
	// ConcurrencyRejections counts 429s for exceeding MaxConcurrency;
	// CreditRejections 429s for an exhausted daily budget (injected 429s are
	// in neither).
	ConcurrencyRejections, CreditRejections int
	// Status counts upsert calls by HTTP status; 0 means no answer (hung or
	// abandoned by the client).
	Status map[int]int
	// FieldsCalls and LayoutsCalls count fields-metadata and layouts
	// requests that passed authorization.
	FieldsCalls, LayoutsCalls int
	// TokenRequests counts token-endpoint requests; TokenMints the access
	// tokens issued; TokenErrors the HTTP-200 "error" answers (invalid_client,
	// invalid_client_secret, invalid_code, unsupported_grant_type);
	// TokenThrottled the "Access Denied" answers.
	TokenRequests, TokenMints, TokenErrors, TokenThrottled int
}

// Call describes one upsert request.
type Call struct {
	// Module is the module named in the URL.
	Module string
	// Records is the number of records in the body (0 when it was not read).
	Records int
	// Emails holds each record's Email value as sent ("" when absent), in
	// input order; nil when records were not processed.
	Emails []string
	// DuplicateCheckFields and Trigger are as sent; nil when omitted, and
	// Trigger is non-nil empty for "trigger":[].
	DuplicateCheckFields, Trigger []string
	// Status is the HTTP status answered; 0 when none (hung, or the client
	// went away during latency).
	Status int
	// Code is the request-level Zoho code (INVALID_TOKEN, TOO_MANY_REQUESTS,
	// INTERNAL_ERROR, LIMIT_EXCEEDED, INVALID_MODULE, …), "HANG" for an
	// injected hang, "" when the answer carried one item per record.
	Code string
	// Inserts, Updates and Errors count the per-record outcomes.
	Inserts, Updates, Errors int
	// Start and End are wall-clock times (not Options.Now) of the request's
	// arrival and answer, for reasoning about overlap and order.
	Start, End time.Time
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Status = maps.Clone(s.stats.Status)
	st.RecordErrorCodes = maps.Clone(s.stats.RecordErrorCodes)
	st.InFlight = s.apiLive
	st.CreditsRemaining = -1
	if s.dailyCredits > 0 {
		st.CreditsRemaining = max(0, s.dailyCredits-s.creditsUsedLocked())
	}
	return st
}

// Calls returns every upsert call so far, in the order they finished.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c
		out[i].Emails = slices.Clone(c.Emails)
		out[i].DuplicateCheckFields = slices.Clone(c.DuplicateCheckFields)
		out[i].Trigger = slices.Clone(c.Trigger)
	}
	return out
}

// Records returns copies of a module's stored records in insertion order;
// each has its fields as last written (JSON-decoded: strings, float64, bool,
// []any, map[string]any) plus "id" (19-digit string).
func (s *Server) Records(moduleName string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[moduleName]
	if !ok {
		return nil
	}
	out := make([]map[string]any, len(m.records))
	for i, r := range m.records {
		out[i] = r.snapshot()
	}
	return out
}

// Record returns a copy of the record with the given id.
func (s *Server) Record(moduleName, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[moduleName]
	if !ok {
		return nil, false
	}
	r, ok := m.byID[id]
	if !ok {
		return nil, false
	}
	return r.snapshot(), true
}

// Lead returns a copy of the Leads record whose Email equals email
// case-insensitively.
func (s *Server) Lead(email string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.modules["Leads"].find("Email", strings.ToLower(email))
	if r == nil || email == "" {
		return nil, false
	}
	return r.snapshot(), true
}

func (r *record) snapshot() map[string]any {
	out := maps.Clone(r.values)
	if out == nil {
		out = map[string]any{}
	}
	out["id"] = r.id
	return out
}

// Reset forgets all records, calls, counters, charged credits and pending
// injected faults (FailNext, SetFailRate, Throttle429Next, HangNext,
// FailTokenNext, DependentServiceErrorNext). Tokens, fields, credentials and configured knobs (latency,
// limits, modes) stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.modules {
		m.records = nil
		clear(m.byID)
		for _, idx := range m.index {
			clear(idx)
		}
	}
	s.stats = Stats{Status: map[int]int{}, RecordErrorCodes: map[string]int{}, PeakConcurrency: s.apiLive}
	s.calls = nil
	s.creds = nil
	s.failNext, s.failRate, s.throttleNext, s.hangNext, s.tokenFailNext = 0, 0, 0, 0, 0
	s.dependentServiceNext = 0
}

// SetLatency sets the delay added to every API call (upsert, fields, users,
// org): d plus a uniformly random extra in [0, jitter).
func (s *Server) SetLatency(d, jitter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.jitter = d, jitter
}

// FailNext makes the next n upsert calls (after authorization, the module and
// concurrency checks, and latency) answer HTTP status without touching
// records: 500 (the default for 0) as Zoho's INTERNAL_ERROR JSON, 401 and
// 502/503/504 as an HTML page (a proxy's), 429 as TOO_MANY_REQUESTS.
func (s *Server) FailNext(n, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus = n, status
}

// SetFailRate makes each upsert call fail with HTTP status (500 for 0) with
// probability rate (0 disables), answered like [Server.FailNext].
func (s *Server) SetFailRate(rate float64, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate, s.failRateStatus = rate, status
}

// Throttle429Next makes the next n upsert calls answer 429 TOO_MANY_REQUESTS
// (a burst of Zoho throttling), without touching records or credits.
func (s *Server) Throttle429Next(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleNext = n
}

// HangNext makes the next n upsert calls never answer: they hold their
// concurrency slot until the client gives up (request context ends) or the
// server closes.
func (s *Server) HangNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangNext = n
}

// SetSameEmailInCall selects the unconfirmed behaviour for two records with
// the same duplicate-check value in one call; see [SameEmailMode].
func (s *Server) SetSameEmailInCall(mode SameEmailMode) {
	if mode == "" {
		mode = SameEmailSequential
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sameEmail = mode
}

// SetScopeMismatch makes API calls answer 401 OAUTH_SCOPE_MISMATCH (on) or
// behave normally (off).
func (s *Server) SetScopeMismatch(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopeMismatch = on
}

// SetMaxConcurrency changes the limit of concurrent upsert calls (0: the
// default 10; negative: unlimited).
func (s *Server) SetMaxConcurrency(n int) {
	if n == 0 {
		n = DefaultMaxConcurrency
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxConcurrency = n
}

// SetDailyCredits changes the rolling-24 h credit budget (0: unlimited).
func (s *Server) SetDailyCredits(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dailyCredits = n
}

// SetAPIHost makes API calls whose Host header names another host answer 400
// INVALID_HOST (Zoho "Status Codes": the API host must be www.zohoapis.{dc}),
// e.g. SetAPIHost("www.zohoapis.com") refuses calls made to 127.0.0.1. Host
// names compare case-insensitively, ports ignored; "" (the default) accepts
// any host.
func (s *Server) SetAPIHost(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiHost = host
}

// noPermissionName is the permission NO_PERMISSION answers name: the
// profile's "Zoho CRM API Access" permission (its name is an assumption).
const noPermissionName = "Crm_Implied_Api_Access"

// SetNoPermission makes every API call answer 403 NO_PERMISSION,
// "permission denied", details {"permissions":["Crm_Implied_Api_Access"]}
// (crm-oas v8.0/common.json PermissionError), as Zoho does when the user's
// profile lacks API access (on), or behave normally (off).
func (s *Server) SetNoPermission(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noPermission = on
}

// DependentServiceErrorNext makes the next n records that pass every check
// fail with DEPENDENT_SERVICE_ERROR, details {"dependency_error":
// dependencyError} (zoho-crm-api.md: NO_PERMISSION, LIMIT_EXCEEDED,
// PROCESSING_ERROR or CANNOT_PROCESS), without being written: a service the
// record depends on (lookup, workflow) failed.
func (s *Server) DependentServiceErrorNext(n int, dependencyError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dependentServiceNext, s.dependencyError = n, dependencyError
}
