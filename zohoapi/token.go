package zohoapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Credentials identify a Zoho OAuth client (e.g. a Self Client) and the refresh
// token granted to it. String and GoString redact the secret and the refresh token.
type Credentials struct {
	ClientID     string
	ClientSecret string
	RefreshToken string
}

const redacted = "[redacted]"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String shows the client ID only; secrets are redacted.
func (c Credentials) String() string {
	return fmt.Sprintf("{ClientID:%s ClientSecret:%s RefreshToken:%s}", c.ClientID, redact(c.ClientSecret), redact(c.RefreshToken))
}

// GoString is String, so %#v redacts too.
func (c Credentials) GoString() string { return "zohoapi.Credentials" + c.String() }

// Defaults of TokenSourceOptions.
const (
	// DefaultRefreshBefore: refresh an access token this long before it expires.
	DefaultRefreshBefore = 5 * time.Minute
	// DefaultThrottleBackoff: after the token endpoint throttled us (or refused
	// our credentials), do not ask it again for this long.
	DefaultThrottleBackoff = time.Minute
	// refreshRetry: after a transient failure of a background refresh (the
	// current token still valid), wait this long before trying again.
	refreshRetry = 5 * time.Second
	// mintTimeout bounds one token request when the HTTP client has no timeout.
	mintTimeout = 30 * time.Second
	// maxTokenBody bounds what is read from the token endpoint.
	maxTokenBody = 1 << 20
)

// TokenSourceOptions configure a TokenSource. Zero values take the defaults noted.
type TokenSourceOptions struct {
	// Endpoints: Accounts is where tokens are minted; API is compared with the
	// token response's api_domain.
	Endpoints Endpoints
	// Credentials: client ID, client secret and refresh token. The refresh token
	// is never replaced (Zoho's refresh response carries none).
	Credentials Credentials
	// HTTPClient for the token endpoint; nil = a client with a 30 s timeout.
	HTTPClient *http.Client
	// CacheFile, if set, persists the access token ({access_token, expiry,
	// api_domain}, mode 0600, written atomically) and reuses a still-valid one
	// at start, so a restarting or crash-looping process does not mint a token
	// per start (Zoho allows 10 per refresh token per 10 minutes).
	CacheFile string
	// RefreshBefore: a token is refreshed once less than this is left before its
	// expiry. Default 5 minutes.
	RefreshBefore time.Duration
	// ThrottleBackoff: after a throttle ("Access Denied") or a configuration
	// refusal from the token endpoint, Token returns that error without asking
	// again for this long. Default 1 minute.
	ThrottleBackoff time.Duration
	// Logger; nil = zap.NewNop(). Tokens and secrets are never logged.
	Logger *zap.Logger
}

// TokenSource hands out one shared Zoho access token to any number of
// goroutines. It mints a token with the refresh-token grant when there is none
// (callers wait for one shared mint: single-flight), and refreshes it in the
// background once less than RefreshBefore is left (callers keep the current
// token meanwhile). After a throttle or a configuration refusal it backs off for
// ThrottleBackoff, returning the error instead of asking again. Safe for
// concurrent use.
type TokenSource struct {
	o   TokenSourceOptions
	hc  *http.Client
	log *zap.Logger
	now func() time.Time

	mu          sync.Mutex
	tok         string
	expiry      time.Time
	apiDomain   string
	inflight    *mintCall
	failedUntil time.Time // no mint before this (throttle/config backoff)
	failErr     error     // returned until failedUntil
	retryAfter  time.Time // no background refresh before this (after a transient failure)
	mints       int
}

// mintCall is one in-flight token request shared by all waiting callers.
type mintCall struct {
	done chan struct{}
	tok  string
	err  error
}

// NewTokenSource returns a TokenSource. With CacheFile set it loads a cached
// token that is still fresh, was minted for the same client and refresh token,
// and belongs to the configured API host; an unusable cache file is logged and
// ignored.
func NewTokenSource(o TokenSourceOptions) *TokenSource {
	return newTokenSource(o, time.Now)
}

// newTokenSource is NewTokenSource with a clock (tests use a fake one).
func newTokenSource(o TokenSourceOptions, now func() time.Time) *TokenSource {
	if o.RefreshBefore <= 0 {
		o.RefreshBefore = DefaultRefreshBefore
	}
	if o.ThrottleBackoff <= 0 {
		o.ThrottleBackoff = DefaultThrottleBackoff
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: mintTimeout}
	}
	t := &TokenSource{o: o, hc: hc, log: o.Logger, now: now}
	t.loadCache()
	return t
}

// Mints returns how many access tokens this TokenSource obtained from Zoho
// (successful refresh-token grants; cache hits do not count).
func (t *TokenSource) Mints() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mints
}

// Token returns a valid access token. A token within RefreshBefore of its
// expiry is refreshed in the background while callers keep using it; callers
// without a usable token (none yet, expired, invalidated) wait for a single
// shared mint (single-flight). A failed background refresh is retried no sooner
// than refreshRetry later. Errors: *TokenError (Zoho refused: config or
// throttled), *DataCenterMismatchError (api_domain is another host), *APIError
// (HTTP error from the token endpoint), transport or context errors.
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	now := t.now()
	if t.tok != "" && now.Before(t.expiry.Add(-t.o.RefreshBefore)) {
		tok := t.tok
		t.mu.Unlock()
		return tok, nil
	}
	tok, usable := t.usable(now)
	if now.Before(t.failedUntil) {
		err := t.failErr
		t.mu.Unlock()
		if usable {
			return tok, nil
		}
		return "", err
	}
	if usable {
		if t.inflight == nil && !now.Before(t.retryAfter) {
			t.startMint(ctx)
		}
		t.mu.Unlock()
		return tok, nil
	}
	c := t.inflight
	if c == nil {
		c = t.startMint(ctx)
	}
	t.mu.Unlock()

	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// startMint starts the one in-flight mint. It runs detached from the caller's
// context, so that one caller giving up does not fail the others; it is bounded
// by mintTimeout. Called with t.mu held.
func (t *TokenSource) startMint(ctx context.Context) *mintCall {
	c := &mintCall{done: make(chan struct{})}
	t.inflight = c
	go t.mint(context.WithoutCancel(ctx), c)
	return c
}

// usable returns the current token if it has not expired yet (with a small
// margin). Called with t.mu held.
func (t *TokenSource) usable(now time.Time) (string, bool) {
	if t.tok != "" && now.Before(t.expiry.Add(-10*time.Second)) {
		return t.tok, true
	}
	return "", false
}

// Invalidate drops token if it is still the current one, so that the next
// Token call mints a new one. Call it after a 401 INVALID_TOKEN. A token that
// was already replaced is ignored, so many callers invalidating the same stale
// token cause a single mint. The cache file, if any, is removed.
func (t *TokenSource) Invalidate(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if token == "" || token != t.tok {
		return
	}
	t.tok, t.expiry, t.apiDomain = "", time.Time{}, ""
	t.log.Info("zoho access token invalidated after INVALID_TOKEN")
	t.removeCache()
}

// mint performs one refresh-token grant and publishes the outcome to c.
func (t *TokenSource) mint(ctx context.Context, c *mintCall) {
	ctx, cancel := context.WithTimeout(ctx, mintTimeout)
	defer cancel()
	start := t.now()
	tr, err := t.requestToken(ctx)
	t.mu.Lock()
	defer func() {
		t.inflight = nil
		t.mu.Unlock()
		close(c.done)
	}()
	if err != nil {
		c.err = err
		cl := Classify(err)
		if cl == ClassThrottled || cl == ClassConfig {
			t.failedUntil = t.now().Add(t.o.ThrottleBackoff)
			t.failErr = err
		} else {
			t.retryAfter = t.now().Add(refreshRetry)
		}
		t.log.Warn("zoho access token refresh failed", zap.Stringer("class", cl), zap.Error(err))
		return
	}
	t.mints++
	t.tok = tr.AccessToken
	t.expiry = start.Add(tr.lifetime())
	t.apiDomain = tr.APIDomain
	t.failedUntil, t.failErr = time.Time{}, nil
	c.tok = t.tok
	t.log.Info("zoho access token minted", zap.Time("expiry", t.expiry), zap.String("api_domain", tr.APIDomain), zap.Int("mints", t.mints))
	t.saveCache()
}

// requestToken posts the refresh-token grant and validates the answer.
func (t *TokenSource) requestToken(ctx context.Context) (*tokenResponse, error) {
	cr := t.o.Credentials
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {cr.RefreshToken},
		"client_id":     {cr.ClientID},
		"client_secret": {cr.ClientSecret},
	}
	tr, err := postToken(ctx, t.hc, t.o.Endpoints, form)
	if err != nil {
		return nil, err
	}
	if err := checkAPIDomain(t.o.Endpoints.API, tr.APIDomain); err != nil {
		return nil, err
	}
	return tr, nil
}

// checkAPIDomain compares the configured API base URL with a token response's
// api_domain. Rule: if either side is a Zoho host, both must be the same host;
// two non-Zoho hosts (a simulator, a proxy) are taken as given. An empty
// api_domain is accepted.
func checkAPIDomain(configured, apiDomain string) error {
	if apiDomain == "" {
		return nil
	}
	_, cfgZoho := DataCenterOfHost(configured)
	_, respZoho := DataCenterOfHost(apiDomain)
	if (cfgZoho || respZoho) && !SameAPIHost(configured, apiDomain) {
		return &DataCenterMismatchError{What: "configured API domain vs token response api_domain", HostA: hostname(configured), HostB: hostname(apiDomain)}
	}
	return nil
}

// tokenResponse is the token endpoint's JSON answer, success or error.
type tokenResponse struct {
	AccessToken      string       `json:"access_token"`
	RefreshToken     string       `json:"refresh_token"`
	APIDomain        string       `json:"api_domain"`
	TokenType        string       `json:"token_type"`
	ExpiresIn        *json.Number `json:"expires_in"`
	ExpiresInSec     *json.Number `json:"expires_in_sec"`
	Error            string       `json:"error"`
	ErrorDescription string       `json:"error_description"`
}

// lifetime returns how long the token lives. Zoho sends expires_in in seconds;
// the legacy form sends expires_in_sec in seconds with expires_in in
// milliseconds, so expires_in_sec wins when present. Assumption: an expires_in
// above 86400 without expires_in_sec is in milliseconds; absent, an hour.
func (r *tokenResponse) lifetime() time.Duration {
	if r.ExpiresInSec != nil {
		if s, err := r.ExpiresInSec.Float64(); err == nil && s > 0 {
			return time.Duration(s * float64(time.Second))
		}
	}
	if r.ExpiresIn != nil {
		if s, err := r.ExpiresIn.Float64(); err == nil && s > 0 {
			if s > 86400 {
				return time.Duration(s * float64(time.Millisecond))
			}
			return time.Duration(s * float64(time.Second))
		}
	}
	return time.Hour
}

// postToken posts form to {accounts}/oauth/v2/token and parses Zoho's answer:
// an "error" key (HTTP 200 or 400) is a *TokenError; other non-2xx statuses are
// an *APIError; a body without access_token is an *APIError wrapping
// ErrMalformedResponse. Errors never include the form (it holds secrets).
func postToken(ctx context.Context, hc *http.Client, eps Endpoints, form url.Values) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, eps.Accounts+"/oauth/v2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("zoho token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zoho token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, fmt.Errorf("zoho token response: %w", err)
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	if jsonErr == nil && tr.Error != "" {
		return nil, &TokenError{Code: tr.Error, Description: tr.ErrorDescription, Throttled: isTokenThrottle(resp.StatusCode, &tr)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &APIError{StatusCode: resp.StatusCode, Message: "token endpoint " + http.StatusText(resp.StatusCode)}
	}
	if jsonErr != nil {
		return nil, &APIError{StatusCode: resp.StatusCode, Message: "token endpoint answered with a body that is not JSON", Err: ErrMalformedResponse}
	}
	if tr.AccessToken == "" {
		return nil, &APIError{StatusCode: resp.StatusCode, Message: "token endpoint answered without access_token", Err: ErrMalformedResponse}
	}
	return &tr, nil
}

// isTokenThrottle recognises Zoho's token-endpoint throttle:
// {"error":"Access Denied","error_description":"You have made too many requests
// continuously. ..."} with HTTP 200 (Zoho) or 400 (integrators), or a 429.
func isTokenThrottle(status int, tr *tokenResponse) bool {
	return status == http.StatusTooManyRequests ||
		strings.EqualFold(tr.Error, "Access Denied") ||
		strings.Contains(strings.ToLower(tr.ErrorDescription), "too many requests")
}

// ExchangeCode trades a Self Client grant code for a refresh token
// (grant_type=authorization_code; Zoho doc "Generate access and refresh token").
// Grant codes are single-use and live 1–3 minutes; a used or expired one is a
// *TokenError "invalid_code". The response's api_domain must match eps.API (same
// rule as TokenSource). The returned refresh token is a secret.
func ExchangeCode(ctx context.Context, hc *http.Client, eps Endpoints, clientID, clientSecret, code string) (refreshToken string, err error) {
	if hc == nil {
		hc = &http.Client{Timeout: mintTimeout}
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
		"code":          {code},
	}
	tr, err := postToken(ctx, hc, eps, form)
	if err != nil {
		return "", err
	}
	if err := checkAPIDomain(eps.API, tr.APIDomain); err != nil {
		return "", err
	}
	if tr.RefreshToken == "" {
		return "", &APIError{StatusCode: http.StatusOK, Message: "token endpoint answered without refresh_token (was the code generated for offline access?)", Err: ErrMalformedResponse}
	}
	return tr.RefreshToken, nil
}
