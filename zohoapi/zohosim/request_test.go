package zohosim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func lead(i int) map[string]any {
	return map[string]any{"Email": fmt.Sprintf("user%d@example.com", i), "Last_Name": fmt.Sprintf("User %d", i), "Company": "Acme"}
}

func leads(from, n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = lead(from + i)
	}
	return out
}

func TestUpsertRequestLevelErrors(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
		inData bool
	}{
		{"no records", "POST", "/crm/v8/Leads/upsert", map[string]any{"data": []any{}}, 400, "MANDATORY_NOT_FOUND", false},
		{"no data key", "POST", "/crm/v8/Leads/upsert", `{"trigger":[]}`, 400, "MANDATORY_NOT_FOUND", false},
		{"101 records", "POST", "/crm/v8/Leads/upsert", map[string]any{"data": leads(0, 101)}, 400, "LIMIT_EXCEEDED", false},
		{"not JSON", "POST", "/crm/v8/Leads/upsert", `{"data":[`, 400, "INVALID_DATA", false},
		{"data not array", "POST", "/crm/v8/Leads/upsert", `{"data":{"Last_Name":"x"}}`, 400, "INVALID_DATA", false},
		{"bad trigger", "POST", "/crm/v8/Leads/upsert", map[string]any{"data": leads(0, 1), "trigger": []string{"email"}}, 400, "INVALID_DATA", false},
		{"unknown duplicate_check_fields", "POST", "/crm/v8/Leads/upsert", map[string]any{"data": leads(0, 1), "duplicate_check_fields": []string{"Mail"}}, 400, "INVALID_DATA", false},
		{"unknown module", "POST", "/crm/v8/Lead/upsert", map[string]any{"data": leads(0, 1)}, 400, "INVALID_MODULE", true},
		{"module case-sensitive", "POST", "/crm/v8/leads/upsert", map[string]any{"data": leads(0, 1)}, 400, "INVALID_MODULE", true},
		{"wrong method", "PUT", "/crm/v8/Leads/upsert", map[string]any{"data": leads(0, 1)}, 400, "INVALID_REQUEST_METHOD", true},
		{"wrong version", "POST", "/crm/v2/Leads/upsert", map[string]any{"data": leads(0, 1)}, 404, "INVALID_URL_PATTERN", false},
		{"wrong action", "POST", "/crm/v8/Leads/upsrt", map[string]any{"data": leads(0, 1)}, 404, "INVALID_URL_PATTERN", false},
		{"unknown path", "POST", "/api/v8/Leads/upsert", map[string]any{"data": leads(0, 1)}, 404, "INVALID_URL_PATTERN", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, tc.method, tc.path, tok, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			code, status := r.Code, r.ZStatus
			if tc.inData {
				if len(r.Data) != 1 || r.Code != "" {
					t.Fatalf("want the error inside data[]: %s", r.Raw)
				}
				code, status = r.Data[0]["code"].(string), r.Data[0]["status"].(string)
			} else if r.Data != nil {
				t.Fatalf("request-level error must not carry data: %s", r.Raw)
			}
			if code != tc.code || status != "error" {
				t.Fatalf("code %q status %q, want %q: %s", code, status, tc.code, r.Raw)
			}
		})
	}
	st := s.Stats()
	if st.Credits != 0 || st.Inserts != 0 {
		t.Fatalf("request-level errors must not charge or store: %+v", st)
	}
}

func TestConfigErrorsTopLevelKnob(t *testing.T) {
	s := newSim(t, Options{ConfigErrorsTopLevel: true})
	r := upsert(t, s, mint(t, s), "Lead", lead(1))
	if r.Status != http.StatusBadRequest || r.Code != "INVALID_MODULE" || r.Data != nil {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

func TestUpsertHundredRecords(t *testing.T) {
	s := newSim(t, Options{})
	r := upsert(t, s, mint(t, s), "Leads", leads(0, 100)...)
	if r.Status != http.StatusOK || len(r.Data) != 100 {
		t.Fatalf("%d, %d items", r.Status, len(r.Data))
	}
	recs := s.Records("Leads")
	for i, rec := range recs {
		if rec["Email"] != lead(i)["Email"] || details(t, r.Data[i])["id"] != rec["id"] {
			t.Fatalf("record %d out of order: %v", i, rec)
		}
	}
	if st := s.Stats(); st.Credits != 10 || st.RecordsReceived != 100 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDuplicateCheckFields(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	if err := s.AddField("Leads", Field{APIName: "External_ID", DataType: "text", Length: 50, Unique: true, Custom: true}); err != nil {
		t.Fatal(err)
	}
	a := lead(1)
	a["Phone"] = "123"
	a["External_ID"] = "ext-1"
	upsert(t, s, tok, "Leads", a)

	t.Run("match on given field", func(t *testing.T) {
		r := do(t, s, "POST", "/crm/v8/Leads/upsert", tok, map[string]any{
			"data":                   []any{map[string]any{"Phone": "123", "Email": "new@example.com"}},
			"duplicate_check_fields": []string{"Phone"},
		})
		if r.Status != 200 || r.Data[0]["action"] != "update" || r.Data[0]["duplicate_field"] != "Phone" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if _, ok := s.Lead("new@example.com"); !ok {
			t.Fatal("Email not updated")
		}
	})
	t.Run("user-defined unique field after Email by default", func(t *testing.T) {
		r := upsert(t, s, tok, "Leads", map[string]any{"External_ID": "EXT-1", "Title": "CEO"})
		if r.Status != 200 || r.Data[0]["action"] != "update" || r.Data[0]["duplicate_field"] != "External_ID" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("other unique field collides", func(t *testing.T) {
		upsert(t, s, tok, "Leads", lead(2))
		r := do(t, s, "POST", "/crm/v8/Leads/upsert", tok, map[string]any{
			"data":                   []any{map[string]any{"Phone": "123", "Email": "user2@example.com"}},
			"duplicate_check_fields": []string{"Phone"},
		})
		if r.Status != 400 || r.Data[0]["code"] != "DUPLICATE_DATA" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		d := details(t, r.Data[0])
		dup, _ := d["duplicate_record"].(map[string]any)
		l2, _ := s.Lead("user2@example.com")
		if d["api_name"] != "Email" || d["json_path"] != "$.data[0].Email" || dup["id"] != l2["id"] || d["more_records"] != false {
			t.Fatalf("details %v", d)
		}
	})
	t.Run("Calls keeps the request options", func(t *testing.T) {
		calls := s.Calls()
		if got := calls[1].DuplicateCheckFields; len(got) != 1 || got[0] != "Phone" {
			t.Fatalf("DuplicateCheckFields %v", got)
		}
		if calls[1].Trigger != nil {
			t.Fatal("Trigger must be nil when omitted")
		}
	})
}

func TestTriggerRecorded(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	do(t, s, "POST", "/crm/v8/Leads/upsert", tok, `{"data":[{"Last_Name":"a","Company":"b"}],"trigger":[]}`)
	do(t, s, "POST", "/crm/v8/Leads/upsert", tok, `{"data":[{"Last_Name":"a","Company":"b"}],"trigger":["workflow"]}`)
	calls := s.Calls()
	if calls[0].Trigger == nil || len(calls[0].Trigger) != 0 || calls[1].Trigger[0] != "workflow" {
		t.Fatalf("triggers %#v %#v", calls[0].Trigger, calls[1].Trigger)
	}
}

func TestSameEmailInOneCall(t *testing.T) {
	first := map[string]any{"Email": "dup@example.com", "Last_Name": "One", "Company": "A"}
	second := map[string]any{"Email": "DUP@example.com", "First_Name": "Two"}
	t.Run("sequential (default)", func(t *testing.T) {
		s := newSim(t, Options{})
		r := upsert(t, s, mint(t, s), "Leads", first, second)
		if r.Status != 200 || r.Data[0]["action"] != "insert" || r.Data[1]["action"] != "update" ||
			details(t, r.Data[0])["id"] != details(t, r.Data[1])["id"] {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		l, _ := s.Lead("dup@example.com")
		if l["Last_Name"] != "One" || l["First_Name"] != "Two" || len(s.Records("Leads")) != 1 {
			t.Fatalf("record %v", l)
		}
	})
	t.Run("reject", func(t *testing.T) {
		s := newSim(t, Options{SameEmailInCall: SameEmailReject})
		tok := mint(t, s)
		r := upsert(t, s, tok, "Leads", first, second)
		if r.Status != 207 || r.Data[0]["action"] != "insert" || r.Data[1]["code"] != "DUPLICATE_DATA" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		s.SetSameEmailInCall(SameEmailSequential)
		if r := upsert(t, s, tok, "Leads", first, second); r.Status != 200 {
			t.Fatalf("after switching back: %d %s", r.Status, r.Raw)
		}
	})
}

// waitFor polls cond; the deadline only guards against a hang of the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// hold starts n upsert calls that hang until cancel is called.
func hold(t *testing.T, s *Server, tok string, n int) (cancel func()) {
	t.Helper()
	s.HangNext(n)
	ctx, cancelCtx := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/crm/v8/Leads/upsert",
				strings.NewReader(fmt.Sprintf(`{"data":[{"Last_Name":"h%d","Company":"c"}]}`, i)))
			req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("hung call answered %d", resp.StatusCode)
			}
		})
	}
	waitFor(t, "hung calls in flight", func() bool { return s.Stats().InFlight == n })
	return func() { cancelCtx(); wg.Wait() }
}

func TestConcurrencyLimit(t *testing.T) {
	s := newSim(t, Options{MaxConcurrency: 3})
	tok := mint(t, s)
	release := hold(t, s, tok, 3)
	r := upsert(t, s, tok, "Leads", lead(1))
	if r.Status != http.StatusTooManyRequests || r.Code != "TOO_MANY_REQUESTS" || r.ZStatus != "error" || r.Data != nil {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if r.Header.Get("Retry-After") != "" {
		t.Fatal("Zoho documents no Retry-After")
	}
	release()
	waitFor(t, "slots released", func() bool { return s.Stats().InFlight == 0 })
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 200 {
		t.Fatalf("after release: %d %s", r.Status, r.Raw)
	}
	st := s.Stats()
	if st.PeakConcurrency != 4 || st.ConcurrencyRejections != 1 || st.Status[0] != 3 || st.Status[429] != 1 || st.Credits != 1 {
		t.Fatalf("stats %+v", st)
	}
	for _, c := range s.Calls() {
		if c.Status == 0 && c.Code != "HANG" {
			t.Fatalf("call %+v", c)
		}
	}
}

func TestDefaultConcurrencyIsTen(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	release := hold(t, s, tok, DefaultMaxConcurrency)
	defer release()
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != http.StatusTooManyRequests {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	s.SetMaxConcurrency(-1)
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != http.StatusOK {
		t.Fatalf("unlimited: %d %s", r.Status, r.Raw)
	}
}

func TestCredits(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now, DailyCredits: 20})
	tok := mint(t, s)
	remaining := func(r apiReply) string { return r.Header.Get("X-API-CREDITS-REMAINING") }

	r := upsert(t, s, tok, "Leads", leads(0, 11)...) // 2 credits
	if r.Status != 200 || remaining(r) != "" {
		t.Fatalf("below half: %d, header %q", r.Status, remaining(r))
	}
	r = upsert(t, s, tok, "Leads", leads(100, 80)...) // 8 credits → 10 used
	if r.Status != 200 || remaining(r) != "10" {
		t.Fatalf("half used: %d, header %q", r.Status, remaining(r))
	}
	clock.Advance(time.Hour)
	tok = mint(t, s)
	r = upsert(t, s, tok, "Leads", leads(200, 91)...) // 10 credits → would be 20, allowed
	if r.Status != 200 || remaining(r) != "0" {
		t.Fatalf("budget reached: %d, header %q", r.Status, remaining(r))
	}
	r = upsert(t, s, tok, "Leads", lead(999))
	if r.Status != http.StatusTooManyRequests || r.Code != "TOO_MANY_REQUESTS" || remaining(r) != "0" {
		t.Fatalf("exhausted: %d %s", r.Status, r.Raw)
	}
	if _, ok := s.Lead("user999@example.com"); ok {
		t.Fatal("refused call stored a record")
	}
	st := s.Stats()
	if st.Credits != 20 || st.CreditsRemaining != 0 || st.CreditRejections != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Rolling 24 h: the first two calls' 10 credits come back.
	clock.Advance(23 * time.Hour)
	tok = mint(t, s)
	if got := s.Stats().CreditsRemaining; got != 10 {
		t.Fatalf("remaining after 24h of the first calls: %d", got)
	}
	if r := upsert(t, s, tok, "Leads", lead(999)); r.Status != 200 || remaining(r) != "9" {
		t.Fatalf("%d %q", r.Status, remaining(r))
	}
}

// TestCreditsHeaderOnEveryAnswer: once half the budget is used, Zoho's API
// answers carry X-API-CREDITS-REMAINING (Zoho CRM v8 "API Limits"), not only
// the charged ones: a concurrency 429 says how many credits are left (so a
// client tells it from spent credits), and so does a request error.
func TestCreditsHeaderOnEveryAnswer(t *testing.T) {
	s := newSim(t, Options{DailyCredits: 20, MaxConcurrency: 1})
	tok := mint(t, s)
	if r := upsert(t, s, tok, "Leads", leads(0, 100)...); r.Status != 200 || r.Header.Get("X-API-CREDITS-REMAINING") != "10" {
		t.Fatalf("half used: %d, header %q", r.Status, r.Header.Get("X-API-CREDITS-REMAINING"))
	}
	release := hold(t, s, tok, 1)
	r := upsert(t, s, tok, "Leads", lead(200))
	release()
	if r.Status != http.StatusTooManyRequests || r.Header.Get("X-API-CREDITS-REMAINING") != "10" {
		t.Fatalf("concurrency 429: %d, header %q; want 429 with 10 credits left", r.Status, r.Header.Get("X-API-CREDITS-REMAINING"))
	}
	if r := upsert(t, s, tok, "Nope", lead(201)); r.Status != http.StatusBadRequest || r.Header.Get("X-API-CREDITS-REMAINING") != "10" {
		t.Fatalf("request error: %d, header %q; want 400 with 10 credits left", r.Status, r.Header.Get("X-API-CREDITS-REMAINING"))
	}
}

func TestCreditsFor(t *testing.T) {
	for records, want := range map[int]int{1: 1, 9: 1, 10: 1, 11: 2, 99: 10, 100: 10} {
		if got := CreditsFor(records); got != want {
			t.Errorf("CreditsFor(%d) = %d, want %d", records, got, want)
		}
	}
}

func TestInjectedFaults(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)

	s.FailNext(2, 0)
	for range 2 {
		r := upsert(t, s, tok, "Leads", lead(1))
		if r.Status != 500 || r.Code != "INTERNAL_ERROR" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
	s.FailNext(1, http.StatusBadGateway)
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 502 || !strings.Contains(r.Raw, "<html>") {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	s.FailNext(1, http.StatusUnauthorized) // a proxy's login or outage page
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 401 || !strings.Contains(r.Raw, "<html>") {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	s.Throttle429Next(1)
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 429 || r.Code != "TOO_MANY_REQUESTS" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 200 {
		t.Fatalf("after the faults: %d %s", r.Status, r.Raw)
	}
	s.SetFailRate(1, 503)
	if r := upsert(t, s, tok, "Leads", lead(2)); r.Status != 503 {
		t.Fatalf("fail rate 1: %d", r.Status)
	}
	s.SetFailRate(0, 0)
	st := s.Stats()
	if st.Inserts != 1 || st.Credits != 1 || st.Status[500] != 2 || st.Status[502] != 1 || st.Status[401] != 1 || st.Status[429] != 1 || st.Status[503] != 1 {
		t.Fatalf("faults must not touch records or credits: %+v", st)
	}
}

func TestHangEndsWithClientContext(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	s.HangNext(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/crm/v8/Leads/upsert", strings.NewReader(`{"data":[{"Last_Name":"x","Company":"c"}]}`))
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "hung call", func() bool { return s.Stats().InFlight == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("hung call answered")
	}
	waitFor(t, "handler return", func() bool { return len(s.Calls()) == 1 })
	if c := s.Calls()[0]; c.Status != 0 || c.Code != "HANG" {
		t.Fatalf("call %+v", c)
	}
}

func TestCloseReleasesHungCalls(t *testing.T) {
	s := New(Options{})
	tok := mint(t, s)
	s.HangNext(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("POST", s.URL()+"/crm/v8/Leads/upsert", strings.NewReader(`{"data":[{"Last_Name":"x","Company":"c"}]}`))
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "hung call", func() bool { return s.Stats().InFlight == 1 })
	s.Close() // returns only after the handler has
	<-done
	if st := s.Stats(); st.InFlight != 0 || st.UpsertCalls != 1 {
		t.Fatalf("stats %+v", st)
	}
	s.Close() // idempotent
}

func TestLatencyKnob(t *testing.T) {
	// Latency is observable without timing: a call held in latency counts
	// as in flight.
	s := newSim(t, Options{})
	tok := mint(t, s)
	s.SetLatency(time.Hour, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/crm/v8/Leads/upsert", strings.NewReader(`{"data":[{"Last_Name":"x","Company":"c"}]}`))
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "call in latency", func() bool { return s.Stats().InFlight == 1 })
	cancel()
	<-done
	s.SetLatency(0, 0)
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 200 {
		t.Fatalf("%d", r.Status)
	}
}

func TestReset(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	upsert(t, s, tok, "Leads", lead(1))
	s.FailNext(5, 500)
	s.Reset()
	if len(s.Records("Leads")) != 0 || len(s.Calls()) != 0 || s.Stats().UpsertCalls != 0 {
		t.Fatal("state not reset")
	}
	if _, ok := s.Lead("user1@example.com"); ok {
		t.Fatal("index not reset")
	}
	if r := upsert(t, s, tok, "Leads", lead(1)); r.Status != 200 || r.Data[0]["action"] != "insert" {
		t.Fatalf("tokens must survive Reset, faults must not: %d %s", r.Status, r.Raw)
	}
}

func TestConcurrentUpsertsAreConsistent(t *testing.T) {
	s := newSim(t, Options{MaxConcurrency: -1})
	tok := mint(t, s)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				// Every goroutine writes the same 10 emails.
				recs := leads(0, 10)
				for _, r := range recs {
					r["Title"] = fmt.Sprintf("g%d-%d", g, i)
				}
				if r := upsert(t, s, tok, "Leads", recs...); r.Status != 200 {
					t.Errorf("%d %s", r.Status, r.Raw)
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if len(s.Records("Leads")) != 10 || st.Inserts != 10 || st.Updates != 390 {
		t.Fatalf("records %d, stats %+v", len(s.Records("Leads")), st)
	}
}
