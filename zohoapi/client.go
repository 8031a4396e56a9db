package zohoapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Limits of the CRM API client.
const (
	// MaxRecordsPerUpsert is Zoho's limit on data[] in one upsert call.
	MaxRecordsPerUpsert = 100
	// RecordsPerCredit: an upsert costs one API credit per 10 records, rounded up
	// (Zoho "API Limits").
	RecordsPerCredit = 10
	// maxResponseBody bounds what is read from a CRM API response.
	maxResponseBody = 32 << 20
)

// Credits returns the API credits an upsert of records costs: 1 per 10
// records, rounded up (1..100 records cost 1..10 credits; 0 records cost 0).
func Credits(records int) int {
	if records <= 0 {
		return 0
	}
	return (records + RecordsPerCredit - 1) / RecordsPerCredit
}

// ClientOptions configure a Client.
type ClientOptions struct {
	// Endpoints: API is the CRM base URL ("https://www.zohoapis.eu").
	Endpoints Endpoints
	// Tokens supplies access tokens; required.
	Tokens *TokenSource
	// HTTPClient; nil = a client whose transport keeps enough idle connections
	// per host for concurrent upserts.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt (a 401 retry gets its own);
	// zohosink's value is zoho.request_timeout. Zero: no bound of its own,
	// the caller's context bounds the call.
	Timeout time.Duration
}

// Client calls the Zoho CRM v8 API: Upsert and Fields. Safe for concurrent use.
type Client struct {
	api     string
	tokens  *TokenSource
	hc      *http.Client
	timeout time.Duration
}

// NewClient returns a Client. It panics if o.Tokens is nil (a wiring bug).
func NewClient(o ClientOptions) *Client {
	if o.Tokens == nil {
		panic("zohoapi.NewClient: ClientOptions.Tokens is nil")
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: tr}
	}
	return &Client{api: o.Endpoints.API, tokens: o.Tokens, hc: hc, timeout: o.Timeout}
}

// Tokens returns the TokenSource the client's calls take access tokens from.
func (c *Client) Tokens() *TokenSource { return c.tokens }

// UpsertRequest is one call to Zoho's Upsert Records API.
type UpsertRequest struct {
	// Module is the module API name, case-sensitive ("Leads").
	Module string
	// Records are 1..100 records, encoded into the request body by
	// Record.AppendJSON (their values as they are: see Record).
	Records []Record
	// DuplicateCheckFields, e.g. ["Email"]; nil omits the key (Zoho then uses
	// the module's system unique field, Email for Leads, and unique fields).
	DuplicateCheckFields []string
	// Trigger, e.g. ["workflow"]; nil omits the key (Zoho runs workflows,
	// approvals and blueprints); a non-nil empty slice sends "trigger":[] (none run).
	Trigger []string
	// Answered, when not nil, is called once Zoho's HTTP answer has been
	// read, before it is parsed: from then on the call holds none of the
	// org's concurrent-call slots (Zoho counts a call until it answers), so
	// the caller may start its next call. Not called when Upsert fails
	// before an answer to the upsert is in hand (no access token, a
	// transport error, a timeout, 401 after the token was renewed).
	Answered func()
}

// UpsertResult is Zoho's answer to an upsert that reached record processing
// (HTTP 200, 207, or 400 with data[]).
type UpsertResult struct {
	// Results holds one entry per input record, in input order.
	Results []RecordResult
	// StatusCode is the HTTP status: 200 all succeeded, 207 mixed, 400 all failed.
	StatusCode int
	// Credits this call cost: Credits(len(Records)).
	Credits int
	// CreditsRemaining is the org's credits left in the rolling 24 h window as
	// the answer's CreditsHeader reported them (Zoho sends it once half the
	// day's credits are used); CreditsReported says whether it did (the zero
	// value: not reported).
	CreditsRemaining int
	CreditsReported  bool
}

// RecordResult is Zoho's verdict on one record.
type RecordResult struct {
	// Action is "insert" or "update" on success, "" on error.
	Action string
	// ID is the CRM record id on success (details.id).
	ID string
	// DuplicateField is the field the record was matched on for an update
	// ("Email"), "" for an insert or an error.
	DuplicateField string
	// Err is nil on success. Classify it with ClassifyRecord.
	Err *RecordError
}

// Upsert inserts or updates r.Records (POST {api}/crm/v8/{module}/upsert with
// Authorization: Zoho-oauthtoken). It returns one RecordResult per record for
// HTTP 200, 207 and 400-with-data[]. Before sending it refuses 0 or more than 100
// records (ErrBatchSize), records without fields or with a field without name
// or value (ErrInvalidRecord)
// and an empty module (ErrNoModule). On a 401 other than Zoho's configuration
// codes it gets a fresh token and retries once (see do). Request-level failures: *APIError
// (including configuration codes Zoho puts inside data[]: INVALID_MODULE,
// AUTHORIZATION_FAILED, INVALID_REQUEST_METHOD), *TokenError,
// *DataCenterMismatchError, or a wrapped transport/context error. Use Classify.
func (c *Client) Upsert(ctx context.Context, r UpsertRequest) (*UpsertResult, error) {
	if r.Module == "" {
		return nil, ErrNoModule
	}
	n := len(r.Records)
	if n == 0 || n > MaxRecordsPerUpsert {
		return nil, fmt.Errorf("%w: got %d", ErrBatchSize, n)
	}
	body, err := upsertBody(r)
	if err != nil {
		return nil, err
	}
	u := c.api + "/crm/v8/" + url.PathEscape(r.Module) + "/upsert"
	status, hdr, respBody, err := c.do(ctx, http.MethodPost, u, body)
	if err == nil && r.Answered != nil {
		r.Answered()
	}
	if err != nil {
		return nil, err
	}
	remaining, reported := creditsRemaining(hdr)
	res, err := parseUpsert(status, respBody, n)
	if err != nil {
		return nil, withCredits(err, remaining, reported)
	}
	res.Credits = Credits(n)
	res.CreditsRemaining, res.CreditsReported = remaining, reported
	return res, nil
}

// CreditsHeader is the response header in which Zoho reports the org's API
// credits left in the rolling 24 h window, once at least half of the day's
// credits (add-on credits excluded) are used (Zoho CRM v8 "API Limits").
const CreditsHeader = "X-API-CREDITS-REMAINING"

// creditsRemaining reads CreditsHeader from h: the credits left and whether
// the answer reported them (absent or not a non-negative integer: not reported).
func creditsRemaining(h http.Header) (int, bool) {
	v := h.Get(CreditsHeader)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// withCredits records the credits an answer reported on its *APIError.
func withCredits(err error, remaining int, reported bool) error {
	var apiErr *APIError
	if reported && errors.As(err, &apiErr) {
		apiErr.CreditsRemaining, apiErr.CreditsReported = remaining, true
	}
	return err
}

// upsertBody builds {"data":[r0,r1,...],"duplicate_check_fields":[...],"trigger":[...]}
// with Record.AppendJSON, in one buffer sized up front.
func upsertBody(r UpsertRequest) ([]byte, error) {
	size := len(`{"data":[]}`) + len(r.Records)
	for i, rec := range r.Records {
		if len(rec) == 0 {
			return nil, fmt.Errorf("%w: record %d has no fields", ErrInvalidRecord, i)
		}
		for _, f := range rec {
			if f.Name == "" || len(f.Value) == 0 {
				return nil, fmt.Errorf("%w: record %d has a field without name or value", ErrInvalidRecord, i)
			}
		}
		size += rec.jsonSize()
	}
	size += len(`,"duplicate_check_fields":[],"trigger":[]`) + stringsSize(r.DuplicateCheckFields) + stringsSize(r.Trigger)
	body := make([]byte, 0, size)
	body = append(body, `{"data":[`...)
	for i, rec := range r.Records {
		if i > 0 {
			body = append(body, ',')
		}
		body = rec.AppendJSON(body)
	}
	body = append(body, ']')
	if r.DuplicateCheckFields != nil {
		body = appendStrings(append(body, `,"duplicate_check_fields":`...), r.DuplicateCheckFields)
	}
	if r.Trigger != nil {
		body = appendStrings(append(body, `,"trigger":`...), r.Trigger)
	}
	return append(body, '}'), nil
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = gjson.AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

// stringsSize is the length of appendStrings' output without escapes.
func stringsSize(ss []string) int {
	n := 0
	for _, s := range ss {
		n += len(s) + 3
	}
	return n
}

// do sends one authorised request. On a 401 that is not one of Zoho's
// configuration codes (INVALID_TOKEN, another code, or a body that is not
// Zoho's JSON, as proxies and outage pages send) it invalidates the token and,
// if the TokenSource grants a fresh one (see TokenSource.Invalidate), sends
// the request once more. It returns the status, headers and body of the final
// attempt; statuses are interpreted by the caller, except that a final 401
// becomes an *APIError (ClassTransient unless a configuration code).
func (c *Client) do(ctx context.Context, method, u string, body []byte) (int, http.Header, []byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("zoho access token: %w", err)
		}
		status, hdr, respBody, err := c.send(ctx, method, u, tok, body)
		if err != nil {
			return 0, nil, nil, err
		}
		if status != http.StatusUnauthorized {
			return status, hdr, respBody, nil
		}
		apiErr := requestError(status, respBody)
		if n, ok := creditsRemaining(hdr); ok {
			apiErr.CreditsRemaining, apiErr.CreditsReported = n, true
		}
		if attempt == 0 && Classify(apiErr) != ClassConfig && c.tokens.Invalidate(tok) {
			continue
		}
		return 0, nil, nil, apiErr
	}
}

// send performs one HTTP attempt bounded by c.timeout (when set).
func (c *Client) send(ctx context.Context, method, u, tok string, body []byte) (int, http.Header, []byte, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("zoho %s request: %w", method, err)
	}
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error names method and URL (no token: it is in a header).
		return 0, nil, nil, fmt.Errorf("zoho request: %w", err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("zoho response (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, respBody, nil
}

// errorBody is Zoho's request-level error {"code","details","message","status"};
// a few errors come as a one-item data[] instead.
type errorBody struct {
	Data    []errorBody     `json:"data"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

// parseUpsert turns an upsert response into per-record results (2xx or 400 with
// data[]) or an error. It walks the body once with gjson instead of decoding it
// into structs: the success items carry Modified_By/Created_By objects we do not
// need, and this keeps the client's cost per 100-record call low.
func parseUpsert(status int, body []byte, n int) (*UpsertResult, error) {
	ok2xx := status >= 200 && status <= 299
	if !ok2xx && status != http.StatusBadRequest {
		return nil, requestError(status, body)
	}
	if !gjson.ValidBytes(body) {
		return nil, malformed(status, body, "body is not JSON")
	}
	data := gjson.GetBytes(body, "data")
	if !data.IsArray() || data.Raw == "[]" {
		if ok2xx {
			return nil, malformed(status, body, "no data[] in the answer")
		}
		return requestErrorResult(status, body)
	}
	// One pass over data[]: results are collected, then checked as a whole.
	results := make([]RecordResult, 0, n)
	var cfgErr *APIError
	data.ForEach(func(_, it gjson.Result) bool {
		var code, st, msg, action, dup string
		var details gjson.Result
		it.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "code":
				code = v.String()
			case "status":
				st = v.String()
			case "message":
				msg = v.String()
			case "action":
				action = v.String()
			case "duplicate_field":
				if v.Type == gjson.String {
					dup = v.Str
				}
			case "details":
				details = v
			}
			return true
		})
		var rr RecordResult
		if st == "success" || code == "SUCCESS" {
			rr.Action, rr.DuplicateField = action, dup
			if id := details.Get("id"); id.Type == gjson.Number {
				rr.ID = id.Raw // a string per Zoho's docs; a number is tolerated
			} else {
				rr.ID = id.String()
			}
			results = append(results, rr)
			return true
		}
		if c, _ := lookupClass(code, ""); c == ClassConfig {
			// Configuration codes inside data[] fail the whole request.
			cfgErr = &APIError{StatusCode: status, Code: code, Message: msg, Details: rawOrNil(details)}
			return false
		}
		re := newRecordError(code, msg, details)
		rr.Err = re
		results = append(results, rr)
		return true
	})
	if cfgErr != nil {
		return nil, cfgErr
	}
	if len(results) != n {
		return nil, malformed(status, nil, fmt.Sprintf("%d results for %d records", len(results), n))
	}
	return &UpsertResult{StatusCode: status, Results: results}, nil
}

// requestErrorResult is requestError for parseUpsert's return shape.
func requestErrorResult(status int, body []byte) (*UpsertResult, error) {
	return nil, requestError(status, body)
}

// rawOrNil returns a JSON value's raw text, or nil when absent.
func rawOrNil(v gjson.Result) json.RawMessage {
	if !v.Exists() {
		return nil
	}
	return json.RawMessage(v.Raw)
}

var emptyDetails = json.RawMessage("{}")

// requestError builds the *APIError of a request-level failure from Zoho's
// {"code","details","message","status"} body (a non-JSON body keeps only the status).
func requestError(status int, body []byte) *APIError {
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		return malformed(status, body, "error body is not JSON")
	}
	if e.Code == "" && len(e.Data) > 0 {
		// Some errors come as a one-item data[] (e.g. 401 inside data).
		e.Code, e.Message, e.Details = e.Data[0].Code, e.Data[0].Message, e.Data[0].Details
	}
	if e.Message == "" && e.Code == "" {
		e.Message = http.StatusText(status)
	}
	return &APIError{StatusCode: status, Code: e.Code, Message: e.Message, Details: e.Details}
}

// malformed describes an unusable response, quoting at most 120 bytes of it.
func malformed(status int, body []byte, what string) *APIError {
	msg := what
	if len(body) > 0 {
		q := body
		if len(q) > 120 {
			q = q[:120]
		}
		msg += ": " + strconv.Quote(string(q))
	}
	return &APIError{StatusCode: status, Message: msg, Err: ErrMalformedResponse}
}
