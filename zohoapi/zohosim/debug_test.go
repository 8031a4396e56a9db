package zohosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func getDebug(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestDebugGrantCode: each GET answers a new code, and the code works once in
// the authorization_code grant, like one from Zoho's Self Client.
func TestDebugGrantCode(t *testing.T) {
	s := newSim(t, Options{})
	status, body := getDebug(t, s, "/zohosim/grant-code")
	code := strings.TrimSpace(body)
	if status != http.StatusOK || code == "" || strings.Contains(code, "\n") {
		t.Fatalf("grant-code: %d %q", status, body)
	}
	if _, again := getDebug(t, s, "/zohosim/grant-code"); strings.TrimSpace(again) == code {
		t.Error("two requests answered the same code")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}, "code": {code}}
	if st, r := postToken(t, s, form); st != http.StatusOK || r.RefreshToken == "" || r.Error != "" {
		t.Fatalf("exchange: %d %+v", st, r)
	}
	if _, r := postToken(t, s, form); r.Error != "invalid_code" {
		t.Errorf("second exchange of one code: %+v, want invalid_code", r)
	}
	// Anything else under /zohosim/ lists the debugging endpoints.
	resp, err := http.Post(s.URL()+"/zohosim/grant-code", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "GET /zohosim/grant-code") || !strings.Contains(string(b), "GET /zohosim/records?module=Leads") {
		t.Errorf("POST grant-code: %d %s, want 404 and the list of endpoints", resp.StatusCode, b)
	}
}

func TestDebugRecords(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	if r := upsert(t, s, tok, "Leads", jane(), map[string]any{"Last_Name": "Roe", "Company": "Roe Inc", "Email": "rick@example.com"}); r.Status != http.StatusOK {
		t.Fatalf("upsert: %d %s", r.Status, r.Raw)
	}

	for _, path := range []string{"/zohosim/records?module=Leads", "/zohosim/records"} {
		status, body := getDebug(t, s, path)
		var got struct {
			Module  string           `json:"module"`
			Count   int              `json:"count"`
			Records []map[string]any `json:"records"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
			t.Fatalf("%s: %d %v\n%s", path, status, err, body)
		}
		want := s.Records("Leads")
		if got.Module != "Leads" || got.Count != 2 || len(got.Records) != 2 ||
			got.Records[0]["id"] != want[0]["id"] || got.Records[1]["Email"] != "rick@example.com" {
			t.Errorf("%s: %+v, want the records %v", path, got, want)
		}
	}
	if status, body := getDebug(t, s, "/zohosim/records?module=Contacts"); status != http.StatusOK || !strings.Contains(body, `"count":0`) {
		t.Errorf("empty module: %d %s", status, body)
	}
	status, body := getDebug(t, s, "/zohosim/records?module=Leeds")
	if status != http.StatusNotFound || !strings.Contains(body, `unknown module \"Leeds\"`) || !strings.Contains(body, `"Leads"`) {
		t.Errorf("unknown module: %d %s", status, body)
	}
	// Zoho's own paths are unaffected: the debug prefix is outside them.
	if status, _ := getDebug(t, s, "/crm/v8/zohosim/records"); status != http.StatusNotFound {
		t.Errorf("/crm/v8/zohosim/records: %d", status)
	}
}
