package zohoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiCall is one request seen by the fake CRM API.
type apiCall struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   []byte
}

// fakeAPI is a Zoho CRM API host answering with respond(call number, call).
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []apiCall
	respond func(w http.ResponseWriter, n int, c apiCall)
}

func newFakeAPI(t *testing.T, respond func(w http.ResponseWriter, n int, c apiCall)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := apiCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body}
		f.mu.Lock()
		f.calls = append(f.calls, c)
		n := len(f.calls)
		f.mu.Unlock()
		f.respond(w, n, c)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) Calls() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

// reply writes status, optional headers and body.
func reply(status int, body string, hdr ...string) func(http.ResponseWriter, int, apiCall) {
	return func(w http.ResponseWriter, _ int, _ apiCall) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// newTestClient wires a Client to a fake API and a fake accounts server that
// mints tok-1, tok-2, ... The API host is not Zoho's, so api_domain is unchecked.
func newTestClient(t *testing.T, api *fakeAPI, timeout time.Duration) (*Client, *TokenSource, *fakeAccounts) {
	t.Helper()
	acc := newFakeAccounts(t, okToken(api.URL))
	eps := Endpoints{API: api.URL, Accounts: acc.URL}
	ts := NewTokenSource(TokenSourceOptions{Endpoints: eps, Credentials: testCreds, HTTPClient: acc.Client()})
	return NewClient(ClientOptions{Endpoints: eps, Tokens: ts, Timeout: timeout}), ts, acc
}

func records(n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{
			{Name: "Email", Value: fmt.Appendf(nil, `"user%d@example.com"`, i)},
			{Name: "Last_Name", Value: fmt.Appendf(nil, `"User %d"`, i)},
		}
	}
	return out
}

const (
	successInsert = `{"code":"SUCCESS","duplicate_field":null,"action":"insert","details":{"Modified_Time":"2020-10-14T10:31:43+05:30","Modified_By":{"name":"Patricia Boyle","id":"4150868000000225013"},"Created_Time":"2020-10-14T10:31:43+05:30","id":"4150868000003194003","Created_By":{"name":"Patricia Boyle","id":"4150868000000225013"}},"message":"record added","status":"success"}`
	successUpdate = `{"code":"SUCCESS","duplicate_field":"Email","action":"update","details":{"Modified_Time":"2020-10-14T10:31:43+05:30","Modified_By":{"name":"Patricia Boyle","id":"4150868000000225013"},"Created_Time":"2020-10-14T10:20:00+05:30","id":"4150868000003194004","Created_By":{"name":"Patricia Boyle","id":"4150868000000225013"}},"message":"record updated","status":"success"}`
	errMandatory  = `{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name","json_path":"$.data[1].Last_Name"},"message":"required field not found","status":"error"}`
	errInvalid    = `{"code":"INVALID_DATA","details":{"expected_data_type":"email","api_name":"Email","json_path":"$.data[2].Email"},"message":"invalid data","status":"error"}`
	errDuplicate  = `{"code":"DUPLICATE_DATA","details":{"api_name":"Phone","json_path":"$.data[0].Phone","duplicate_record":{"module":{"api_name":"Leads","id":"4150868000000002175"},"id":"4150868000000231001","Owner":{"name":"Patricia Boyle","id":"4150868000000225013"}},"more_records":false},"message":"duplicate data","status":"error"}`
	errMulti      = `{"code":"MULTIPLE_OR_MULTI_ERRORS","details":{"errors":[{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name","json_path":"$.data[0].Last_Name"},"message":"required field not found","status":"error"},{"code":"INVALID_DATA","details":{"api_name":"Email","json_path":"$.data[0].Email"},"message":"invalid data","status":"error"}]},"message":"multiple errors occurred","status":"error"}`
	errMissing2   = `{"code":"MULTIPLE_OR_MULTI_ERRORS","details":{"errors":[{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name","json_path":"$.data[0].Last_Name"},"message":"required field not found","status":"error"},{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Company","json_path":"$.data[0].Company"},"message":"required field not found","status":"error"}]},"message":"multiple errors occurred","status":"error"}`
	errNoDetails  = `{"code":"RECORD_LOCKED","message":"the record is locked","status":"error"}`
)

func data(items ...string) string { return `{"data":[` + strings.Join(items, ",") + `]}` }

func TestUpsertRequestShape(t *testing.T) {
	recs := []Record{
		{{Name: "Email", Value: []byte(`"jane.doe@example.com"`)}, {Name: "Last_Name", Value: []byte(`"Doe"`)}},
		{{Name: "Email", Value: []byte(`"b@example.com"`)}, {Name: "Phone", Value: []byte(`"+1 555"`)}, {Name: "Interests", Value: []byte(`["CRM","Chat"]`)}},
	}
	tests := []struct {
		name string
		req  UpsertRequest
		want string
	}{
		{"defaults omitted", UpsertRequest{Module: "Leads", Records: recs},
			`{"data":[{"Email":"jane.doe@example.com","Last_Name":"Doe"},{"Email":"b@example.com","Phone":"+1 555","Interests":["CRM","Chat"]}]}`},
		{"duplicate check and no triggers", UpsertRequest{Module: "Leads", Records: recs, DuplicateCheckFields: []string{"Email"}, Trigger: []string{}},
			`{"data":[{"Email":"jane.doe@example.com","Last_Name":"Doe"},{"Email":"b@example.com","Phone":"+1 555","Interests":["CRM","Chat"]}],"duplicate_check_fields":["Email"],"trigger":[]}`},
		{"workflow trigger", UpsertRequest{Module: "Contacts", Records: recs[:1], Trigger: []string{"workflow", "approval"}},
			`{"data":[{"Email":"jane.doe@example.com","Last_Name":"Doe"}],"trigger":["workflow","approval"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, func(w http.ResponseWriter, _ int, c apiCall) {
				var req struct{ Data []json.RawMessage }
				json.Unmarshal(c.Body, &req)
				items := make([]string, len(req.Data))
				for i := range items {
					items[i] = successInsert
				}
				reply(200, data(items...))(w, 0, c)
			})
			cl, _, _ := newTestClient(t, api, 0)
			res, err := cl.Upsert(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			c := api.Calls()[0]
			if c.Method != http.MethodPost || c.Path != "/crm/v8/"+tt.req.Module+"/upsert" {
				t.Errorf("request %s %s", c.Method, c.Path)
			}
			if c.Auth != "Zoho-oauthtoken tok-1" || c.ContentType != "application/json" {
				t.Errorf("headers: Authorization %q, Content-Type %q", c.Auth, c.ContentType)
			}
			if string(c.Body) != tt.want {
				t.Errorf("body\n got %s\nwant %s", c.Body, tt.want)
			}
			if !json.Valid(c.Body) {
				t.Error("body is not valid JSON")
			}
			if len(res.Results) != len(tt.req.Records) {
				t.Errorf("%d results", len(res.Results))
			}
		})
	}
}

func TestUpsertRefusedBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		req  UpsertRequest
		want error
	}{
		{"no records", UpsertRequest{Module: "Leads"}, ErrBatchSize},
		{"101 records", UpsertRequest{Module: "Leads", Records: records(101)}, ErrBatchSize},
		{"no module", UpsertRequest{Records: records(1)}, ErrNoModule},
		{"field without value", UpsertRequest{Module: "Leads", Records: []Record{{{Name: "Email"}}}}, ErrInvalidRecord},
		{"field without name", UpsertRequest{Module: "Leads", Records: []Record{{{Value: []byte(`"x"`)}}}}, ErrInvalidRecord},
		{"empty record", UpsertRequest{Module: "Leads", Records: []Record{nil}}, ErrInvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, reply(200, data(successInsert)))
			cl, ts, _ := newTestClient(t, api, 0)
			_, err := cl.Upsert(context.Background(), tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if len(api.Calls()) != 0 || ts.Mints() != 0 {
				t.Errorf("sent %d requests, minted %d tokens; want none", len(api.Calls()), ts.Mints())
			}
		})
	}
	if Classify(ErrBatchSize) != ClassPermanent || Classify(ErrInvalidRecord) != ClassPermanent || Classify(ErrNoModule) != ClassConfig {
		t.Error("local validation errors misclassified")
	}
}

func TestUpsertResponses(t *testing.T) {
	type want struct {
		action, id, dup string
		code, field     string
		class           Class
	}
	ok := func(action, id, dup string) want { return want{action: action, id: id, dup: dup} }
	bad := func(code, field string, class Class) want { return want{code: code, field: field, class: class} }
	tests := []struct {
		name      string
		status    int
		body      string
		hdr       []string
		want      []want
		remaining int
	}{
		{"200 all succeeded", 200, data(successInsert, successUpdate), []string{"X-API-CREDITS-REMAINING", "24990"},
			[]want{ok("insert", "4150868000003194003", ""), ok("update", "4150868000003194004", "Email")}, 24990},
		{"207 mixed", 207, data(successInsert, errMandatory, errInvalid), nil,
			[]want{ok("insert", "4150868000003194003", ""), bad("MANDATORY_NOT_FOUND", "Last_Name", ClassPermanent), bad("INVALID_DATA", "Email", ClassPermanent)}, -1},
		{"400 all failed with data[]", 400, data(errDuplicate, errMulti, errNoDetails), nil,
			[]want{bad("DUPLICATE_DATA", "Phone", ClassPermanent), bad("MULTIPLE_OR_MULTI_ERRORS", "Last_Name,Email", ClassPermanent), bad("RECORD_LOCKED", "", ClassPermanent)}, -1},
		// Several errors of one code are that code, with every field.
		{"multiple errors of one code", 400, data(errMissing2), nil,
			[]want{bad("MANDATORY_NOT_FOUND", "Last_Name,Company", ClassPermanent)}, -1},
		{"207 with a transient record error", 207, data(successUpdate, `{"code":"DEPENDENT_SERVICE_ERROR","details":{"dependency_error":"LIMIT_EXCEEDED"},"message":"dependent service error","status":"error"}`), nil,
			[]want{ok("update", "4150868000003194004", "Email"), bad("DEPENDENT_SERVICE_ERROR", "", ClassTransient)}, -1},
		{"numeric id tolerated", 200, data(`{"code":"SUCCESS","action":"insert","details":{"id":4150868000003194003},"message":"record added","status":"success"}`), nil,
			[]want{ok("insert", "4150868000003194003", "")}, -1},
		{"unknown record code", 207, data(successInsert, `{"code":"SOMETHING_NEW","details":{"api_name":"Phone"},"message":"new","status":"error"}`), nil,
			[]want{ok("insert", "4150868000003194003", ""), bad("SOMETHING_NEW", "Phone", ClassPermanent)}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, reply(tt.status, tt.body, tt.hdr...))
			cl, _, _ := newTestClient(t, api, 0)
			res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(len(tt.want))})
			if err != nil {
				t.Fatal(err)
			}
			remaining := -1 // not reported
			if res.CreditsReported {
				remaining = res.CreditsRemaining
			}
			if res.StatusCode != tt.status || res.Credits != 1 || remaining != tt.remaining {
				t.Errorf("status %d credits %d remaining %d", res.StatusCode, res.Credits, remaining)
			}
			if len(res.Results) != len(tt.want) {
				t.Fatalf("%d results, want %d", len(res.Results), len(tt.want))
			}
			for i, w := range tt.want {
				r := res.Results[i]
				if w.code == "" {
					if r.Err != nil || r.Action != w.action || r.ID != w.id || r.DuplicateField != w.dup {
						t.Errorf("result %d = %+v, want %+v", i, r, w)
					}
					continue
				}
				if r.Err == nil || r.Action != "" || r.ID != "" {
					t.Fatalf("result %d = %+v, want error %s", i, r, w.code)
				}
				if r.Err.Code != w.code || r.Err.Field != w.field || r.Err.Message == "" || ClassifyRecord(r.Err) != w.class {
					t.Errorf("result %d error = %+v (class %v), want %+v", i, r.Err, ClassifyRecord(r.Err), w)
				}
				if !json.Valid(r.Err.Details) || r.Err.Details[0] != '{' {
					t.Errorf("details %q not a JSON object", r.Err.Details)
				}
			}
		})
	}
}

func TestUpsertRecordErrorDetailsKept(t *testing.T) {
	api := newFakeAPI(t, reply(400, data(errDuplicate, errNoDetails)))
	cl, _, _ := newTestClient(t, api, 0)
	res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(2)})
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(res.Results[0].Err.Details, &d); err != nil || d["json_path"] != "$.data[0].Phone" || d["duplicate_record"] == nil {
		t.Errorf("details not kept raw: %s", res.Results[0].Err.Details)
	}
	if string(res.Results[1].Err.Details) != "{}" {
		t.Errorf("absent details = %q, want {}", res.Results[1].Err.Details)
	}
	if s := res.Results[0].Err.Error(); !strings.Contains(s, "DUPLICATE_DATA") || !strings.Contains(s, "Phone") {
		t.Errorf("RecordError.Error() = %q", s)
	}
}

func TestUpsertCredits(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{0, 0}, {1, 1}, {9, 1}, {10, 1}, {11, 2}, {50, 5}, {99, 10}, {100, 10}} {
		if got := Credits(tt.n); got != tt.want {
			t.Errorf("Credits(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	api := newFakeAPI(t, func(w http.ResponseWriter, _ int, c apiCall) {
		items := make([]string, 100)
		for i := range items {
			items[i] = successInsert
		}
		reply(200, data(items...))(w, 0, c)
	})
	cl, _, _ := newTestClient(t, api, 0)
	res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(100)})
	if err != nil || res.Credits != 10 || len(res.Results) != 100 {
		t.Fatalf("100 records: %+v, %v", res, err)
	}
}

// TestUpsertAnswered: Answered is called once the answer is read and before
// Upsert returns, for a success and for a rejection alike, and not when no
// answer came.
func TestUpsertAnswered(t *testing.T) {
	for _, status := range []int{200, 400} {
		api := newFakeAPI(t, func(w http.ResponseWriter, _ int, c apiCall) {
			item := successInsert
			if status != 200 {
				item = `{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"},"message":"required field not found","status":"error"}`
			}
			reply(status, data(item))(w, 0, c)
		})
		cl, _, _ := newTestClient(t, api, 0)
		answered := 0
		res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1), Answered: func() { answered++ }})
		if err != nil || len(res.Results) != 1 || answered != 1 {
			t.Errorf("HTTP %d: Answered called %d times (want 1); %+v, %v", status, answered, res, err)
		}
	}
	api := newFakeAPI(t, func(w http.ResponseWriter, _ int, _ apiCall) {
		conn, _, err := w.(http.Hijacker).Hijack() // the connection ends without an answer
		if err == nil {
			_ = conn.Close()
		}
	})
	cl, _, _ := newTestClient(t, api, 0)
	answered := 0
	if _, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1), Answered: func() { answered++ }}); err == nil || answered != 0 {
		t.Errorf("no answer (connection closed): err %v, Answered called %d times; want an error and 0", err, answered)
	}
}

func TestUpsertRequestErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		code      string
		class     Class
		malformed bool
	}{
		{"401 OAUTH_SCOPE_MISMATCH", 401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope to access this URL","status":"error"}`, "OAUTH_SCOPE_MISMATCH", ClassConfig, false},
		{"401 AUTHENTICATION_FAILURE", 401, `{"code":"AUTHENTICATION_FAILURE","details":{},"message":"Authentication failed","status":"error"}`, "AUTHENTICATION_FAILURE", ClassConfig, false},
		{"403 NO_PERMISSION", 403, `{"code":"NO_PERMISSION","details":{"permissions":["Crm_Implied_Api_Access"]},"message":"permission denied","status":"error"}`, "NO_PERMISSION", ClassConfig, false},
		{"404 INVALID_URL_PATTERN", 404, `{"code":"INVALID_URL_PATTERN","details":{},"message":"Please check if the URL trying to access is a correct one","status":"error"}`, "INVALID_URL_PATTERN", ClassConfig, false},
		{"400 INVALID_MODULE in data[]", 400, `{"data":[{"code":"INVALID_MODULE","details":{},"message":"the module name given seems to be invalid","status":"error"}]}`, "INVALID_MODULE", ClassConfig, false},
		{"400 AUTHORIZATION_FAILED in data[]", 400, `{"data":[{"code":"AUTHORIZATION_FAILED","details":{},"message":"User does not have sufficient privilege","status":"error"}]}`, "AUTHORIZATION_FAILED", ClassConfig, false},
		{"400 INVALID_REQUEST_METHOD in data[]", 400, `{"data":[{"code":"INVALID_REQUEST_METHOD","details":{},"message":"The http request method type is not a valid one","status":"error"}]}`, "INVALID_REQUEST_METHOD", ClassConfig, false},
		{"400 INVALID_HOST", 400, `{"code":"INVALID_HOST","details":{},"message":"invalid host","status":"error"}`, "INVALID_HOST", ClassConfig, false},
		{"400 without data: INVALID_DATA", 400, `{"code":"INVALID_DATA","details":{"expected_data_type":"jsonarray","api_name":"data"},"message":"invalid data","status":"error"}`, "INVALID_DATA", ClassPermanent, false},
		{"400 without data: LIMIT_EXCEEDED", 400, `{"code":"LIMIT_EXCEEDED","details":{},"message":"limit exceeded","status":"error"}`, "LIMIT_EXCEEDED", ClassThrottled, false},
		{"429 TOO_MANY_REQUESTS", 429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"too many requests","status":"error"}`, "TOO_MANY_REQUESTS", ClassThrottled, false},
		{"429 empty body", 429, ``, "", ClassThrottled, true},
		{"500 INTERNAL_ERROR", 500, `{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}`, "INTERNAL_ERROR", ClassTransient, false},
		{"503 HTML", 503, `<html><body>Service Unavailable</body></html>`, "", ClassTransient, true},
		{"200 not JSON", 200, `<html>ok</html>`, "", ClassTransient, true},
		{"200 without data", 200, `{}`, "", ClassTransient, true},
		{"200 with empty data[]", 200, `{"data":[]}`, "", ClassTransient, true},
		{"204 without a body", 204, ``, "", ClassTransient, true},
		{"200 with fewer results than records", 200, data(successInsert), "", ClassTransient, true},
		{"207 with more results than records", 207, data(successInsert, successInsert, successInsert), "", ClassTransient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, reply(tt.status, tt.body))
			cl, _, _ := newTestClient(t, api, 0)
			res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(2)})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("Upsert = %+v, %v; want *APIError", res, err)
			}
			if ae.StatusCode != tt.status || ae.Code != tt.code {
				t.Errorf("APIError status %d code %q, want %d %q", ae.StatusCode, ae.Code, tt.status, tt.code)
			}
			if c := Classify(err); c != tt.class {
				t.Errorf("Classify = %v, want %v", c, tt.class)
			}
			if errors.Is(err, ErrMalformedResponse) != tt.malformed {
				t.Errorf("malformed = %v, want %v (%v)", !tt.malformed, tt.malformed, err)
			}
			if len(api.Calls()) != 1 {
				t.Errorf("%d calls, want 1 (no retries inside the client)", len(api.Calls()))
			}
		})
	}
}

func TestUpsertInvalidTokenRefreshesOnceAndRetries(t *testing.T) {
	invalidToken := `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`
	t.Run("retry succeeds", func(t *testing.T) {
		api := newFakeAPI(t, func(w http.ResponseWriter, n int, c apiCall) {
			if c.Auth == "Zoho-oauthtoken tok-1" {
				reply(401, invalidToken)(w, n, c)
				return
			}
			reply(200, data(successInsert))(w, n, c)
		})
		cl, ts, _ := newTestClient(t, api, 0)
		res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
		if err != nil || res.Results[0].Action != "insert" {
			t.Fatalf("Upsert = %+v, %v", res, err)
		}
		calls := api.Calls()
		if len(calls) != 2 || calls[1].Auth != "Zoho-oauthtoken tok-2" || ts.Mints() != 2 {
			t.Fatalf("calls %d (second auth %q), mints %d; want 2 calls, retry with tok-2, 2 mints", len(calls), calls[len(calls)-1].Auth, ts.Mints())
		}
		if string(calls[0].Body) != string(calls[1].Body) {
			t.Error("retry sent a different body")
		}
	})
	t.Run("still invalid after one retry", func(t *testing.T) {
		api := newFakeAPI(t, reply(401, invalidToken))
		cl, ts, _ := newTestClient(t, api, 0)
		_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "INVALID_TOKEN" || Classify(err) != ClassTransient {
			t.Fatalf("err = %v (class %v), want transient INVALID_TOKEN", err, Classify(err))
		}
		if len(api.Calls()) != 2 || ts.Mints() != 2 {
			t.Errorf("calls %d, mints %d; want exactly one refresh and one retry", len(api.Calls()), ts.Mints())
		}
		assertNoSecrets(t, err.Error())
		if strings.Contains(err.Error(), "tok-") {
			t.Errorf("access token in error: %v", err)
		}
	})
	t.Run("configuration 401 codes are not retried", func(t *testing.T) {
		api := newFakeAPI(t, reply(401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope","status":"error"}`))
		cl, ts, _ := newTestClient(t, api, 0)
		_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
		if Classify(err) != ClassConfig || len(api.Calls()) != 1 || ts.Mints() != 1 {
			t.Errorf("err %v, calls %d, mints %d", err, len(api.Calls()), ts.Mints())
		}
	})
}

// TestUpsert401NotFromZoho: a 401 whose body is not Zoho's JSON (a proxy's or
// an outage page) or carries an undocumented code refreshes the token once and
// retries; persisting with the fresh token it is an outage (ClassTransient),
// and later calls do not mint again: one early mint, never a loop.
func TestUpsert401NotFromZoho(t *testing.T) {
	for name, body := range map[string]string{
		"HTML":         `<html><body><h1>401 Authorization Required</h1></body></html>`,
		"empty":        ``,
		"unknown code": `{"code":"SOMETHING_NEW","message":"?","status":"error"}`,
	} {
		t.Run(name+" once", func(t *testing.T) {
			api := newFakeAPI(t, func(w http.ResponseWriter, n int, c apiCall) {
				if n == 1 {
					w.WriteHeader(http.StatusUnauthorized)
					io.WriteString(w, body)
					return
				}
				reply(200, data(successInsert))(w, n, c)
			})
			cl, ts, _ := newTestClient(t, api, 0)
			res, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
			if err != nil || res.Results[0].Action != "insert" {
				t.Fatalf("Upsert = %+v, %v; want the retry with a fresh token to succeed", res, err)
			}
			if calls := api.Calls(); len(calls) != 2 || calls[1].Auth != "Zoho-oauthtoken tok-2" || ts.Mints() != 2 {
				t.Fatalf("%d calls, %d mints; want a retry with tok-2", len(calls), ts.Mints())
			}
		})
		t.Run(name+" persisting", func(t *testing.T) {
			api := newFakeAPI(t, func(w http.ResponseWriter, _ int, _ apiCall) {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, body)
			})
			cl, ts, _ := newTestClient(t, api, 0)
			for i := range 5 {
				_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != 401 || Classify(err) != ClassTransient {
					t.Fatalf("call %d: %v (class %v), want a transient 401", i, err, Classify(err))
				}
			}
			if len(api.Calls()) != 6 || ts.Mints() != 2 {
				t.Errorf("%d calls, %d mints for 5 upserts; want 6 and 2 (one early mint, then no loop)", len(api.Calls()), ts.Mints())
			}
		})
	}
}

func TestUpsertConcurrentInvalidTokenOneMint(t *testing.T) {
	// 20 concurrent upserts all hit INVALID_TOKEN with tok-1: one refresh serves all.
	api := newFakeAPI(t, func(w http.ResponseWriter, n int, c apiCall) {
		if c.Auth == "Zoho-oauthtoken tok-1" {
			reply(401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`)(w, n, c)
			return
		}
		reply(200, data(successInsert))(w, n, c)
	})
	cl, ts, _ := newTestClient(t, api, 0)
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upsert %d: %v", i, err)
		}
	}
	if ts.Mints() != 2 {
		t.Errorf("mints = %d, want 2 (initial + one refresh)", ts.Mints())
	}
}

func TestUpsertTokenErrorsPropagate(t *testing.T) {
	api := newFakeAPI(t, reply(200, data(successInsert)))
	acc := newFakeAccounts(t, func(w http.ResponseWriter, _ int, _ url.Values) { io.WriteString(w, `{"error":"invalid_client"}`) })
	eps := Endpoints{API: api.URL, Accounts: acc.URL}
	cl := NewClient(ClientOptions{Endpoints: eps, Tokens: NewTokenSource(TokenSourceOptions{Endpoints: eps, Credentials: testCreds})})
	_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_client" || Classify(err) != ClassConfig {
		t.Fatalf("err = %v, want config *TokenError", err)
	}
	if len(api.Calls()) != 0 {
		t.Error("upsert sent without a token")
	}
}

func TestUpsertTransportErrors(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		hang := make(chan struct{})
		api := newFakeAPI(t, func(w http.ResponseWriter, _ int, _ apiCall) { <-hang })
		defer close(hang)
		cl, _, _ := newTestClient(t, api, 50*time.Millisecond)
		_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || Classify(err) != ClassTransient {
			t.Fatalf("err = %v (class %v), want transient deadline exceeded", err, Classify(err))
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		api := newFakeAPI(t, reply(200, data(successInsert)))
		cl, ts, _ := newTestClient(t, api, 0)
		if _, err := ts.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		api.Close()
		_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
		if err == nil || Classify(err) != ClassTransient {
			t.Fatalf("err = %v (class %v), want transient", err, Classify(err))
		}
		if strings.Contains(err.Error(), "tok-1") {
			t.Errorf("token in error %v", err)
		}
	})
	t.Run("caller cancelled", func(t *testing.T) {
		api := newFakeAPI(t, reply(200, data(successInsert)))
		cl, _, _ := newTestClient(t, api, 0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := cl.Upsert(ctx, UpsertRequest{Module: "Leads", Records: records(1)})
		if !errors.Is(err, context.Canceled) || Classify(err) != ClassTransient {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFields(t *testing.T) {
	body := `{"fields":[
	 {"api_name":"Last_Name","data_type":"text","json_type":"string","length":80,"system_mandatory":true,"read_only":false,"unique":{},"pick_list_values":[]},
	 {"api_name":"Email","data_type":"email","json_type":"string","length":100,"system_mandatory":false,"read_only":false,"unique":{"casesensitive":"false"}},
	 {"api_name":"Lead_Source","data_type":"picklist","json_type":"string","length":120,"system_mandatory":false,"read_only":false,"unique":{},
	  "pick_list_values":[{"display_value":"-None-","actual_value":"-None-"},{"display_value":"Web Site","actual_value":"Website"},{"display_value":"Advertisement"}]},
	 {"api_name":"Created_Time","data_type":"datetime","json_type":"string","read_only":true},
	 {"api_name":"Amount__c","display_label":"Amount","field_label":"Amount (old)","data_type":"currency","json_type":"double","length":16,"decimal_place":2,"custom_field":true,"unique":{}},
	 {"api_name":"Score__c","field_label":"Score","data_type":"integer","json_type":"integer","length":9,"decimal_place":null,"field_read_only":true}
	]}`
	api := newFakeAPI(t, reply(200, body))
	cl, _, _ := newTestClient(t, api, 0)
	got, err := cl.Fields(context.Background(), "Leads")
	if err != nil {
		t.Fatal(err)
	}
	c := api.Calls()[0]
	if c.Method != http.MethodGet || c.Path != "/crm/v8/settings/fields" || c.Query != "module=Leads" || c.Auth != "Zoho-oauthtoken tok-1" {
		t.Errorf("request %+v", c)
	}
	want := []Field{
		{APIName: "Last_Name", DataType: "text", JSONType: "string", Length: 80, DecimalPlace: -1, SystemMandatory: true},
		{APIName: "Email", DataType: "email", JSONType: "string", Length: 100, DecimalPlace: -1, Unique: true},
		{APIName: "Lead_Source", DataType: "picklist", JSONType: "string", Length: 120, DecimalPlace: -1, PicklistValues: []string{"-None-", "Website", "Advertisement"}},
		{APIName: "Created_Time", DataType: "datetime", JSONType: "string", DecimalPlace: -1, ReadOnly: true},
		{APIName: "Amount__c", Label: "Amount", DataType: "currency", JSONType: "double", Length: 16, DecimalPlace: 2, Custom: true},
		{APIName: "Score__c", Label: "Score", DataType: "integer", JSONType: "integer", Length: 9, DecimalPlace: -1, ReadOnly: true},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("fields\n got %+v\nwant %+v", got, want)
	}

	for _, tt := range []struct {
		name   string
		status int
		body   string
		class  Class
	}{
		{"unknown module", 400, `{"code":"INVALID_MODULE","details":{},"message":"the module name given seems to be invalid","status":"error"}`, ClassConfig},
		{"scope", 401, `{"code":"OAUTH_SCOPE_MISMATCH","details":{},"message":"invalid oauth scope","status":"error"}`, ClassConfig},
		{"not JSON", 200, `<html>`, ClassTransient},
		{"5xx", 502, ``, ClassTransient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, reply(tt.status, tt.body))
			cl, _, _ := newTestClient(t, api, 0)
			if _, err := cl.Fields(context.Background(), "Leads"); Classify(err) != tt.class {
				t.Errorf("err %v class %v, want %v", err, Classify(err), tt.class)
			}
		})
	}
	if _, err := cl.Fields(context.Background(), ""); !errors.Is(err, ErrNoModule) {
		t.Errorf("empty module: %v", err)
	}
}

// BenchmarkEncodeParse100 is the client's own CPU and allocation cost of one
// upsert of 100 records, without HTTP: building the body from encoded records
// and parsing Zoho's 100-item answer.
func BenchmarkEncodeParse100(b *testing.B) {
	recs := records(100)
	req := UpsertRequest{Module: "Leads", Records: recs, DuplicateCheckFields: []string{"Email"}, Trigger: []string{}}
	items := make([]string, 100)
	for i := range items {
		items[i] = successUpdate
	}
	resp := []byte(data(items...))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := upsertBody(req); err != nil {
			b.Fatal(err)
		}
		res, err := parseUpsert(200, resp, 100)
		if err != nil || res.Results[99].ID == "" {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/upsert")
}

func TestLayoutMandatory(t *testing.T) {
	for _, tc := range []struct {
		name    string
		layouts []Layout
		want    string
	}{
		{"none", nil, "[]"},
		{"default wins", []Layout{{Name: "A", Status: "active", Required: []string{"X"}}, {Name: "B", Status: "active", Default: true, Required: []string{"Y"}}}, "[Y]"},
		{"first active without default", []Layout{{Name: "A", Status: "inactive", Default: true, Required: []string{"X"}}, {Name: "B", Status: "active", Required: []string{"Y"}}}, "[Y]"},
		{"only inactive", []Layout{{Name: "A", Status: "inactive", Required: []string{"X"}}}, "[]"},
	} {
		if got := fmt.Sprint(LayoutMandatory(tc.layouts)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestLayouts(t *testing.T) {
	body := `{"layouts":[{"id":"1","name":"Standard","status":"active","profiles":[{"default":true,"name":"Administrator","id":"9"}],
	 "sections":[{"api_name":"Lead_Information","fields":[
	  {"api_name":"Last_Name","data_type":"text","json_type":"string","length":80,"system_mandatory":true,"required":true},
	  {"api_name":"Company","data_type":"text","json_type":"string","length":200,"required":true},
	  {"api_name":"Phone","data_type":"phone","json_type":"string","length":30,"required":false}]},
	  {"api_name":"Address","fields":[{"api_name":"City","data_type":"text","json_type":"string","length":100}]}]}]}`
	api := newFakeAPI(t, reply(200, body))
	cl, _, _ := newTestClient(t, api, 0)
	got, err := cl.Layouts(context.Background(), "Leads")
	if err != nil {
		t.Fatal(err)
	}
	if c := api.Calls()[0]; c.Method != http.MethodGet || c.Path != "/crm/v8/settings/layouts" || c.Query != "module=Leads" {
		t.Errorf("request %+v", c)
	}
	if len(got) != 1 || got[0].ID != "1" || !got[0].Default || fmt.Sprint(got[0].Required) != "[Last_Name Company]" || len(got[0].Fields) != 4 || got[0].Fields[3].APIName != "City" {
		t.Fatalf("layouts %+v", got)
	}
	for _, tt := range []struct {
		status int
		body   string
		class  Class
	}{
		{400, `{"code":"INVALID_MODULE","details":{},"message":"the module name given seems to be invalid","status":"error"}`, ClassConfig},
		{200, `{"layouts":{}}`, ClassTransient},
	} {
		api := newFakeAPI(t, reply(tt.status, tt.body))
		cl, _, _ := newTestClient(t, api, 0)
		if _, err := cl.Layouts(context.Background(), "Leads"); Classify(err) != tt.class {
			t.Errorf("%d %s: err %v class %v", tt.status, tt.body, err, Classify(err))
		}
	}
}
