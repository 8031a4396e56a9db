package zohosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newSim starts a simulator closed by t.Cleanup.
func newSim(t testing.TB, o Options) *Server {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

// tokenReply is the union of the token endpoint's answers.
type tokenReply struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	APIDomain        string `json:"api_domain"`
	TokenType        string `json:"token_type"`
	Scope            string `json:"scope"`
	ExpiresIn        *int64 `json:"expires_in"`
	ExpiresInSec     *int64 `json:"expires_in_sec"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Status           string `json:"status"`
}

// postToken posts form values as a form body; status is the HTTP status.
func postToken(t testing.TB, s *Server, form url.Values) (int, tokenReply) {
	t.Helper()
	resp, err := http.PostForm(s.URL()+"/oauth/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r tokenReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("token answer not JSON: %v", err)
	}
	return resp.StatusCode, r
}

func refreshForm(s *Server) url.Values {
	return url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {s.ClientID()},
		"client_secret": {s.ClientSecret()},
		"refresh_token": {s.RefreshToken()},
	}
}

// mint gets an access token with the ready-made credentials.
func mint(t testing.TB, s *Server) string {
	t.Helper()
	status, r := postToken(t, s, refreshForm(s))
	if status != http.StatusOK || r.AccessToken == "" {
		t.Fatalf("mint: status %d, %+v", status, r)
	}
	return r.AccessToken
}

// apiReply is an upsert/fields answer.
type apiReply struct {
	Status  int              `json:"-"` // HTTP status
	Header  http.Header      `json:"-"`
	ZStatus string           `json:"status"` // Zoho's "status" ("error")
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Details map[string]any   `json:"details"`
	Data    []map[string]any `json:"data"`
	Fields  []map[string]any `json:"fields"`
	Raw     string           `json:"-"`
}

func do(t testing.TB, s *Server, method, path, token string, body any) apiReply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := apiReply{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("answer not JSON: %v: %s", err, raw)
		}
	}
	return r
}

// upsert posts records to /crm/v8/{module}/upsert.
func upsert(t testing.TB, s *Server, token, module string, records ...map[string]any) apiReply {
	t.Helper()
	return do(t, s, http.MethodPost, "/crm/v8/"+module+"/upsert", token, map[string]any{"data": records})
}

func jane() map[string]any {
	return map[string]any{"Email": "jane.doe@example.com", "First_Name": "Jane", "Last_Name": "Doe",
		"Company": "Acme Ltd", "Lead_Source": "Website", "Description": "Request a Demo"}
}

func details(t testing.TB, item map[string]any) map[string]any {
	t.Helper()
	d, ok := item["details"].(map[string]any)
	if !ok {
		t.Fatalf("item without details object: %v", item)
	}
	return d
}
