package zohosim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRefreshGrantSuccessShape(t *testing.T) {
	s := newSim(t, Options{})
	status, r := postToken(t, s, refreshForm(s))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if !strings.HasPrefix(r.AccessToken, "1000.") || r.APIDomain != s.URL() || r.TokenType != "Bearer" || r.Scope != DefaultScope {
		t.Fatalf("unexpected answer %+v", r)
	}
	if r.ExpiresIn == nil || *r.ExpiresIn != 3600 || r.ExpiresInSec != nil {
		t.Fatalf("expires_in = %v, expires_in_sec = %v", r.ExpiresIn, r.ExpiresInSec)
	}
	if r.RefreshToken != "" {
		t.Fatal("refresh grant must not return a refresh token")
	}
	if got := s.Stats().TokenMints; got != 1 {
		t.Fatalf("TokenMints = %d", got)
	}
}

func TestTokenParamsInQueryString(t *testing.T) {
	s := newSim(t, Options{})
	resp, err := http.Post(s.URL()+"/oauth/v2/token?"+refreshForm(s).Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || s.Stats().TokenMints != 1 {
		t.Fatalf("status %d, mints %d", resp.StatusCode, s.Stats().TokenMints)
	}
}

func TestLegacyExpiresIn(t *testing.T) {
	s := newSim(t, Options{LegacyExpiresIn: true})
	_, r := postToken(t, s, refreshForm(s))
	if r.ExpiresInSec == nil || *r.ExpiresInSec != 3600 || r.ExpiresIn == nil || *r.ExpiresIn != 3600000 {
		t.Fatalf("expires_in_sec = %v, expires_in = %v", r.ExpiresInSec, r.ExpiresIn)
	}
}

func TestTokenErrors(t *testing.T) {
	s := newSim(t, Options{})
	revoked := s.GrantCode()
	_, rr := postToken(t, s, url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID()},
		"client_secret": {s.ClientSecret()}, "code": {revoked}})
	s.RevokeRefreshToken(rr.RefreshToken)

	tests := []struct {
		name   string
		modify func(url.Values)
		want   string
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "1000.NOPE") }, "invalid_client"},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "nope") }, "invalid_client_secret"},
		{"unknown refresh token", func(v url.Values) { v.Set("refresh_token", "1000.x.y") }, "invalid_code"},
		{"revoked refresh token", func(v url.Values) { v.Set("refresh_token", rr.RefreshToken) }, "invalid_code"},
		{"bad grant code", func(v url.Values) { v.Set("grant_type", "authorization_code"); v.Set("code", "1000.bad.code") }, "invalid_code"},
		{"bad grant type", func(v url.Values) { v.Set("grant_type", "password") }, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := refreshForm(s)
			tc.modify(form)
			status, r := postToken(t, s, form)
			if status != http.StatusOK {
				t.Fatalf("token errors come with HTTP 200, got %d", status)
			}
			if r.Error != tc.want || r.AccessToken != "" {
				t.Fatalf("got %+v, want error %q", r, tc.want)
			}
		})
	}
	if got := s.Stats().TokenErrors; got != len(tests) {
		t.Fatalf("TokenErrors = %d, want %d", got, len(tests))
	}
}

func TestAuthorizationCodeGrant(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})
	exchange := func(code string) tokenReply {
		_, r := postToken(t, s, url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID()},
			"client_secret": {s.ClientSecret()}, "code": {code}, "redirect_uri": {"https://example.com"}})
		return r
	}
	code := s.GrantCode()
	r := exchange(code)
	if r.Error != "" || r.RefreshToken == "" || r.AccessToken == "" || r.RefreshToken == s.RefreshToken() {
		t.Fatalf("exchange: %+v", r)
	}
	// The new refresh token works.
	form := refreshForm(s)
	form.Set("refresh_token", r.RefreshToken)
	if _, rr := postToken(t, s, form); rr.AccessToken == "" {
		t.Fatalf("refresh with exchanged token: %+v", rr)
	}
	// Single use.
	if r := exchange(code); r.Error != "invalid_code" {
		t.Fatalf("reused code: %+v", r)
	}
	// Expires after two minutes.
	late := s.GrantCode()
	clock.Advance(DefaultGrantCodeLifetime)
	if r := exchange(late); r.Error != "invalid_code" {
		t.Fatalf("expired code: %+v", r)
	}
	fresh := s.GrantCode()
	clock.Advance(DefaultGrantCodeLifetime - time.Second)
	if r := exchange(fresh); r.Error != "" {
		t.Fatalf("code within its lifetime: %+v", r)
	}
}

func TestTokenThrottle(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			clock := newFakeClock()
			s := newSim(t, Options{Now: clock.Now, TokenThrottleStatus: status})
			for range TokenMintsPerWindow {
				mint(t, s)
				clock.Advance(time.Second)
			}
			got, r := postToken(t, s, refreshForm(s))
			if got != status || r.Error != "Access Denied" || r.Status != "failure" ||
				r.ErrorDescription != "You have made too many requests continuously. Please try again after some time." {
				t.Fatalf("11th mint: status %d, %+v", got, r)
			}
			// The window is rolling: once the first mint is 10 minutes old, one more is allowed.
			clock.Advance(TokenMintWindow - 10*time.Second)
			mint(t, s)
			if _, r := postToken(t, s, refreshForm(s)); r.Error != "Access Denied" {
				t.Fatalf("second mint after the window moved by one: %+v", r)
			}
			st := s.Stats()
			if st.TokenMints != 11 || st.TokenThrottled != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
	t.Run("runtime knob", func(t *testing.T) {
		s := newSim(t, Options{Now: newFakeClock().Now})
		s.SetTokenThrottleStatus(http.StatusBadRequest)
		for range TokenMintsPerWindow {
			mint(t, s)
		}
		if got, _ := postToken(t, s, refreshForm(s)); got != http.StatusBadRequest {
			t.Fatalf("status %d", got)
		}
	})
}

func TestFifteenLiveTokens(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})
	var tokens []string
	for i := range MaxLiveTokens + 1 {
		if i == TokenMintsPerWindow {
			clock.Advance(TokenMintWindow) // stay under the mint throttle
		}
		tokens = append(tokens, mint(t, s))
	}
	if got := s.LiveTokens(s.RefreshToken()); got != MaxLiveTokens {
		t.Fatalf("live tokens = %d", got)
	}
	if r := upsert(t, s, tokens[0], "Leads", jane()); r.Status != http.StatusUnauthorized || r.Code != "INVALID_TOKEN" {
		t.Fatalf("oldest token after the 16th mint: %d %s", r.Status, r.Code)
	}
	for _, tok := range tokens[1:] {
		if r := upsert(t, s, tok, "Leads", jane()); r.Status != http.StatusOK {
			t.Fatalf("live token refused: %d %s", r.Status, r.Raw)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now, TokenLifetime: 5 * time.Minute})
	_, r := postToken(t, s, refreshForm(s))
	if *r.ExpiresIn != 300 {
		t.Fatalf("expires_in = %d", *r.ExpiresIn)
	}
	clock.Advance(5*time.Minute - time.Second)
	if got := upsert(t, s, r.AccessToken, "Leads", jane()); got.Status != http.StatusOK {
		t.Fatalf("before expiry: %d %s", got.Status, got.Raw)
	}
	clock.Advance(time.Second)
	got := upsert(t, s, r.AccessToken, "Leads", jane())
	if got.Status != http.StatusUnauthorized || got.Code != "INVALID_TOKEN" || got.Message != "invalid oauth token" || got.Data != nil {
		t.Fatalf("after expiry: %d %s", got.Status, got.Raw)
	}
	if s.LiveTokens(s.RefreshToken()) != 0 {
		t.Fatal("expired token still counted live")
	}
}

func TestAuthFailures(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	for name, tc := range map[string]struct{ header string }{
		"missing":       {""},
		"bearer scheme": {"Bearer " + tok},
		"unknown token": {"Zoho-oauthtoken 1000.a.b"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/crm/v8/Leads/upsert", strings.NewReader(`{"data":[{"Last_Name":"x"}]}`))
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d", resp.StatusCode)
			}
		})
	}
	t.Run("invalidated", func(t *testing.T) {
		s.InvalidateTokens()
		if r := upsert(t, s, tok, "Leads", jane()); r.Code != "INVALID_TOKEN" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if r := upsert(t, s, mint(t, s), "Leads", jane()); r.Status != http.StatusOK {
			t.Fatalf("fresh token after InvalidateTokens: %d %s", r.Status, r.Raw)
		}
	})
	t.Run("scope mismatch", func(t *testing.T) {
		s.SetScopeMismatch(true)
		defer s.SetScopeMismatch(false)
		r := upsert(t, s, mint(t, s), "Leads", jane())
		if r.Status != http.StatusUnauthorized || r.Code != "OAUTH_SCOPE_MISMATCH" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}
