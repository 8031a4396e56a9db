package zohoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// Class says what a caller should do with a failure. Every error this package
// returns, and every per-record error, maps to exactly one Class (see Classify and
// ClassifyRecord). The zero Class is not a valid classification.
type Class int

const (
	// ClassPermanent: the record (or the batch, for a request-level 400 without
	// data[]) will never be accepted as sent. Dead-letter it; for a whole-batch
	// rejection, split the batch to isolate the bad record. Retrying is pointless.
	ClassPermanent Class = iota + 1
	// ClassTransient: Zoho or the network failed (5xx, INTERNAL_ERROR, timeouts,
	// connection errors). Retry with backoff; counts toward the circuit breaker.
	ClassTransient
	// ClassThrottled: Zoho refused for rate reasons (429 TOO_MANY_REQUESTS, the
	// token endpoint's "Access Denied"). Retry after a longer backoff; do not hammer.
	ClassThrottled
	// ClassConfig: no retry fixes this (bad client secret, revoked refresh token,
	// scope mismatch, wrong module or data center). Stop delivery, commit nothing
	// further, alert.
	ClassConfig
)

// String returns "permanent", "transient", "throttled", "config" or "unclassified".
func (c Class) String() string {
	switch c {
	case ClassPermanent:
		return "permanent"
	case ClassTransient:
		return "transient"
	case ClassThrottled:
		return "throttled"
	case ClassConfig:
		return "config"
	}
	return "unclassified"
}

// classRule is one row of the classification table: a Zoho error code,
// optionally narrowed by details.dependency_error, and the class it maps to.
type classRule struct {
	code       string // Zoho's "code" (record-level or request-level)
	dependency string // details.dependency_error; "" matches any (or none)
	class      Class
	source     string // where Zoho documents the code
}

// classTable is the one place where Zoho's error codes are classified. It serves
// per-record errors (data[] items of an upsert response) and request-level errors
// alike. Sources: Zoho CRM v8 API reference "Upsert Records" (error list) and
// "Status Codes"; zoho-crm-api.md tables "Per-record error codes" and
// "Request-level errors". Codes not listed: per-record → ClassPermanent;
// request-level → decided by the HTTP status (see classifyAPI).
var classTable = []classRule{
	// Per-record rejections: the record itself is wrong; dead-letter.
	{"MANDATORY_NOT_FOUND", "", ClassPermanent, "Upsert Records: required field not found"},
	{"INVALID_DATA", "", ClassPermanent, "Upsert Records: invalid data / invalid field API name / over-long value"},
	{"DUPLICATE_DATA", "", ClassPermanent, "Upsert Records: a unique field other than the match key collides"},
	{"MULTIPLE_OR_MULTI_ERRORS", "", ClassPermanent, "Upsert Records: several record errors at once (details.errors[])"},
	{"DEPENDENT_FIELD_MISSING", "", ClassPermanent, "Upsert Records: field dependency rule, dependee missing"},
	{"DEPENDENT_MISMATCH", "", ClassPermanent, "Upsert Records: field dependency rule, value mismatch"},
	{"RECORD_LOCKED", "", ClassPermanent, "Upsert Records: record locked (e.g. in approval or blueprint)"},
	{"NOT_APPROVED", "", ClassPermanent, "Upsert Records: record awaiting approval"},
	// A dependent service (lookup, workflow engine) failed; depends on why.
	{"DEPENDENT_SERVICE_ERROR", "LIMIT_EXCEEDED", ClassTransient, "Upsert Records: DEPENDENT_SERVICE_ERROR, dependency_error LIMIT_EXCEEDED"},
	{"DEPENDENT_SERVICE_ERROR", "PROCESSING_ERROR", ClassTransient, "Upsert Records: DEPENDENT_SERVICE_ERROR, dependency_error PROCESSING_ERROR"},
	// Assumption: NO_PERMISSION/CANNOT_PROCESS (and unknown values) inside a
	// dependent service concern one record's related data: dead-letter, do not stop.
	{"DEPENDENT_SERVICE_ERROR", "", ClassPermanent, "Upsert Records: DEPENDENT_SERVICE_ERROR, other dependency_error (NO_PERMISSION, CANNOT_PROCESS)"},
	// Zoho-side failures.
	{"INTERNAL_ERROR", "", ClassTransient, "Status Codes: 500 INTERNAL_ERROR"},
	// Rate limits.
	{"TOO_MANY_REQUESTS", "", ClassThrottled, "API Limits: 429 TOO_MANY_REQUESTS (credits or concurrency exhausted)"},
	// Assumption: a top-level LIMIT_EXCEEDED is a rate limit; we never send more
	// than 100 records, the other documented cause.
	{"LIMIT_EXCEEDED", "", ClassThrottled, "Status Codes: LIMIT_EXCEEDED (API limits)"},
	// Expired or invalidated access token. The client already refreshed once and
	// retried once; a fresh token can succeed later (another replica may have
	// pushed ours out of the 15 live tokens), and a wrong data center is caught
	// at mint time by the api_domain check.
	{"INVALID_TOKEN", "", ClassTransient, "Status Codes: 401 INVALID_TOKEN (invalid oauth token)"},
	// Configuration: stop delivery.
	{"OAUTH_SCOPE_MISMATCH", "", ClassConfig, "Status Codes: 401 OAUTH_SCOPE_MISMATCH (token lacks ZohoCRM.modules scope)"},
	{"AUTHENTICATION_FAILURE", "", ClassConfig, "Status Codes: 401 AUTHENTICATION_FAILURE"},
	{"NO_PERMISSION", "", ClassConfig, "Status Codes: 403 NO_PERMISSION (details.permissions[])"},
	{"INVALID_URL_PATTERN", "", ClassConfig, "Status Codes: 404 INVALID_URL_PATTERN (wrong module or API host)"},
	{"INVALID_MODULE", "", ClassConfig, "Upsert Records: 400 INVALID_MODULE (inside data[])"},
	{"AUTHORIZATION_FAILED", "", ClassConfig, "Upsert Records: 400 AUTHORIZATION_FAILED (inside data[])"},
	{"INVALID_REQUEST_METHOD", "", ClassConfig, "Upsert Records: 400 INVALID_REQUEST_METHOD (inside data[])"},
	{"INVALID_HOST", "", ClassConfig, "Status Codes: 400 INVALID_HOST (host other than www.zohoapis.{dc})"},
}

// PermanentCodes returns Zoho's documented codes of record rejections
// (ClassPermanent in classTable), each once, in the table's order: the codes a
// dead-letter record carries when Zoho rejected it.
func PermanentCodes() []string {
	var out []string
	for _, r := range classTable {
		if r.class == ClassPermanent && !slices.Contains(out, r.code) {
			out = append(out, r.code)
		}
	}
	return out
}

// lookupClass finds code (and dependency) in classTable.
func lookupClass(code, dependency string) (Class, bool) {
	for _, r := range classTable {
		if r.code == code && (r.dependency == "" || r.dependency == dependency) {
			return r.class, true
		}
	}
	return 0, false
}

// ClassifyRecord classifies a per-record error from an upsert response by its
// Zoho code (and, for DEPENDENT_SERVICE_ERROR, details.dependency_error). Codes
// Zoho does not document are ClassPermanent: the record goes to the dead-letter
// topic, where it can be inspected and replayed. A nil error is ClassPermanent too.
func ClassifyRecord(e *RecordError) Class {
	if e == nil {
		return ClassPermanent
	}
	if c, ok := lookupClass(e.Code, dependencyError(e.Details)); ok {
		return c
	}
	return ClassPermanent
}

// Classify classifies any error returned by this package:
//   - *DataCenterMismatchError: ClassConfig;
//   - *TokenError: ClassThrottled when Throttled, else ClassConfig;
//   - *APIError: by Zoho code via the classification table, else by HTTP status
//     (429 throttled, 5xx transient, 401 transient, 403/404 config, other 4xx
//     permanent, unparseable 2xx transient);
//   - *MintWaitError (the local mint budget is spent): ClassThrottled;
//   - *RecordError: ClassifyRecord;
//   - ErrBatchSize, ErrInvalidRecord: ClassPermanent; ErrNoModule: ClassConfig;
//   - context errors, timeouts, connection errors and anything else: ClassTransient.
//
// A nil error returns the zero Class ("unclassified").
func Classify(err error) Class {
	if err == nil {
		return 0
	}
	var dcErr *DataCenterMismatchError
	var tokErr *TokenError
	var apiErr *APIError
	var recErr *RecordError
	var waitErr *MintWaitError
	switch {
	case errors.As(err, &waitErr):
		return ClassThrottled
	case errors.As(err, &dcErr):
		return ClassConfig
	case errors.As(err, &tokErr):
		if tokErr.Throttled {
			return ClassThrottled
		}
		return ClassConfig
	case errors.As(err, &apiErr):
		return classifyAPI(apiErr)
	case errors.As(err, &recErr):
		return ClassifyRecord(recErr)
	case errors.Is(err, ErrBatchSize), errors.Is(err, ErrInvalidRecord):
		return ClassPermanent
	case errors.Is(err, ErrNoModule):
		return ClassConfig
	}
	// context.Canceled, context.DeadlineExceeded, net.Error timeouts, refused
	// connections, resets, DNS failures: all worth a retry.
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &netErr) {
		return ClassTransient
	}
	return ClassTransient
}

// TokenThrottled reports whether err is throttling of the access token, not
// of the CRM API: the local mint budget is spent (*MintWaitError), or Zoho's
// token endpoint answered its throttle (*TokenError with Throttled: "Access
// Denied, You have made too many requests continuously", zoho-crm-api.md
// "OAuth 2.0": more than 10 access tokens per refresh token in 10 minutes).
// Both are ClassThrottled; no CRM API call was made, so neither says
// anything about Zoho CRM's health (delivery's circuit breaker leaves them
// out).
func TokenThrottled(err error) bool {
	var waitErr *MintWaitError
	var tokErr *TokenError
	return errors.As(err, &waitErr) || (errors.As(err, &tokErr) && tokErr.Throttled)
}

// classifyAPI classifies a request-level error: status first for the statuses
// whose meaning does not depend on the code, then the table, then the status.
func classifyAPI(e *APIError) Class {
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return ClassThrottled
	case e.StatusCode >= 500:
		return ClassTransient
	}
	if c, ok := lookupClass(e.Code, dependencyError(e.Details)); ok {
		return c
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized, e.Code == "":
		// Only Zoho's documented codes (the table) say what is wrong. At 401
		// another code, and at any status a body that is not Zoho's JSON (a
		// proxy, a load balancer, an outage page: zoho-crm-api.md "OAuth
		// 2.0"), is an outage: retry (a 401 after a fresh token), never a
		// configuration stop and never a reason to dead-letter records.
		return ClassTransient
	case e.StatusCode == http.StatusForbidden, e.StatusCode == http.StatusNotFound:
		return ClassConfig
	case e.StatusCode >= 400:
		// e.g. 400 INVALID_DATA at request level: one record spoils the batch;
		// the caller splits the batch to find it.
		return ClassPermanent
	}
	// 2xx with an unusable body (not JSON, wrong number of results): retry.
	return ClassTransient
}

// dependencyError returns details.dependency_error, or "".
func dependencyError(details json.RawMessage) string {
	if len(details) == 0 {
		return ""
	}
	var d struct {
		DependencyError string `json:"dependency_error"`
	}
	if json.Unmarshal(details, &d) != nil {
		return ""
	}
	return d.DependencyError
}

// Errors returned by Upsert before anything is sent.
var (
	// ErrBatchSize: an upsert needs 1..100 records (Zoho: "data" holds at most
	// 100). ClassPermanent: split the batch.
	ErrBatchSize = errors.New("zohoapi: an upsert takes 1 to 100 records")
	// ErrInvalidRecord: a record has no fields, or a field has no name or
	// no value. ClassPermanent.
	ErrInvalidRecord = errors.New("zohoapi: record has no fields, or a field without name or value")
	// ErrNoModule: UpsertRequest.Module (or the Fields module) is empty. ClassConfig.
	ErrNoModule = errors.New("zohoapi: no module given")
	// ErrMalformedResponse: Zoho's answer could not be used: not JSON, or not one
	// result per record. Wrapped by an *APIError carrying the HTTP status.
	ErrMalformedResponse = errors.New("zohoapi: malformed response")
)

// APIError is a request-level failure of a CRM API call: a non-success HTTP status
// with Zoho's error body {"code","details","message","status":"error"}, a
// configuration-class code found inside data[] (INVALID_MODULE,
// AUTHORIZATION_FAILED, INVALID_REQUEST_METHOD), or an unusable response.
// Classify it with Classify.
type APIError struct {
	// StatusCode is the HTTP status, e.g. 401, 429, 500.
	StatusCode int
	// Code is Zoho's error code (INVALID_TOKEN, NO_PERMISSION, ...), "" when the
	// body carried none.
	Code string
	// Message is Zoho's message, or a description of the unusable response.
	Message string
	// Details is Zoho's details object, raw; nil when absent.
	Details json.RawMessage
	// Err is an underlying cause (ErrMalformedResponse), or nil.
	Err error
	// CreditsRemaining is the org's credits left in the rolling 24 h window
	// as the answer's CreditsHeader reported them; CreditsReported says
	// whether it did (the zero value: not reported).
	CreditsRemaining int
	CreditsReported  bool
}

// CreditsExhausted reports whether e is Zoho refusing a call because the
// org's API credits for the rolling 24 h window are spent, rather than
// because too many calls run at once: HTTP 429 TOO_MANY_REQUESTS (Zoho CRM v8
// "Status Codes": "the number of API requests for the 24 hour period is
// exceeded or the concurrency limit ... is exceeded") whose answer reported 0
// credits remaining (CreditsHeader), or whose message names the credits
// (Zoho's exact text is unconfirmed; the simulator's is "API credits for the
// last 24 hours are exhausted"). Any other 429 is the concurrency limit.
func (e *APIError) CreditsExhausted() bool {
	if e.StatusCode != http.StatusTooManyRequests && e.Code != "TOO_MANY_REQUESTS" {
		return false
	}
	return (e.CreditsReported && e.CreditsRemaining == 0) || strings.Contains(strings.ToLower(e.Message), "credit")
}

// Error returns "zoho API: HTTP <status> <code>: <message>".
func (e *APIError) Error() string {
	s := fmt.Sprintf("zoho API: HTTP %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap returns the underlying cause, if any.
func (e *APIError) Unwrap() error { return e.Err }

// RecordError is Zoho's rejection of one record in an upsert response (a data[]
// item with "status":"error"). It implements error. Classify with ClassifyRecord.
//
// MULTIPLE_OR_MULTI_ERRORS (several problems with one record; Zoho CRM v8
// "Upsert Records", details.errors[] holding one error item per problem, e.g.
// a lead missing both Last_Name and Company) is unfolded so that no problem
// hides behind the first: when every inner error has the same code, Code
// (and Message, when theirs agree) is that code, so a record missing two
// mandatory fields is MANDATORY_NOT_FOUND; otherwise Code stays
// MULTIPLE_OR_MULTI_ERRORS. Field names every inner error's field, and
// Details keeps Zoho's details with its errors[] as sent.
type RecordError struct {
	// Code is Zoho's code: MANDATORY_NOT_FOUND, INVALID_DATA, DUPLICATE_DATA,
	// ..., or the one code of every inner error of MULTIPLE_OR_MULTI_ERRORS.
	Code string
	// Message is Zoho's message, e.g. "required field not found".
	Message string
	// Field is the field API name at fault: details.api_name, or for
	// MULTIPLE_OR_MULTI_ERRORS the inner errors' api_names in Zoho's order,
	// each once, comma-separated ("Last_Name,Company"); "" if unknown.
	Field string
	// Details is Zoho's details object as raw JSON, "{}" if none.
	Details json.RawMessage
}

// InvalidDataFields returns the fields whose values Zoho refused with
// INVALID_DATA (Zoho doc "Upsert Records": a value of the wrong type, too
// long, or a field API name that does not exist), in Zoho's order: the
// record's own field for an INVALID_DATA, the inner errors' for
// MULTIPLE_OR_MULTI_ERRORS; nil for other codes.
func (e *RecordError) InvalidDataFields() []string {
	if e.Code == "INVALID_DATA" {
		if e.Field == "" {
			return nil
		}
		return strings.Split(e.Field, ",")
	}
	var out []string
	gjson.GetBytes(e.Details, "errors").ForEach(func(_, inner gjson.Result) bool {
		if inner.Get("code").String() == "INVALID_DATA" {
			if f := inner.Get("details.api_name").String(); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		return true
	})
	return out
}

// newRecordError builds the RecordError of a data[] item with Zoho's code,
// message and details (see RecordError for MULTIPLE_OR_MULTI_ERRORS).
func newRecordError(code, message string, details gjson.Result) *RecordError {
	re := &RecordError{Code: code, Message: message, Details: emptyDetails}
	if !details.IsObject() {
		return re
	}
	re.Details = json.RawMessage(details.Raw)
	if re.Field = details.Get("api_name").String(); re.Field != "" {
		return re
	}
	inner := details.Get("errors")
	if !inner.IsArray() {
		return re
	}
	var fields, codes, messages []string
	inner.ForEach(func(_, e gjson.Result) bool {
		f := e.Get("details.api_name").String()
		if f == "" {
			f = e.Get("api_name").String()
		}
		if f != "" && !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
		codes = append(codes, e.Get("code").String())
		messages = append(messages, e.Get("message").String())
		return true
	})
	re.Field = strings.Join(fields, ",")
	if code == codeMultipleErrors && len(codes) > 0 && codes[0] != "" && allEqual(codes) {
		re.Code = codes[0]
		if messages[0] != "" && allEqual(messages) {
			re.Message = messages[0]
		}
	}
	return re
}

// codeMultipleErrors is Zoho's code for several errors of one record.
const codeMultipleErrors = "MULTIPLE_OR_MULTI_ERRORS"

func allEqual(s []string) bool {
	for _, v := range s[1:] {
		if v != s[0] {
			return false
		}
	}
	return true
}

// Error returns "zoho record error <code>: <message> (field <api_name>)".
func (e *RecordError) Error() string {
	s := "zoho record error " + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

// TokenError is a refusal from Zoho's token endpoint: a body with an "error" key
// (Zoho answers these with HTTP 200, sometimes 400). Throttled errors ("Access
// Denied", too many requests: more than 10 tokens per refresh token per 10
// minutes) are ClassThrottled; every other code (invalid_client,
// invalid_client_secret, invalid_code, ...) is ClassConfig. The message says what
// to check; it never contains a secret.
type TokenError struct {
	// Code is Zoho's "error" value, e.g. "invalid_client", "Access Denied".
	Code string
	// Description is Zoho's "error_description", if any.
	Description string
	// Throttled is true for the token endpoint's rate limit.
	Throttled bool
}

// Error names Zoho's error code and says what to check; it never contains a secret.
func (e *TokenError) Error() string {
	s := "zoho token endpoint refused: " + e.Code
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	if h := tokenErrorHint(e); h != "" {
		s += ": " + h
	}
	return s
}

// tokenErrorHint says what an operator should check for a token error code.
// Source: zoho-crm-api.md "OAuth 2.0" and "What integrators got wrong".
func tokenErrorHint(e *TokenError) string {
	if e.Throttled {
		return "too many access tokens minted for this refresh token (Zoho allows 10 per 10 minutes); backing off. Share one token (token cache file) instead of minting per process"
	}
	switch e.Code {
	case "invalid_client":
		return "the client ID is unknown in this data center: check that zoho.data_center / zoho.accounts_url name the data center where the client was created, and check zoho.client_id"
	case "invalid_client_secret":
		return "check zoho.client_secret (it must belong to zoho.client_id)"
	case "invalid_code":
		return "the refresh token (or grant code) is invalid, expired or revoked: generate a new one (consumer zoho token exchange) and check the data center"
	}
	return "check zoho.client_id, zoho.client_secret, zoho.refresh_token and the data center"
}
