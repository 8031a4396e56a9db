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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Test credentials; tests assert that none of these leak into errors or logs.
const (
	testClientID     = "1000.TESTCLIENTID"
	testClientSecret = "s3cr3t-client-secret"
	testRefreshToken = "1000.refresh.r3fr3sh-token"
)

var testCreds = Credentials{ClientID: testClientID, ClientSecret: testClientSecret, RefreshToken: testRefreshToken}

// fakeAccounts is a Zoho accounts server: each POST /oauth/v2/token calls
// respond with the request number (1-based) and the parsed form.
type fakeAccounts struct {
	*httptest.Server
	mu      sync.Mutex
	forms   []url.Values
	respond func(w http.ResponseWriter, n int, form url.Values)
}

func newFakeAccounts(t *testing.T, respond func(w http.ResponseWriter, n int, form url.Values)) *fakeAccounts {
	t.Helper()
	f := &fakeAccounts{respond: respond}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/oauth/v2/token" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			http.Error(w, "content type "+ct, http.StatusBadRequest)
			return
		}
		if r.URL.RawQuery != "" {
			http.Error(w, "secrets in the query string", http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		n := len(f.forms)
		f.mu.Unlock()
		f.respond(w, n, r.PostForm)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAccounts) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.forms)
}

func (f *fakeAccounts) form(i int) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[i]
}

// okToken answers a refresh grant like Zoho: token "tok-N", one hour.
func okToken(apiDomain string) func(http.ResponseWriter, int, url.Values) {
	return func(w http.ResponseWriter, n int, _ url.Values) {
		fmt.Fprintf(w, `{"access_token":"tok-%d","api_domain":%q,"token_type":"Bearer","expires_in":3600}`, n, apiDomain)
	}
}

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

const testAPI = "https://www.zohoapis.com"

func newTestSource(t *testing.T, acc *fakeAccounts, clk *fakeClock, mod func(*TokenSourceOptions)) *TokenSource {
	t.Helper()
	o := TokenSourceOptions{
		Endpoints:   Endpoints{API: testAPI, Accounts: acc.URL},
		Credentials: testCreds,
		HTTPClient:  acc.Client(),
	}
	if mod != nil {
		mod(&o)
	}
	if clk == nil {
		return NewTokenSource(o)
	}
	return newTokenSource(o, clk.now)
}

func TestTokenRefreshGrant(t *testing.T) {
	acc := newFakeAccounts(t, func(w http.ResponseWriter, n int, _ url.Values) {
		// Zoho never returns a refresh token here; if it did, it must be ignored.
		fmt.Fprintf(w, `{"access_token":"tok-%d","refresh_token":"OTHER","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600,"scope":"ZohoCRM.modules.ALL"}`, n)
	})
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, nil)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		tok, err := ts.Token(ctx)
		if err != nil || tok != "tok-1" {
			t.Fatalf("Token = %q, %v; want tok-1", tok, err)
		}
	}
	if ts.Mints() != 1 || acc.calls() != 1 {
		t.Fatalf("mints %d, calls %d; want 1, 1", ts.Mints(), acc.calls())
	}
	want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {testRefreshToken}, "client_id": {testClientID}, "client_secret": {testClientSecret}}
	if got := acc.form(0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("form = %v, want %v", got, want)
	}
	// Next mint still uses the configured refresh token.
	ts.Invalidate("tok-1")
	if tok, err := ts.Token(ctx); err != nil || tok != "tok-2" {
		t.Fatalf("Token after Invalidate = %q, %v", tok, err)
	}
	if got := acc.form(1).Get("refresh_token"); got != testRefreshToken {
		t.Errorf("second mint used refresh token %q; the configured one must never be replaced", got)
	}
}

func TestTokenSingleFlight(t *testing.T) {
	release := make(chan struct{})
	acc := newFakeAccounts(t, func(w http.ResponseWriter, n int, f url.Values) {
		<-release
		okToken(testAPI)(w, n, f)
	})
	ts := newTestSource(t, acc, nil, nil)
	const callers = 50
	var wg sync.WaitGroup
	toks := make([]string, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			toks[i], errs[i] = ts.Token(context.Background())
		}()
	}
	close(start)
	// Wait until the one mint reached the server, then let it answer.
	for acc.calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] != "tok-1" {
			t.Fatalf("caller %d: %q, %v", i, toks[i], errs[i])
		}
	}
	if ts.Mints() != 1 || acc.calls() != 1 {
		t.Fatalf("mints %d, token requests %d; want exactly 1", ts.Mints(), acc.calls())
	}
}

func TestTokenCallerCancelDoesNotFailOthers(t *testing.T) {
	release := make(chan struct{})
	acc := newFakeAccounts(t, func(w http.ResponseWriter, n int, f url.Values) {
		<-release
		okToken(testAPI)(w, n, f)
	})
	ts := newTestSource(t, acc, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := ts.Token(ctx); errc <- err }()
	for acc.calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(release)
	tok, err := ts.Token(context.Background())
	if err != nil || tok != "tok-1" || acc.calls() != 1 {
		t.Fatalf("Token = %q, %v after %d requests; want the shared mint's tok-1", tok, err, acc.calls())
	}
}

// waitMints waits until ts has minted n tokens (background refresh).
func waitMints(t *testing.T, ts *TokenSource, n int) {
	t.Helper()
	for i := 0; ts.Mints() < n; i++ {
		if i > 10000 {
			t.Fatalf("mints stuck at %d, want %d", ts.Mints(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTokenRefreshAheadOfExpiry(t *testing.T) {
	acc := newFakeAccounts(t, okToken(testAPI))
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, func(o *TokenSourceOptions) { o.RefreshBefore = 5 * time.Minute })
	ctx := context.Background()
	get := func(want string) {
		t.Helper()
		if tok, err := ts.Token(ctx); err != nil || tok != want {
			t.Fatalf("Token = %q, %v; want %s", tok, err, want)
		}
	}
	get("tok-1")
	clk.advance(54 * time.Minute) // 6 min left: keep
	get("tok-1")
	clk.advance(59 * time.Second) // 5 min 1 s left: keep
	get("tok-1")
	if acc.calls() != 1 {
		t.Fatalf("refreshed too early: %d requests", acc.calls())
	}
	clk.advance(2 * time.Second) // 4 min 59 s left: refresh in the background, current token still served
	get("tok-1")
	waitMints(t, ts, 2)
	get("tok-2")
	clk.advance(55*time.Minute - time.Second) // 5 min 1 s left on tok-2
	get("tok-2")
	clk.advance(time.Hour) // tok-2 expired: callers wait for the mint
	get("tok-3")
	if ts.Mints() != 3 || acc.calls() != 3 {
		t.Errorf("mints = %d, requests %d; want 3", ts.Mints(), acc.calls())
	}
}

func TestTokenExpiresInUnits(t *testing.T) {
	tests := []struct {
		name string
		body string
		want time.Duration
	}{
		{"expires_in seconds", `{"access_token":"a","expires_in":3600}`, time.Hour},
		{"legacy expires_in_sec with expires_in in ms", `{"access_token":"a","expires_in_sec":3600,"expires_in":3600000}`, time.Hour},
		{"expires_in in ms without expires_in_sec", `{"access_token":"a","expires_in":3600000}`, time.Hour},
		{"short lifetime", `{"access_token":"a","expires_in":120}`, 2 * time.Minute},
		{"missing expiry: one hour", `{"access_token":"a"}`, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := newFakeAccounts(t, func(w http.ResponseWriter, _ int, _ url.Values) { io.WriteString(w, tt.body) })
			clk := newFakeClock()
			t0 := clk.now()
			ts := newTestSource(t, acc, clk, func(o *TokenSourceOptions) { o.RefreshBefore = time.Second })
			if _, err := ts.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			ts.mu.Lock()
			got := ts.expiry.Sub(t0)
			ts.mu.Unlock()
			if got != tt.want {
				t.Errorf("lifetime = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	throttle := `{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}`
	tests := []struct {
		name      string
		status    int
		body      string
		api       string // configured API base URL; default testAPI
		class     Class
		tokenCode string // *TokenError code expected, "" if another type
		mismatch  bool   // *DataCenterMismatchError expected
		malformed bool   // ErrMalformedResponse expected
		hint      string // substring the message must contain
	}{
		{name: "invalid_client", status: 200, body: `{"error":"invalid_client"}`, class: ClassConfig, tokenCode: "invalid_client", hint: "data center"},
		{name: "invalid_client_secret", status: 200, body: `{"error":"invalid_client_secret"}`, class: ClassConfig, tokenCode: "invalid_client_secret", hint: "client_secret"},
		{name: "invalid_code (revoked refresh token)", status: 200, body: `{"error":"invalid_code"}`, class: ClassConfig, tokenCode: "invalid_code", hint: "revoked"},
		{name: "unknown error code", status: 200, body: `{"error":"invalid_grant"}`, class: ClassConfig, tokenCode: "invalid_grant", hint: "check"},
		{name: "throttle HTTP 200", status: 200, body: throttle, class: ClassThrottled, tokenCode: "Access Denied", hint: "10 per 10 minutes"},
		{name: "throttle HTTP 400", status: 400, body: throttle, class: ClassThrottled, tokenCode: "Access Denied", hint: "10 per 10 minutes"},
		{name: "no access_token", status: 200, body: `{"api_domain":"https://www.zohoapis.com","expires_in":3600}`, class: ClassTransient, malformed: true},
		{name: "not JSON", status: 200, body: `<html>maintenance</html>`, class: ClassTransient, malformed: true},
		{name: "HTTP 500", status: 500, body: `oops`, class: ClassTransient},
		{name: "api_domain of another data center", status: 200, body: `{"access_token":"x","api_domain":"https://www.zohoapis.eu","expires_in":3600}`, class: ClassConfig, mismatch: true, hint: "www.zohoapis.eu"},
		{name: "Zoho api_domain for a non-Zoho API host", status: 200, api: "http://127.0.0.1:9", body: `{"access_token":"x","api_domain":"https://www.zohoapis.com","expires_in":3600}`, class: ClassConfig, mismatch: true, hint: "127.0.0.1:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := newFakeAccounts(t, func(w http.ResponseWriter, _ int, _ url.Values) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			ts := newTestSource(t, acc, newFakeClock(), func(o *TokenSourceOptions) {
				if tt.api != "" {
					o.Endpoints.API = tt.api
				}
			})
			tok, err := ts.Token(context.Background())
			if err == nil {
				t.Fatalf("Token = %q, want an error", tok)
			}
			if c := Classify(err); c != tt.class {
				t.Errorf("Classify = %v, want %v (%v)", c, tt.class, err)
			}
			var te *TokenError
			if tt.tokenCode != "" {
				if !errors.As(err, &te) || te.Code != tt.tokenCode {
					t.Errorf("want *TokenError %q, got %T %v", tt.tokenCode, err, err)
				}
			} else if errors.As(err, &te) {
				t.Errorf("unexpected *TokenError %v", err)
			}
			var mm *DataCenterMismatchError
			if errors.As(err, &mm) != tt.mismatch {
				t.Errorf("mismatch error = %v, want %v (%v)", !tt.mismatch, tt.mismatch, err)
			}
			if tt.mismatch && !strings.Contains(err.Error(), hostname(ts.o.Endpoints.API)) {
				t.Errorf("%q does not name the configured host", err)
			}
			if errors.Is(err, ErrMalformedResponse) != tt.malformed {
				t.Errorf("errors.Is(ErrMalformedResponse) = %v, want %v", !tt.malformed, tt.malformed)
			}
			if !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("%q should contain %q", err, tt.hint)
			}
			assertNoSecrets(t, err.Error())
			if ts.Mints() != 0 {
				t.Errorf("mints = %d after a failure", ts.Mints())
			}
		})
	}
}

func TestTokenAPIDomainRule(t *testing.T) {
	tests := []struct {
		configured, apiDomain string
		ok                    bool
	}{
		{"https://www.zohoapis.com", "https://www.zohoapis.com", true},
		{"https://www.zohoapis.com", "", true},
		{"https://www.zohoapis.eu", "https://www.zohoapis.com", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:9090", true}, // both non-Zoho (proxy): taken as given
		{"http://127.0.0.1:8080", "https://www.zohoapis.com", false},
		{"https://www.zohoapis.com", "http://127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		err := checkAPIDomain(tt.configured, tt.apiDomain)
		if (err == nil) != tt.ok {
			t.Errorf("checkAPIDomain(%q, %q) = %v, want ok=%v", tt.configured, tt.apiDomain, err, tt.ok)
		}
	}
}

func TestTokenThrottleBackoff(t *testing.T) {
	var throttled atomic.Bool
	throttled.Store(true)
	acc := newFakeAccounts(t, func(w http.ResponseWriter, n int, f url.Values) {
		if throttled.Load() {
			io.WriteString(w, `{"error_description":"You have made too many requests continuously. Please try again after some time.","error":"Access Denied","status":"failure"}`)
			return
		}
		okToken(testAPI)(w, n, f)
	})
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, func(o *TokenSourceOptions) { o.ThrottleBackoff = time.Minute })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_, err := ts.Token(ctx)
		if Classify(err) != ClassThrottled {
			t.Fatalf("call %d: %v, want throttled", i, err)
		}
		clk.advance(10 * time.Second)
	}
	if acc.calls() != 1 {
		t.Fatalf("token endpoint asked %d times during the backoff, want 1", acc.calls())
	}
	throttled.Store(false)
	clk.advance(20 * time.Second) // backoff over
	tok, err := ts.Token(ctx)
	if err != nil || tok != "tok-2" {
		t.Fatalf("after backoff: %q, %v", tok, err)
	}
}

func TestTokenConfigErrorNotHammered(t *testing.T) {
	acc := newFakeAccounts(t, func(w http.ResponseWriter, _ int, _ url.Values) {
		io.WriteString(w, `{"error":"invalid_client_secret"}`)
	})
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, nil)
	for i := 0; i < 3; i++ {
		if _, err := ts.Token(context.Background()); Classify(err) != ClassConfig {
			t.Fatalf("want config error, got %v", err)
		}
	}
	if acc.calls() != 1 {
		t.Errorf("token endpoint asked %d times, want 1", acc.calls())
	}
}

func TestTokenFailedRefreshKeepsValidToken(t *testing.T) {
	acc := newFakeAccounts(t, func(w http.ResponseWriter, n int, f url.Values) {
		if n == 1 {
			okToken(testAPI)(w, n, f)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, nil)
	ctx := context.Background()
	if tok, err := ts.Token(ctx); err != nil || tok != "tok-1" {
		t.Fatal(tok, err)
	}
	clk.advance(57 * time.Minute) // inside the refresh window, not expired
	for i := 0; i < 20; i++ {
		if tok, err := ts.Token(ctx); err != nil || tok != "tok-1" {
			t.Fatalf("refresh failing but token still valid: got %q, %v", tok, err)
		}
		for acc.calls() < 2 {
			time.Sleep(time.Millisecond)
		}
	}
	// The failed background refresh is not retried at every call.
	if got := acc.calls(); got != 2 {
		t.Errorf("%d token requests while refreshing in the background, want 2", got)
	}
	clk.advance(3 * time.Minute) // expired now: callers wait, and get the failure
	if _, err := ts.Token(ctx); Classify(err) != ClassTransient {
		t.Fatalf("expired and refresh failing: got %v, want transient error", err)
	}
}

func TestTokenInvalidate(t *testing.T) {
	acc := newFakeAccounts(t, okToken(testAPI))
	ts := newTestSource(t, acc, newFakeClock(), nil)
	ctx := context.Background()
	tok1, _ := ts.Token(ctx)
	ts.Invalidate("not-the-current-token")
	if tok, _ := ts.Token(ctx); tok != tok1 {
		t.Fatalf("unknown token invalidated the current one")
	}
	ts.Invalidate(tok1)
	tok2, err := ts.Token(ctx)
	if err != nil || tok2 == tok1 {
		t.Fatalf("after Invalidate: %q, %v", tok2, err)
	}
	// 10 callers that all saw tok1 fail: no further mints.
	for i := 0; i < 10; i++ {
		ts.Invalidate(tok1)
	}
	if tok, _ := ts.Token(ctx); tok != tok2 || ts.Mints() != 2 {
		t.Fatalf("stale invalidations caused mints: %q, mints %d", tok, ts.Mints())
	}
}

func TestTokenCacheFile(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "zoho-token.json")
	acc := newFakeAccounts(t, okToken(testAPI))
	clk := newFakeClock()
	withCache := func(o *TokenSourceOptions) { o.CacheFile = cache }
	ctx := context.Background()

	ts1 := newTestSource(t, acc, clk, withCache)
	tok1, err := ts1.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(cache)
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c["access_token"] != tok1 || c["api_domain"] != testAPI || c["expiry"] == nil {
		t.Errorf("cache content %s", b)
	}
	assertNoSecrets(t, string(b))
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// A restart (new TokenSource, real clock within the token's life) reuses it.
	restart := func(mod func(*TokenSourceOptions)) *TokenSource {
		return newTestSource(t, acc, clk, func(o *TokenSourceOptions) {
			o.CacheFile = cache
			if mod != nil {
				mod(o)
			}
		})
	}
	clk.advance(10 * time.Minute)
	ts2 := restart(nil)
	if tok, err := ts2.Token(ctx); err != nil || tok != tok1 || ts2.Mints() != 0 || acc.calls() != 1 {
		t.Fatalf("restart: %q, %v, mints %d, requests %d; want cached %s and no mint", tok, err, ts2.Mints(), acc.calls(), tok1)
	}

	// Another API host, or other credentials, never reuse it.
	if ts4 := restart(func(o *TokenSourceOptions) { o.Endpoints.API = "https://www.zohoapis.eu" }); ts4.tok != "" {
		t.Error("cache adopted for another API host")
	}
	for what, mod := range map[string]func(*TokenSourceOptions){
		"refresh token":   func(o *TokenSourceOptions) { o.Credentials.RefreshToken = "1000.other" },
		"client secret":   func(o *TokenSourceOptions) { o.Credentials.ClientSecret = "other-secret" },
		"client ID":       func(o *TokenSourceOptions) { o.Credentials.ClientID = "1000.OTHER" },
		"accounts server": func(o *TokenSourceOptions) { o.Endpoints.Accounts = "https://accounts.zoho.com" },
	} {
		if ts3 := restart(mod); ts3.tok != "" {
			t.Errorf("cache adopted for another %s", what)
		}
	}

	// A token close to expiry is not reused.
	ts5 := newTestSource(t, acc, clk, withCache)
	tok5, _ := ts5.Token(ctx)
	clk.advance(56 * time.Minute)
	ts6 := restart(nil)
	if ts6.tok == tok5 {
		t.Error("cache reused a token inside the refresh window")
	}

	// Invalidate removes the file; a corrupt file is ignored.
	ts5.Invalidate(tok5)
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("cache file still there after Invalidate: %v", err)
	}
	os.WriteFile(cache, []byte("{not json"), 0o600)
	if ts7 := restart(nil); ts7.tok != "" {
		t.Error("corrupt cache adopted")
	}
}

func TestCredentialsRedacted(t *testing.T) {
	for _, s := range []string{
		testCreds.String(),
		fmt.Sprintf("%v %+v %#v %s", testCreds, testCreds, testCreds, testCreds),
		fmt.Sprintf("%v", TokenSourceOptions{Credentials: testCreds}),
		fmt.Sprintf("%+v", &TokenSourceOptions{Credentials: testCreds}),
	} {
		assertNoSecrets(t, s)
		if !strings.Contains(s, testClientID) {
			t.Errorf("client ID should be visible: %s", s)
		}
	}
	if s := (Credentials{ClientID: "x"}).String(); strings.Contains(s, redacted) {
		t.Errorf("empty secrets shown as redacted: %s", s)
	}
}

func TestTokenSecretsNeverLogged(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	acc := newFakeAccounts(t, func(w http.ResponseWriter, n int, f url.Values) {
		switch n {
		case 1:
			okToken(testAPI)(w, n, f)
		case 2:
			w.WriteHeader(500)
		default:
			io.WriteString(w, `{"error":"invalid_code"}`)
		}
	})
	clk := newFakeClock()
	cache := filepath.Join(t.TempDir(), "tok.json")
	ts := newTestSource(t, acc, clk, func(o *TokenSourceOptions) { o.Logger = zap.New(core); o.CacheFile = cache })
	ctx := context.Background()
	tok, _ := ts.Token(ctx)
	ts.Invalidate(tok)
	ts.Token(ctx)
	ts.Token(ctx)
	if logs.Len() == 0 {
		t.Fatal("expected some log entries")
	}
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		assertNoSecrets(t, line)
		if strings.Contains(line, tok) {
			t.Errorf("access token logged: %s", line)
		}
	}
}

func TestExchangeCode(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		want  string
		class Class
	}{
		{"success", `{"access_token":"a","refresh_token":"1000.newrefresh","api_domain":"https://www.zohoapis.com","token_type":"Bearer","expires_in":3600}`, "1000.newrefresh", 0},
		{"used or expired code", `{"error":"invalid_code"}`, "", ClassConfig},
		{"no refresh token", `{"access_token":"a","api_domain":"https://www.zohoapis.com","expires_in":3600}`, "", ClassTransient},
		{"other data center", `{"access_token":"a","refresh_token":"r","api_domain":"https://www.zohoapis.eu","expires_in":3600}`, "", ClassConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := newFakeAccounts(t, func(w http.ResponseWriter, _ int, _ url.Values) { io.WriteString(w, tt.body) })
			rt, err := ExchangeCode(context.Background(), acc.Client(), Endpoints{API: testAPI, Accounts: acc.URL}, testClientID, testClientSecret, "1000.grantcode")
			if tt.want != "" {
				if err != nil || rt != tt.want {
					t.Fatalf("ExchangeCode = %q, %v", rt, err)
				}
			} else if c := Classify(err); err == nil || c != tt.class {
				t.Fatalf("ExchangeCode = %q, %v (class %v), want class %v", rt, err, c, tt.class)
			}
			f := acc.form(0)
			if f.Get("grant_type") != "authorization_code" || f.Get("code") != "1000.grantcode" || f.Get("client_id") != testClientID || f.Get("client_secret") != testClientSecret {
				t.Errorf("form %v", f)
			}
			if err != nil {
				assertNoSecrets(t, err.Error())
			}
		})
	}
}

func assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testClientSecret, testRefreshToken} {
		if strings.Contains(s, secret) {
			t.Errorf("secret leaked: %s", s)
		}
	}
}
