package zohosim

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Token endpoint, POST {accounts}/oauth/v2/token (Zoho OAuth "Generating
// Tokens" and "Refreshing your Access Tokens" pages). Parameters come in the
// query string (Zoho's docs), an urlencoded body (Python SDK) or a
// multipart/form-data body (Node SDK v8, built with FormData); all three are
// accepted (see tokenParams).
//
// Errors are HTTP 200 with an "error" key (Zoho's behaviour):
//   - invalid_client: unknown client_id (in Zoho also: wrong data center)
//   - invalid_client_secret: wrong client_secret for a known client
//   - invalid_code: unknown/used/expired grant code, unknown/revoked refresh token
//   - unsupported_grant_type: grant_type other than refresh_token/authorization_code
//   - "Access Denied": more than 10 tokens per refresh token in 10 minutes
//     (HTTP status knob: 200 or 400)

// tokenState is the OAuth state (guarded by Server.mu).
type tokenState struct {
	refresh map[string]*refreshToken // refresh token → state
	access  map[string]*accessToken  // live (possibly expired) access tokens
	grants  map[string]time.Time     // unused grant code → expiry
}

type refreshToken struct {
	scope   string
	revoked bool
	mints   []time.Time // mint times inside the throttle window
	live    []string    // access tokens minted from it, oldest first
}

type accessToken struct {
	refresh string
	expires time.Time
	scope   string
}

func (t *tokenState) init() {
	t.refresh = map[string]*refreshToken{}
	t.access = map[string]*accessToken{}
	t.grants = map[string]time.Time{}
}

func (t *tokenState) addRefresh(tok, scope string) {
	t.refresh[tok] = &refreshToken{scope: scope}
}

// UseUpTokenMints fills the current throttle window of refreshToken, as if
// [TokenMintsPerWindow] tokens had just been minted from it (by other
// processes or commands): the next refresh gets the "Access Denied" throttle
// answer until the window moves on. It reports false for an unknown token.
func (s *Server) UseUpTokenMints(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.tokens.refresh[refreshToken]
	if !ok {
		return false
	}
	now := s.now()
	s.pruneMints(rt, now)
	for len(rt.mints) < TokenMintsPerWindow {
		rt.mints = append(rt.mints, now)
	}
	return true
}

// GrantCode returns a fresh single-use grant code (as Zoho's Self Client
// "Generate Code" gives), valid for [Options.GrantCodeLifetime] of simulator
// time. Exchanging it (grant_type=authorization_code) returns a new refresh
// token.
func (s *Server) GrantCode() string {
	code := newTokenString()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens.grants[code] = s.now().Add(s.opts.GrantCodeLifetime)
	return code
}

// InvalidateTokens makes every access token issued so far invalid (the next
// API call with one answers 401 INVALID_TOKEN), as if Zoho had revoked them.
// Refresh tokens stay valid.
func (s *Server) InvalidateTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens.access)
	for _, rt := range s.tokens.refresh {
		rt.live = nil
	}
}

// RevokeRefreshToken revokes a refresh token and its access tokens, as the
// user removing the Self Client's grant would: refreshing with it then answers
// invalid_code. It reports whether the token was known.
func (s *Server) RevokeRefreshToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeLocked(token)
}

func (s *Server) revokeLocked(token string) bool {
	rt, ok := s.tokens.refresh[token]
	if !ok {
		return false
	}
	rt.revoked = true
	for _, at := range rt.live {
		delete(s.tokens.access, at)
	}
	rt.live = nil
	return true
}

// LiveTokens is the number of unexpired, valid access tokens minted from the
// refresh token.
func (s *Server) LiveTokens(refreshToken string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.tokens.refresh[refreshToken]
	if !ok {
		return 0
	}
	s.pruneLive(rt, s.now())
	return len(rt.live)
}

// SetTokenThrottleStatus sets the HTTP status of the token endpoint's
// "Access Denied" throttle answer: 200 (Zoho's docs) or 400 (integrators'
// reports). Other values are used as given.
func (s *Server) SetTokenThrottleStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenThrottleStatus = status
}

// SetTokenLifetime changes the lifetime of access tokens minted from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		d = DefaultTokenLifetime
	}
	s.tokenLifetime = d
}

// FailTokenNext makes the next n token-endpoint requests answer HTTP status
// (500 when 0) with a JSON body {"error":"internal_error"} (an outage of the
// accounts server; Zoho's exact body is unconfirmed).
func (s *Server) FailTokenNext(n, status int) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFailNext, s.tokenFailStatus = n, status
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "invalid_request_method"})
		return
	}
	f, err := tokenParams(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.TokenRequests++
	if s.tokenFailNext > 0 {
		s.tokenFailNext--
		writeJSON(w, s.tokenFailStatus, map[string]any{"error": "internal_error"})
		return
	}
	if f.Get("client_id") != s.clientID {
		s.tokenError(w, "invalid_client")
		return
	}
	if f.Get("client_secret") != s.clientSecret {
		s.tokenError(w, "invalid_client_secret")
		return
	}
	now := s.now()
	switch f.Get("grant_type") {
	case "refresh_token":
		tok := f.Get("refresh_token")
		rt, ok := s.tokens.refresh[tok]
		if !ok || rt.revoked {
			s.tokenError(w, "invalid_code")
			return
		}
		s.pruneMints(rt, now)
		if len(rt.mints) >= TokenMintsPerWindow {
			// Refused requests do not count toward the window (unconfirmed).
			s.stats.TokenThrottled++
			writeJSON(w, s.tokenThrottleStatus, map[string]any{
				"error_description": "You have made too many requests continuously. Please try again after some time.",
				"error":             "Access Denied",
				"status":            "failure",
			})
			return
		}
		writeJSON(w, http.StatusOK, s.mintLocked(tok, rt, now, false))
	case "authorization_code":
		code := f.Get("code")
		exp, ok := s.tokens.grants[code]
		if !ok || !now.Before(exp) {
			delete(s.tokens.grants, code)
			s.tokenError(w, "invalid_code")
			return
		}
		delete(s.tokens.grants, code) // single use
		tok := newTokenString()
		s.tokens.addRefresh(tok, s.opts.Scope)
		writeJSON(w, http.StatusOK, s.mintLocked(tok, s.tokens.refresh[tok], now, true))
	default:
		s.tokenError(w, "unsupported_grant_type")
	}
}

// maxTokenParamMemory bounds the memory a multipart token request may use
// (its few short parameters need far less).
const maxTokenParamMemory = 1 << 20

// tokenParams returns the parameters of a token-endpoint request: the query
// string plus an urlencoded or multipart/form-data body; a parameter in both
// takes the body's value. A body that cannot be parsed is an error.
func tokenParams(r *http.Request) (url.Values, error) {
	if err := r.ParseMultipartForm(maxTokenParamMemory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, err
	}
	params := r.URL.Query()
	for k, v := range r.PostForm { // urlencoded or multipart body values
		params[k] = v
	}
	return params, nil
}

// tokenError writes Zoho's HTTP-200 token error.
func (s *Server) tokenError(w http.ResponseWriter, code string) {
	s.stats.TokenErrors++
	writeJSON(w, http.StatusOK, map[string]any{"error": code})
}

// mintLocked issues an access token for refresh token tok and returns the
// token response body. The 16th live token silently invalidates the oldest.
func (s *Server) mintLocked(tok string, rt *refreshToken, now time.Time, withRefresh bool) map[string]any {
	s.pruneLive(rt, now)
	for len(rt.live) >= MaxLiveTokens {
		delete(s.tokens.access, rt.live[0])
		rt.live = rt.live[1:]
	}
	at := newTokenString()
	s.tokens.access[at] = &accessToken{refresh: tok, expires: now.Add(s.tokenLifetime), scope: rt.scope}
	rt.live = append(rt.live, at)
	rt.mints = append(rt.mints, now)
	s.stats.TokenMints++

	secs := int64(s.tokenLifetime / time.Second)
	body := map[string]any{
		"access_token": at,
		"scope":        rt.scope,
		"api_domain":   s.url,
		"token_type":   "Bearer",
	}
	if s.opts.LegacyExpiresIn {
		body["expires_in_sec"] = secs
		body["expires_in"] = secs * 1000
	} else {
		body["expires_in"] = secs
	}
	if withRefresh {
		body["refresh_token"] = tok
	}
	return body
}

func (s *Server) pruneMints(rt *refreshToken, now time.Time) {
	cut := now.Add(-TokenMintWindow)
	i := 0
	for i < len(rt.mints) && !rt.mints[i].After(cut) {
		i++
	}
	rt.mints = rt.mints[i:]
}

func (s *Server) pruneLive(rt *refreshToken, now time.Time) {
	live := rt.live[:0]
	for _, at := range rt.live {
		a, ok := s.tokens.access[at]
		if !ok {
			continue
		}
		if !now.Before(a.expires) {
			delete(s.tokens.access, at)
			continue
		}
		live = append(live, at)
	}
	rt.live = live
}

// handleRevoke implements POST /oauth/v2/token/revoke?token=REFRESH_TOKEN
// (Zoho's "Revoking Tokens" page): it always answers {"status":"success"}.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "invalid_request_method"})
		return
	}
	params, _ := tokenParams(r)
	s.mu.Lock()
	s.revokeLocked(params.Get("token"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"status": "success"})
}

// authorizeLocked checks the Authorization header of an API call and, when
// service is not "", that the token's scope grants ZohoCRM.<service>.ALL or
// .READ (e.g. service "users" for GET /crm/v8/users). It returns the Zoho
// error code (INVALID_TOKEN, OAUTH_SCOPE_MISMATCH) or "" when the call may
// proceed. Caller holds s.mu.
func (s *Server) authorizeLocked(r *http.Request, service string) string {
	const prefix = "Zoho-oauthtoken "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return "INVALID_TOKEN"
	}
	at, ok := s.tokens.access[h[len(prefix):]]
	if !ok || !s.now().Before(at.expires) {
		return "INVALID_TOKEN"
	}
	if s.scopeMismatch || (service != "" && !grantsRead(at.scope, service)) {
		return "OAUTH_SCOPE_MISMATCH"
	}
	return ""
}

// grantsRead reports whether scope, Zoho's comma- (or space-) separated scope
// list, holds ZohoCRM.<service>.ALL or ZohoCRM.<service>.READ (Zoho "Scopes":
// operation types ALL and READ both allow reading; names compare
// case-insensitively); for a settings service ("settings.fields",
// "settings.layouts") ZohoCRM.settings.ALL grants it too (Zoho "Fields
// Metadata" and "Layouts API": scope ZohoCRM.settings.fields.READ /
// ZohoCRM.settings.layouts.READ, or ZohoCRM.settings.ALL).
func grantsRead(scope, service string) bool {
	for _, sc := range strings.FieldsFunc(scope, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(sc, "ZohoCRM."+service+".ALL") || strings.EqualFold(sc, "ZohoCRM."+service+".READ") {
			return true
		}
		if strings.HasPrefix(service, "settings.") && strings.EqualFold(sc, "ZohoCRM.settings.ALL") {
			return true
		}
	}
	return false
}
