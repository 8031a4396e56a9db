package zohoapi

import (
	"context"
	"errors"
	"testing"
)

// TestCreditsOnEveryAnswer: X-API-CREDITS-REMAINING is read from error
// answers too (a 429 of spent credits, a 500), not only from answered
// upserts, and a 429 is credit exhaustion only when Zoho reported 0 credits
// or said so: otherwise it is the concurrency limit.
func TestCreditsOnEveryAnswer(t *testing.T) {
	const concurrency = `{"code":"TOO_MANY_REQUESTS","details":{},"message":"concurrency limit exceeded","status":"error"}`
	const credits = `{"code":"TOO_MANY_REQUESTS","details":{},"message":"API credits for the last 24 hours are exhausted","status":"error"}`
	tests := []struct {
		name           string
		status         int
		body           string
		hdr            []string
		remaining      int
		reported, gone bool
	}{
		{"429 with 0 remaining", 429, concurrency, []string{CreditsHeader, "0"}, 0, true, true},
		{"429 saying credits", 429, credits, nil, 0, false, true},
		{"429 with credits left", 429, concurrency, []string{CreditsHeader, "120"}, 120, true, false},
		{"429 without header", 429, concurrency, nil, 0, false, false},
		{"500 with header", 500, `{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}`, []string{CreditsHeader, "7"}, 7, true, false},
		{"header not a number", 429, concurrency, []string{CreditsHeader, "lots"}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, reply(tt.status, tt.body, tt.hdr...))
			cl, _, _ := newTestClient(t, api, 0)
			_, err := cl.Upsert(context.Background(), UpsertRequest{Module: "Leads", Records: records(1)})
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v, want an *APIError", err)
			}
			if apiErr.CreditsReported != tt.reported || apiErr.CreditsRemaining != tt.remaining {
				t.Errorf("credits remaining %d reported %v, want %d %v", apiErr.CreditsRemaining, apiErr.CreditsReported, tt.remaining, tt.reported)
			}
			if got := apiErr.CreditsExhausted(); got != tt.gone {
				t.Errorf("CreditsExhausted() = %v, want %v", got, tt.gone)
			}
		})
	}
}
