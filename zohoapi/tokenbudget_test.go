package zohoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestTokenLifetimesUnderTraffic: two minutes of traffic (one upsert every
// 100 ms) against the simulator with its real mint limit (10 per refresh token
// per 10 minutes), for access tokens living 3 s, 20 s and an hour. The clock
// is fake (shared by the simulator and the token source), so waits for the
// mint budget take no real time. Whatever the lifetime: Zoho never throttles
// a mint, at most wall/lifetime + 2 tokens are minted, and every record arrives.
func TestTokenLifetimesUnderTraffic(t *testing.T) {
	const (
		traffic = 2 * time.Minute
		every   = 100 * time.Millisecond
	)
	for _, lifetime := range []time.Duration{3 * time.Second, 20 * time.Second, time.Hour} {
		t.Run(lifetime.String(), func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			sim := zohosim.New(zohosim.Options{Now: clk.now, TokenLifetime: lifetime, MaxConcurrency: -1})
			t.Cleanup(sim.Close)
			eps := Endpoints{API: sim.URL(), Accounts: sim.URL()}
			ts := newTokenSource(TokenSourceOptions{
				Endpoints:   eps,
				Credentials: Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
			}, clk.now)
			cl := NewClient(ClientOptions{Endpoints: eps, Tokens: ts})
			ctx := context.Background()
			start := clk.now()
			n := int(traffic / every)
			waits := 0
			for i := range n {
				if due := start.Add(time.Duration(i) * every); clk.now().Before(due) {
					clk.advance(due.Sub(clk.now()))
				}
				rec := Record{{Name: "Email", Value: fmt.Appendf(nil, `"u%d@example.com"`, i)}, {Name: "Last_Name", Value: []byte(`"L"`)}, {Name: "Company", Value: []byte(`"C"`)}}
				for {
					res, err := cl.Upsert(ctx, UpsertRequest{Module: "Leads", Records: []Record{rec}})
					var wait *MintWaitError
					if errors.As(err, &wait) {
						waits++
						clk.advance(wait.Until.Sub(clk.now()))
						continue
					}
					if err != nil || res.Results[0].Err != nil {
						t.Fatalf("record %d at +%v: %+v, %v", i, clk.now().Sub(start), res, err)
					}
					break
				}
			}
			wall := clk.now().Sub(start)
			st := sim.Stats()
			if st.TokenThrottled != 0 {
				t.Errorf("Zoho throttled %d token requests", st.TokenThrottled)
			}
			if limit := int(wall/lifetime) + 2; st.TokenMints > limit || ts.Mints() != st.TokenMints {
				t.Errorf("%d tokens minted (source counted %d) in %v, want at most %d", st.TokenMints, ts.Mints(), wall, limit)
			}
			if got := len(sim.Records("Leads")); got != n {
				t.Errorf("%d of %d records reached Zoho", got, n)
			}
			if lifetime == 3*time.Second && waits == 0 {
				t.Error("3 s tokens for 2 minutes never waited for the mint budget")
			}
			t.Logf("lifetime %v: %d mints, %d budget waits, wall %v", lifetime, st.TokenMints, waits, wall)
		})
	}
}

// expiringIn answers a refresh grant with token "tok-N" living secs seconds.
func expiringIn(secs int) func(http.ResponseWriter, int, url.Values) {
	return func(w http.ResponseWriter, n int, _ url.Values) {
		fmt.Fprintf(w, `{"access_token":"tok-%d","api_domain":%q,"expires_in":%d}`, n, testAPI, secs)
	}
}

// TestTokenRefreshOncePerShortToken: a token shorter than RefreshBefore (the
// storm of issue 8: every call started a mint) is refreshed once, at 90% of
// its life, and handed out until just before it expires.
func TestTokenRefreshOncePerShortToken(t *testing.T) {
	acc := newFakeAccounts(t, expiringIn(20))
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, nil) // RefreshBefore 5 minutes
	ctx := context.Background()
	for range 170 { // 17 s of calls every 100 ms: no refresh yet
		if tok, err := ts.Token(ctx); err != nil || tok != "tok-1" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
		clk.advance(100 * time.Millisecond)
	}
	if acc.calls() != 1 {
		t.Fatalf("%d token requests within the first 17 s of a 20 s token, want 1", acc.calls())
	}
	clk.advance(time.Second) // 18 s: refresh in the background, once
	for range 5 {
		if tok, err := ts.Token(ctx); err != nil || (tok != "tok-1" && tok != "tok-2") {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}
	waitMints(t, ts, 2)
	if tok, _ := ts.Token(ctx); tok != "tok-2" || acc.calls() != 2 {
		t.Fatalf("after the refresh: %q with %d requests, want tok-2 and 2", tok, acc.calls())
	}
}

// TestTokenMintBudget: the 11th token request within 10 minutes is not sent:
// Token says until when to wait (ClassThrottled), and mints again then.
func TestTokenMintBudget(t *testing.T) {
	acc := newFakeAccounts(t, expiringIn(2))
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, nil)
	ctx := context.Background()
	first := clk.now()
	for i := range MaxMintsPerWindow {
		if tok, err := ts.Token(ctx); err != nil || tok != fmt.Sprintf("tok-%d", i+1) {
			t.Fatalf("mint %d: %q, %v", i+1, tok, err)
		}
		clk.advance(3 * time.Second) // expired
	}
	_, err := ts.Token(ctx)
	var wait *MintWaitError
	if !errors.As(err, &wait) || Classify(err) != ClassThrottled {
		t.Fatalf("11th mint within 10 minutes: %v, want *MintWaitError", err)
	}
	if want := first.Add(MintWindow + mintWindowSlack); !wait.Until.Equal(want) {
		t.Errorf("wait until %v, want %v", wait.Until, want)
	}
	if acc.calls() != MaxMintsPerWindow {
		t.Errorf("%d token requests, want %d", acc.calls(), MaxMintsPerWindow)
	}
	clk.advance(wait.Until.Sub(clk.now()) + time.Millisecond)
	if tok, err := ts.Token(ctx); err != nil || tok != "tok-11" {
		t.Fatalf("after the wait: %q, %v", tok, err)
	}
}

// TestTokenMintBudgetSharedThroughCache: a process that starts with the cache
// file of one that just minted counts those mints against its budget.
func TestTokenMintBudgetSharedThroughCache(t *testing.T) {
	acc := newFakeAccounts(t, expiringIn(2))
	clk := newFakeClock()
	cache := filepath.Join(t.TempDir(), "zoho-token.json")
	withCache := func(o *TokenSourceOptions) { o.CacheFile = cache }
	ctx := context.Background()
	ts1 := newTestSource(t, acc, clk, withCache)
	for range 7 {
		if _, err := ts1.Token(ctx); err != nil {
			t.Fatal(err)
		}
		clk.advance(3 * time.Second)
	}
	ts2 := newTestSource(t, acc, clk, withCache)
	for range 3 {
		if _, err := ts2.Token(ctx); err != nil {
			t.Fatal(err)
		}
		clk.advance(3 * time.Second)
	}
	var wait *MintWaitError
	if _, err := ts2.Token(ctx); !errors.As(err, &wait) {
		t.Fatalf("mint 11 across two processes: %v, want *MintWaitError", err)
	}
	if acc.calls() != MaxMintsPerWindow {
		t.Errorf("%d token requests, want %d", acc.calls(), MaxMintsPerWindow)
	}
}

// TestTokenMintBudgetPerRefreshToken: the mint budget recorded in the cache
// file belongs to the refresh token (Zoho counts mints per refresh token), so
// a process holding another client secret for it counts the recorded mints
// although it does not adopt their token; a file of another refresh token
// counts nothing; a file written before tokens were bound to the client
// secret (no "credentials") gives its mints but not its token.
func TestTokenMintBudgetPerRefreshToken(t *testing.T) {
	acc := newFakeAccounts(t, expiringIn(2)) // accepts any secret
	clk := newFakeClock()
	cache := filepath.Join(t.TempDir(), "zoho-token.json")
	ctx := context.Background()
	with := func(secret, refresh string) func(*TokenSourceOptions) {
		return func(o *TokenSourceOptions) {
			o.CacheFile = cache
			o.Credentials.ClientSecret, o.Credentials.RefreshToken = secret, refresh
		}
	}
	mint := func(ts *TokenSource, n int) {
		t.Helper()
		for i := range n {
			if i > 0 {
				clk.advance(3 * time.Second) // past the 2 s token: this call mints
			}
			if _, err := ts.Token(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	mint(newTestSource(t, acc, clk, with(testClientSecret, testRefreshToken)), 7)
	// The 7th token is still valid, but not of these credentials.
	other := newTestSource(t, acc, clk, with("rotated-secret", testRefreshToken))
	if other.tok != "" {
		t.Fatal("a token of another client secret was adopted")
	}
	mint(other, 3)
	clk.advance(3 * time.Second)
	var wait *MintWaitError
	if _, err := other.Token(ctx); !errors.As(err, &wait) {
		t.Fatalf("mint 11 for one refresh token under two client secrets: %v, want *MintWaitError", err)
	}
	if acc.calls() != MaxMintsPerWindow {
		t.Errorf("%d token requests, want %d", acc.calls(), MaxMintsPerWindow)
	}

	// Another refresh token has a budget of its own.
	if _, err := newTestSource(t, acc, clk, with(testClientSecret, "1000.other")).Token(ctx); err != nil {
		t.Fatalf("another refresh token: %v, want a mint", err)
	}

	// A file of the previous format: its mints count, its token is not used.
	clk.advance(MintWindow + mintWindowSlack)
	fresh := newTestSource(t, acc, clk, with(testClientSecret, testRefreshToken))
	tok, err := fresh.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cache)
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	delete(c, "credentials")
	reqs := make([]time.Time, MaxMintsPerWindow)
	for i := range reqs {
		reqs[i] = clk.now()
	}
	c["token_requests"] = reqs
	b, _ = json.Marshal(c)
	if err := os.WriteFile(cache, b, 0o600); err != nil {
		t.Fatal(err)
	}
	old := newTestSource(t, acc, clk, with(testClientSecret, testRefreshToken))
	if old.tok != "" {
		t.Errorf("token %q of a file without credentials adopted (cached %q)", old.tok, tok)
	}
	if _, err := old.Token(ctx); !errors.As(err, &wait) {
		t.Errorf("mint after a previous-format file recorded %d mints: %v, want *MintWaitError", MaxMintsPerWindow, err)
	}
}

// TestTokenInvalidateForcesOneEarlyMint: a 401 forces one early mint; a 401
// answered to that fresh token does not mint again (it is not the token)
// until the forced-mint interval has passed.
func TestTokenInvalidateForcesOneEarlyMint(t *testing.T) {
	acc := newFakeAccounts(t, okToken(testAPI))
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, nil)
	ctx := context.Background()
	tok1, _ := ts.Token(ctx)
	if !ts.Invalidate(tok1) {
		t.Fatal("first 401: no fresh token granted")
	}
	tok2, err := ts.Token(ctx)
	if err != nil || tok2 != "tok-2" {
		t.Fatalf("after the first 401: %q, %v", tok2, err)
	}
	for range 20 {
		if ts.Invalidate(tok2) {
			t.Fatal("a 401 to the fresh token forced another mint")
		}
		if tok, _ := ts.Token(ctx); tok != tok2 {
			t.Fatalf("token replaced: %q", tok)
		}
		clk.advance(time.Second)
	}
	if !ts.Invalidate(tok1) { // stale: the caller retries with the current token
		t.Error("a stale token's 401 was not told to retry")
	}
	clk.advance(forcedMintInterval)
	if !ts.Invalidate(tok2) {
		t.Error("no forced mint after the interval")
	}
	if tok, _ := ts.Token(ctx); tok != "tok-3" || acc.calls() != 3 {
		t.Errorf("got %q after %d requests, want tok-3 after 3", tok, acc.calls())
	}
}

// TestTokenExpiryShapes: expiry fields as Zoho has sent them in the wild
// (zoho-crm-api.md "OAuth 2.0") never fail a mint and give a safe lifetime.
func TestTokenExpiryShapes(t *testing.T) {
	tests := []struct {
		name, body string
		want       time.Duration
	}{
		{"expires_in as a string", `{"access_token":"a","expires_in":"3600"}`, time.Hour},
		{"legacy pair as strings", `{"access_token":"a","expires_in_sec":"1800","expires_in":"1800000"}`, 30 * time.Minute},
		{"legacy ms without a usable expires_in_sec", `{"access_token":"a","expires_in_sec":"soon","expires_in":3600000}`, time.Hour},
		{"not a number", `{"access_token":"a","expires_in":"one hour"}`, DefaultTokenLifetime},
		{"null", `{"access_token":"a","expires_in":null}`, DefaultTokenLifetime},
		{"zero", `{"access_token":"a","expires_in":0}`, DefaultTokenLifetime},
		{"negative", `{"access_token":"a","expires_in":-5}`, DefaultTokenLifetime},
		{"an object", `{"access_token":"a","expires_in":{"s":3600}}`, DefaultTokenLifetime},
		{"fractional seconds", `{"access_token":"a","expires_in":"2.5"}`, 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := newFakeAccounts(t, func(w http.ResponseWriter, _ int, _ url.Values) { io.WriteString(w, tt.body) })
			clk := newFakeClock()
			t0 := clk.now()
			ts := newTestSource(t, acc, clk, nil)
			if _, err := ts.Token(context.Background()); err != nil {
				t.Fatalf("mint refused for %s: %v", tt.body, err)
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

// TestUnreachableAccountsServerSpendsNoMints: token requests that never
// reach Zoho (the accounts server refuses the connection) do not count
// against the mint budget, so retrying through a Zoho outage (as the start's
// metadata read and delivery do) leaves the whole budget for when Zoho
// answers again; Zoho answering later mints at once.
func TestUnreachableAccountsServerSpendsNoMints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there until the simulator below
	clk := newFakeClock()
	eps := Endpoints{API: "http://" + addr, Accounts: "http://" + addr}
	creds := Credentials{ClientID: "cid", ClientSecret: "csec", RefreshToken: "rtok"}
	ts := newTokenSource(TokenSourceOptions{Endpoints: eps, Credentials: creds}, clk.now)
	for i := range 3 * MaxMintsPerWindow {
		_, err := ts.Token(context.Background())
		var wait *MintWaitError
		if errors.As(err, &wait) {
			t.Fatalf("attempt %d against a refused connection: %v; want no mint counted", i+1, err)
		}
		if err == nil {
			t.Fatalf("attempt %d: a token from a closed port", i+1)
		}
		clk.advance(refreshRetry + time.Second)
	}
	sim := zohosim.New(zohosim.Options{Listen: addr, Now: clk.now, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, RefreshToken: creds.RefreshToken})
	t.Cleanup(sim.Close)
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatalf("once Zoho answers: %v, want a token at once", err)
	}
}
