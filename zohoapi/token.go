package zohoapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
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

// Defaults of TokenSourceOptions, and Zoho's limits the source keeps to.
const (
	// DefaultRefreshBefore: refresh an access token this long before it
	// expires, or earlier in its life for short-lived tokens (see
	// TokenSourceOptions.RefreshBefore).
	DefaultRefreshBefore = 5 * time.Minute
	// DefaultThrottleBackoff: after the token endpoint throttled us (or refused
	// our credentials), do not ask it again for this long.
	DefaultThrottleBackoff = time.Minute
	// DefaultTokenLifetime is the lifetime assumed for a token whose response
	// carries no usable expiry (missing, zero, negative, or not a number):
	// Zoho's access tokens live 3600 s (zoho-crm-api.md "OAuth 2.0").
	DefaultTokenLifetime = time.Hour
	// MaxMintsPerWindow access tokens per refresh token per MintWindow is
	// Zoho's limit; one more is answered "Access Denied" (zoho-crm-api.md
	// "OAuth 2.0", Zoho "Token Validity"). It is the default and the largest
	// TokenSourceOptions.MintBudget.
	MaxMintsPerWindow = 10
	// MintWindow is the sliding window of Zoho's mint limit.
	MintWindow = 10 * time.Minute
	// mintWindowSlack widens the local window beyond Zoho's, so that latency
	// and clock differences cannot make a request that is 10 minutes after
	// the 10th-last by our clock arrive inside Zoho's window.
	mintWindowSlack = 10 * time.Second
	// forcedMintInterval: a 401 forces an early mint (Invalidate) at most once
	// per this interval; a 401 answered to the fresh token is an outage, not a
	// stale token. At most 5 of the 10 mints per 10 minutes go to 401s.
	forcedMintInterval = 2 * time.Minute
	// usableMargin: a token is handed out until this long before its expiry
	// (a twentieth of its lifetime for tokens shorter than 200 s), so that the
	// call it authorizes arrives while it is valid.
	usableMargin = 10 * time.Second
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
	// minted_at, api_domain, client, credentials, token_requests}, mode 0600,
	// written atomically) and reuses a still-valid one at start, so a
	// restarting or crash-looping process, or `config validate --online`
	// followed by `consumer run`, does not mint a token per start. A token is
	// reused only by the credential set that minted it (accounts server,
	// client ID, client secret and refresh token, recorded as a keyed
	// fingerprint, never in clear): other credentials, a wrong client secret
	// included, mint afresh and so are refused at start. The times of recent
	// token requests travel with it, per refresh token: the mint budget holds
	// across the processes sharing the file that use the same refresh token
	// (Zoho counts per refresh token), whatever client secret they hold. The
	// file holds one token: processes of different refresh tokens need
	// different files.
	CacheFile string
	// RefreshBefore: a token is refreshed, once, in the background when less
	// than min(RefreshBefore, a tenth of its lifetime) is left. Default 5
	// minutes: an hour-long token is refreshed at 55 minutes, a 20 s token at 18 s.
	RefreshBefore time.Duration
	// ThrottleBackoff: after a throttle ("Access Denied") or a configuration
	// refusal from the token endpoint, Token returns that error without asking
	// again for this long. Default 1 minute.
	ThrottleBackoff time.Duration
	// MintBudget is how many token requests this source sends per MintWindow
	// at most (default and maximum MaxMintsPerWindow, Zoho's limit per refresh
	// token). Lower it when several processes share one refresh token without
	// sharing CacheFile, so that together they stay under Zoho's limit.
	MintBudget int
	// Logger; nil = zap.NewNop(). Tokens and secrets are never logged.
	Logger *zap.Logger
}

// TokenSource hands out one shared Zoho access token to any number of
// goroutines. Guarantees:
//   - one mint at a time (callers without a token wait for one shared mint:
//     single-flight);
//   - a token is refreshed ahead of its expiry once, in the background, at
//     min(RefreshBefore, lifetime/10) before it expires, while callers keep it;
//   - never more than MintBudget (≤ Zoho's 10) token requests per 10 minutes:
//     when a token is needed and the budget is spent, Token returns a
//     *MintWaitError saying until when, instead of getting the refresh token
//     locked out by Zoho;
//   - a 401 forces at most one early mint (Invalidate) per 2 minutes;
//   - after a throttle or a configuration refusal it backs off for
//     ThrottleBackoff, returning the error instead of asking again.
//
// Safe for concurrent use.
type TokenSource struct {
	o   TokenSourceOptions
	hc  *http.Client
	log *zap.Logger
	now func() time.Time

	mu          sync.Mutex
	tok         string
	expiry      time.Time
	refreshAt   time.Time // background refresh from here on
	usableUntil time.Time // handed out until here
	minted      time.Time // when the current token's request was sent
	apiDomain   string
	refreshing  bool // the background refresh of the current token started
	inflight    *mintCall
	failedUntil time.Time   // no mint before this (throttle/config backoff)
	failErr     error       // returned until failedUntil
	retryAfter  time.Time   // no background refresh before this (after a transient failure)
	forcedAt    time.Time   // when a 401 last forced an early mint
	requests    []time.Time // token requests sent within the mint window, oldest first
	mints       int
	failures    int
}

// mintCall is one in-flight token request shared by all waiting callers.
type mintCall struct {
	done chan struct{}
	tok  string
	err  error
	at   time.Time // when it was counted against the budget (t.requests)
}

// MintWaitError is returned by Token (and Refresh) when a new access token is
// needed but MintBudget token requests were already sent in the last
// MintWindow: asking Zoho again would be answered "Access Denied" and lock the
// refresh token out. Classify: ClassThrottled. Wait until Until and retry.
type MintWaitError struct {
	// Until is when the budget allows the next token request.
	Until time.Time
	// Budget is the number of token requests allowed per Window.
	Budget int
	// Window is the sliding window of the budget (MintWindow).
	Window time.Duration
}

// Error says that the local mint budget is spent and until when.
func (e *MintWaitError) Error() string {
	return fmt.Sprintf("zoho token mint budget spent: %d access tokens per %v per refresh token (Zoho's limit; more would lock the refresh token out); next mint at %s",
		e.Budget, e.Window, e.Until.UTC().Format(time.RFC3339))
}

// NewTokenSource returns a TokenSource. With CacheFile set it loads a cached
// token that is still fresh, was minted with the same accounts server, client
// ID, client secret and refresh token, and belongs to the configured API host;
// an unusable cache file is logged and ignored.
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
	if o.MintBudget <= 0 || o.MintBudget > MaxMintsPerWindow {
		o.MintBudget = MaxMintsPerWindow
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

// RefreshFailures returns how many token requests of this TokenSource failed
// (throttled, refused by Zoho, or unanswered).
func (t *TokenSource) RefreshFailures() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failures
}

// Expiry returns when the current access token expires, or the zero time when
// there is none (not minted yet, or invalidated).
func (t *TokenSource) Expiry() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == "" {
		return time.Time{}
	}
	return t.expiry
}

// Token returns a valid access token. A token past its refresh point is
// refreshed in the background (once) while callers keep using it; callers
// without a usable token (none yet, expired, invalidated) wait for a single
// shared mint (single-flight). A failed background refresh is retried no sooner
// than refreshRetry later. Errors: *MintWaitError (the mint budget is spent),
// *TokenError (Zoho refused: config or throttled), *DataCenterMismatchError
// (api_domain is another host), *APIError (HTTP error from the token
// endpoint), transport or context errors.
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	now := t.now()
	if t.tok != "" && now.Before(t.refreshAt) {
		tok := t.tok
		t.mu.Unlock()
		return tok, nil
	}
	usable := t.tok != "" && now.Before(t.usableUntil)
	tok := t.tok
	if now.Before(t.failedUntil) {
		err := t.failErr
		t.mu.Unlock()
		if usable {
			return tok, nil
		}
		return "", err
	}
	if usable {
		if t.inflight == nil && !t.refreshing && !now.Before(t.retryAfter) && t.budgetWait(now) == nil {
			t.refreshing = true
			t.startMint(ctx)
		}
		t.mu.Unlock()
		return tok, nil
	}
	c, err := t.mintLocked(ctx, now)
	t.mu.Unlock()
	if err != nil {
		return "", err
	}
	return c.wait(ctx)
}

// Refresh mints a new access token now, even when the current one (for
// example from CacheFile) is still valid, and returns it; it is stored like
// any other (CacheFile included). `config validate --online` uses it to prove
// the refresh token and leave the token for the next process. Errors as for
// Token; the mint budget and the throttle backoff apply.
func (t *TokenSource) Refresh(ctx context.Context) (string, error) {
	t.mu.Lock()
	now := t.now()
	if now.Before(t.failedUntil) {
		err := t.failErr
		t.mu.Unlock()
		return "", err
	}
	c, err := t.mintLocked(ctx, now)
	t.mu.Unlock()
	if err != nil {
		return "", err
	}
	return c.wait(ctx)
}

// mintLocked returns the in-flight mint, or starts one if the budget allows.
// Called with t.mu held.
func (t *TokenSource) mintLocked(ctx context.Context, now time.Time) (*mintCall, error) {
	if t.inflight != nil {
		return t.inflight, nil
	}
	if err := t.budgetWait(now); err != nil {
		return nil, err
	}
	return t.startMint(ctx), nil
}

// wait waits for the mint's outcome or the end of ctx.
func (c *mintCall) wait(ctx context.Context) (string, error) {
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// budgetWait forgets token requests older than the mint window and returns a
// *MintWaitError if MintBudget of them remain. Called with t.mu held.
func (t *TokenSource) budgetWait(now time.Time) error {
	window := MintWindow + mintWindowSlack
	i := 0
	for i < len(t.requests) && !t.requests[i].After(now.Add(-window)) {
		i++
	}
	t.requests = t.requests[i:]
	if len(t.requests) < t.o.MintBudget {
		return nil
	}
	return &MintWaitError{Until: t.requests[len(t.requests)-t.o.MintBudget].Add(window), Budget: t.o.MintBudget, Window: MintWindow}
}

// startMint starts the one in-flight mint and counts it against the budget.
// It runs detached from the caller's context, so that one caller giving up
// does not fail the others; it is bounded by mintTimeout. Called with t.mu held.
func (t *TokenSource) startMint(ctx context.Context) *mintCall {
	c := &mintCall{done: make(chan struct{}), at: t.now()}
	t.inflight = c
	t.requests = append(t.requests, c.at)
	go t.mint(context.WithoutCancel(ctx), c)
	return c
}

// Invalidate reports that token was refused with a 401 and returns whether
// the caller should retry with a fresh token:
//   - token is no longer the current one: true (another caller replaced it);
//   - token is current and no 401 forced a mint in the last 2 minutes: it is
//     dropped (and the cache file removed), the next Token call mints: true;
//   - token is current but itself came from such a forced mint not long ago:
//     the 401 persists with a fresh token, so it is not the token (an outage,
//     a proxy); the token is kept: false.
//
// So many callers refused with the same stale token cause a single mint, and
// a 401 forces at most one early mint, never a loop.
func (t *TokenSource) Invalidate(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if token == "" {
		return false
	}
	if token != t.tok {
		return true
	}
	now := t.now()
	if !t.forcedAt.IsZero() && now.Sub(t.forcedAt) < forcedMintInterval {
		t.log.Warn("zoho answered 401 to a freshly minted access token; keeping it (not minting again before the forced-mint interval)",
			zap.Duration("interval", forcedMintInterval))
		return false
	}
	t.forcedAt = now
	t.setToken("", "", time.Time{}, time.Time{})
	t.log.Info("zoho access token invalidated after a 401")
	t.removeCache()
	return true
}

// setToken makes tok, minted at minted and expiring at expiry, the current
// token and computes its refresh and usable points. Called with t.mu held.
func (t *TokenSource) setToken(tok, apiDomain string, minted, expiry time.Time) {
	lifetime := expiry.Sub(minted)
	t.tok, t.apiDomain, t.minted, t.expiry = tok, apiDomain, minted, expiry
	t.refreshAt = expiry.Add(-min(t.o.RefreshBefore, lifetime/10))
	t.usableUntil = expiry.Add(-min(usableMargin, lifetime/20))
	t.refreshing = false
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
		t.refreshing = false
		t.failures++
		if neverSent(err) {
			t.uncount(c.at)
		}
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
	t.setToken(tr.AccessToken, tr.APIDomain, start, start.Add(tr.lifetime()))
	t.failedUntil, t.failErr = time.Time{}, nil
	c.tok = t.tok
	t.log.Info("zoho access token minted", zap.Time("expiry", t.expiry), zap.Time("refresh_at", t.refreshAt),
		zap.String("api_domain", tr.APIDomain), zap.Int("mints", t.mints))
	t.saveCache()
}

// neverSent reports whether a token request failed before it could reach
// Zoho's accounts server: no connection was made (refused, no route, a
// name that does not resolve). Zoho cannot have counted it against its 10
// token requests per 10 minutes, so neither does the mint budget; otherwise
// a Zoho outage of a few seconds at start, retried, would leave delivery
// waiting 10 minutes for the budget once Zoho answers again.
func neverSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// uncount removes the token request counted at at from the mint budget
// (t.mu held).
func (t *TokenSource) uncount(at time.Time) {
	for i := len(t.requests) - 1; i >= 0; i-- {
		if t.requests[i].Equal(at) {
			t.requests = append(t.requests[:i], t.requests[i+1:]...)
			return
		}
	}
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

// tokenResponse is the token endpoint's JSON answer, success or error. The
// expiry members are kept raw: Zoho has sent them as numbers, as strings, and
// not at all, and none of that may fail a mint (see lifetime).
type tokenResponse struct {
	AccessToken      string          `json:"access_token"`
	RefreshToken     string          `json:"refresh_token"`
	APIDomain        string          `json:"api_domain"`
	TokenType        string          `json:"token_type"`
	ExpiresIn        json.RawMessage `json:"expires_in"`
	ExpiresInSec     json.RawMessage `json:"expires_in_sec"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// lifetime returns how long the token lives. Zoho sends expires_in in seconds;
// the legacy form sends expires_in_sec in seconds with expires_in in
// milliseconds, so expires_in_sec wins when usable (zoho-crm-api.md "OAuth
// 2.0"). Either may be a number or a string holding one. Assumption: an
// expires_in above 86400 without a usable expires_in_sec is in milliseconds.
// Missing, zero, negative or unreadable values give DefaultTokenLifetime.
func (r *tokenResponse) lifetime() time.Duration {
	if s, ok := positiveNumber(r.ExpiresInSec); ok {
		return time.Duration(s * float64(time.Second))
	}
	if s, ok := positiveNumber(r.ExpiresIn); ok {
		if s > 86400 {
			return time.Duration(s * float64(time.Millisecond))
		}
		return time.Duration(s * float64(time.Second))
	}
	return DefaultTokenLifetime
}

// positiveNumber reads a JSON number, or a JSON string holding one, that is
// positive and finite.
func positiveNumber(raw json.RawMessage) (float64, bool) {
	v := strings.TrimSpace(string(raw))
	if u, err := strconv.Unquote(v); err == nil {
		v = strings.TrimSpace(u)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f <= 0 {
		return 0, false
	}
	return f, true
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
