package zohoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// TestClassifyRecord covers every per-record row of classTable, plus unknown codes.
func TestClassifyRecord(t *testing.T) {
	tests := []struct {
		code, details string
		want          Class
	}{
		{"MANDATORY_NOT_FOUND", `{"api_name":"Last_Name","json_path":"$.data[0].Last_Name"}`, ClassPermanent},
		{"INVALID_DATA", `{"api_name":"Email","json_path":"$.data[0].Email","expected_data_type":"email"}`, ClassPermanent},
		{"DUPLICATE_DATA", `{"api_name":"Phone","duplicate_record":{"id":"1"}}`, ClassPermanent},
		{"MULTIPLE_OR_MULTI_ERRORS", `{"errors":[{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"}}]}`, ClassPermanent},
		{"DEPENDENT_FIELD_MISSING", `{"dependee":{"api_name":"Country","json_path":"$.data[0].Country"}}`, ClassPermanent},
		{"DEPENDENT_MISMATCH", `{"dependee":{"api_name":"Country","json_path":"$.data[0].Country"}}`, ClassPermanent},
		{"RECORD_LOCKED", `{}`, ClassPermanent},
		{"NOT_APPROVED", `{}`, ClassPermanent},
		{"DEPENDENT_SERVICE_ERROR", `{"dependency_error":"LIMIT_EXCEEDED"}`, ClassTransient},
		{"DEPENDENT_SERVICE_ERROR", `{"dependency_error":"PROCESSING_ERROR"}`, ClassTransient},
		{"DEPENDENT_SERVICE_ERROR", `{"dependency_error":"NO_PERMISSION"}`, ClassPermanent},
		{"DEPENDENT_SERVICE_ERROR", `{"dependency_error":"CANNOT_PROCESS"}`, ClassPermanent},
		{"DEPENDENT_SERVICE_ERROR", `{}`, ClassPermanent},
		{"INTERNAL_ERROR", `{}`, ClassTransient},
		{"TOO_MANY_REQUESTS", `{}`, ClassThrottled},
		{"SOME_FUTURE_CODE", `{}`, ClassPermanent},
		{"", `not json`, ClassPermanent},
		// Config codes are classified too (Upsert turns them into *APIError).
		{"INVALID_MODULE", `{}`, ClassConfig},
		{"AUTHORIZATION_FAILED", `{}`, ClassConfig},
		{"INVALID_REQUEST_METHOD", `{}`, ClassConfig},
	}
	for _, tt := range tests {
		t.Run(tt.code+" "+tt.details, func(t *testing.T) {
			e := &RecordError{Code: tt.code, Details: json.RawMessage(tt.details)}
			if got := ClassifyRecord(e); got != tt.want {
				t.Errorf("ClassifyRecord = %v, want %v", got, tt.want)
			}
			if got := Classify(fmt.Errorf("wrapped: %w", e)); got != tt.want {
				t.Errorf("Classify(wrapped RecordError) = %v, want %v", got, tt.want)
			}
		})
	}
	if ClassifyRecord(nil) != ClassPermanent {
		t.Error("nil record error")
	}
}

// TestClassifyAPIError covers every request-level row and the status fallbacks.
func TestClassifyAPIError(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   Class
	}{
		{401, "INVALID_TOKEN", ClassTransient},
		{401, "OAUTH_SCOPE_MISMATCH", ClassConfig},
		{401, "AUTHENTICATION_FAILURE", ClassConfig},
		{403, "NO_PERMISSION", ClassConfig},
		{404, "INVALID_URL_PATTERN", ClassConfig},
		{400, "INVALID_MODULE", ClassConfig},
		{400, "AUTHORIZATION_FAILED", ClassConfig},
		{400, "INVALID_REQUEST_METHOD", ClassConfig},
		{400, "INVALID_HOST", ClassConfig},
		{400, "INVALID_DATA", ClassPermanent},
		{400, "MANDATORY_NOT_FOUND", ClassPermanent},
		{400, "LIMIT_EXCEEDED", ClassThrottled},
		{400, "SOMETHING_ELSE", ClassPermanent},
		{429, "TOO_MANY_REQUESTS", ClassThrottled},
		{429, "", ClassThrottled},
		{500, "INTERNAL_ERROR", ClassTransient},
		{500, "", ClassTransient},
		{502, "", ClassTransient},
		{503, "INVALID_DATA", ClassTransient}, // status wins for 5xx
		{504, "", ClassTransient},
		{401, "", ClassTransient}, // not Zoho's JSON (a proxy): refresh, then retry as an outage
		{401, "SOMETHING_NEW", ClassTransient},
		// Not Zoho's JSON at any 4xx (a proxy's page): an outage, not a
		// configuration stop, and no reason to split or dead-letter.
		{400, "", ClassTransient},
		{403, "", ClassTransient},
		{404, "", ClassTransient},
		{405, "", ClassTransient},
		{200, "", ClassTransient}, // unusable 2xx body
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.code), func(t *testing.T) {
			err := fmt.Errorf("upsert: %w", &APIError{StatusCode: tt.status, Code: tt.code})
			if got := Classify(err); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestClassifyOtherErrors covers token errors, data-center mismatches, local
// validation and transport errors.
func TestClassifyOtherErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"invalid_client", &TokenError{Code: "invalid_client"}, ClassConfig},
		{"invalid_client_secret", &TokenError{Code: "invalid_client_secret"}, ClassConfig},
		{"invalid_code", &TokenError{Code: "invalid_code"}, ClassConfig},
		{"token throttle", &TokenError{Code: "Access Denied", Throttled: true}, ClassThrottled},
		{"data-center mismatch", &DataCenterMismatchError{What: "x", HostA: "www.zohoapis.com", HostB: "www.zohoapis.eu"}, ClassConfig},
		{"batch size", fmt.Errorf("%w: got 101", ErrBatchSize), ClassPermanent},
		{"invalid record", ErrInvalidRecord, ClassPermanent},
		{"no module", ErrNoModule, ClassConfig},
		{"deadline", context.DeadlineExceeded, ClassTransient},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), ClassTransient},
		{"url timeout", &url.Error{Op: "Post", URL: "https://www.zohoapis.com/crm/v8/Leads/upsert", Err: os.ErrDeadlineExceeded}, ClassTransient},
		{"connection refused", &url.Error{Op: "Post", URL: "u", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, ClassTransient},
		{"dns", &net.DNSError{Err: "no such host", Name: "www.zohoapis.com"}, ClassTransient},
		{"anything else", errors.New("unexpected EOF"), ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if Classify(nil) != 0 || Class(0).String() != "unclassified" {
		t.Error("nil error must be unclassified")
	}
}

// TestClassTableComplete checks that every row cites a source, no row is
// shadowed, and every row is covered by the tests above.
func TestClassTableComplete(t *testing.T) {
	tested := map[string]bool{
		"MANDATORY_NOT_FOUND": true, "INVALID_DATA": true, "DUPLICATE_DATA": true, "MULTIPLE_OR_MULTI_ERRORS": true,
		"DEPENDENT_FIELD_MISSING": true, "DEPENDENT_MISMATCH": true, "RECORD_LOCKED": true, "NOT_APPROVED": true,
		"DEPENDENT_SERVICE_ERROR": true, "INTERNAL_ERROR": true, "TOO_MANY_REQUESTS": true, "LIMIT_EXCEEDED": true,
		"INVALID_TOKEN": true, "OAUTH_SCOPE_MISMATCH": true, "AUTHENTICATION_FAILURE": true, "NO_PERMISSION": true,
		"INVALID_URL_PATTERN": true, "INVALID_MODULE": true, "AUTHORIZATION_FAILED": true, "INVALID_REQUEST_METHOD": true,
		"INVALID_HOST": true,
	}
	seen := map[string]bool{}
	for i, r := range classTable {
		if r.source == "" || r.class == 0 {
			t.Errorf("row %d (%s): missing source or class", i, r.code)
		}
		if !tested[r.code] {
			t.Errorf("row %d (%s) has no test", i, r.code)
		}
		key := r.code + "/" + r.dependency
		if seen[key] || seen[r.code+"/"] {
			t.Errorf("row %d (%s) is shadowed by an earlier row", i, key)
		}
		seen[key] = true
	}
	for _, c := range []Class{ClassPermanent, ClassTransient, ClassThrottled, ClassConfig} {
		if c.String() == "unclassified" {
			t.Errorf("Class %d has no name", c)
		}
	}
}

// TestInvalidDataFields: the fields of INVALID_DATA answers, alone or among
// MULTIPLE_OR_MULTI_ERRORS; none for other codes.
func TestInvalidDataFields(t *testing.T) {
	for _, tt := range []struct {
		item, want string
	}{
		{errInvalid, "[Email]"},
		{errMulti, "[Email]"},
		{errMissing2, "[]"},
		{errMandatory, "[]"},
	} {
		res, err := parseUpsert(200, []byte(data(tt.item)), 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Results[0].Err.InvalidDataFields()); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.item, got, tt.want)
		}
	}
}
