package preflight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// checkZoho refreshes a token and checks the module's fields.
func checkZoho(ctx context.Context, r *Report, cfg *config.Config) {
	eps, err := cfg.Endpoints()
	if err != nil { // Validate already checked this
		r.fail("zoho hosts: %v", err)
		return
	}
	where := "data center " + cfg.Zoho.DataCenter
	if cfg.Zoho.APIDomain != "" || cfg.Zoho.AccountsURL != "" {
		where = "explicit hosts"
	}
	r.section("Zoho (%s: accounts %s, API %s)", where, eps.Accounts, eps.API)
	rec := &apiDomainRecorder{next: http.DefaultTransport}
	hc := &http.Client{Timeout: cfg.Zoho.RequestTimeout, Transport: rec}
	tokens := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: cfg.Credentials(),
		HTTPClient:  hc,
		CacheFile:   cfg.Zoho.TokenCacheFile,
		Logger:      zap.NewNop(),
	})
	// Refresh, not Token: a cached access token would not prove that the
	// refresh token still works. The new token goes to the cache, where the
	// next `consumer run` finds it instead of minting one more.
	if _, err := tokens.Refresh(ctx); err != nil {
		r.fail("access token: %s", TokenProblem(err, cfg, eps))
		r.section("Zoho fields of module %s", cfg.Zoho.Module)
		r.fail("not checked: no access token")
		return
	}
	const refreshed = "access token refreshed with zoho.client_id, zoho.client_secret and zoho.refresh_token"
	// zohoapi refuses a token for another Zoho data center (tokenProblem
	// explains it) but lets other hosts differ: a proxy or a sandbox may be
	// reached under another name than the one its accounts server reports.
	switch tokenAPI := rec.get(); {
	case tokenAPI == "":
		r.ok("%s (the token response names no api_domain)", refreshed)
	case zohoapi.SameAPIHost(tokenAPI, eps.API):
		r.ok("%s; the token's api_domain matches %s", refreshed, eps.API)
	default:
		r.ok("%s", refreshed)
		r.warn("the token's api_domain is %s but zohosink calls %s (zoho.api_domain): unless %s reaches the same server (a proxy), set zoho.api_domain: %s", tokenAPI, eps.API, eps.API, tokenAPI)
	}

	client := zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: tokens, HTTPClient: hc, Timeout: cfg.Zoho.RequestTimeout})
	r.section("Zoho fields of module %s", cfg.Zoho.Module)
	fields, err := client.Fields(ctx, cfg.Zoho.Module)
	if err != nil {
		r.fail("field metadata: %s", FieldsProblem(err, cfg.Zoho.Module))
		return
	}
	checkFields(r, cfg, fields)
}

// apiDomainRecorder is an http.RoundTripper that remembers the api_domain of
// the last token response (POST …/oauth/v2/token) passing through, for
// checkZoho to compare with the configured API host. It reads only that
// member; the body is handed on unchanged.
type apiDomainRecorder struct {
	next      http.RoundTripper
	mu        sync.Mutex
	apiDomain string
}

// RoundTrip implements http.RoundTripper.
func (r *apiDomainRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth/v2/token") {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var tr struct {
		APIDomain string `json:"api_domain"`
	}
	if json.Unmarshal(body, &tr) == nil && tr.APIDomain != "" {
		r.mu.Lock()
		r.apiDomain = tr.APIDomain
		r.mu.Unlock()
	}
	return resp, nil
}

// get returns the api_domain of the last token response, or "".
func (r *apiDomainRecorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apiDomain
}

// TokenProblem explains a failed token refresh (or a call that needed one)
// in plain words, naming the key to fix: the local mint budget
// (*zohoapi.MintWaitError), a data-center mismatch, Zoho's OAuth error codes
// invalid_client, invalid_client_secret, invalid_code and throttling
// (*zohoapi.TokenError; zoho-crm-api.md, "OAuth"), an HTTP error of the
// accounts server, or an accounts server that cannot be reached.
func TokenProblem(err error, cfg *config.Config, eps zohoapi.Endpoints) string {
	var dc *zohoapi.DataCenterMismatchError
	var te *zohoapi.TokenError
	var ae *zohoapi.APIError
	var wait *zohoapi.MintWaitError
	switch {
	case errors.As(err, &wait):
		return fmt.Sprintf("not asked: %d access tokens were minted for this refresh token in the last %v (recorded in zoho.token_cache_file %s), and one more would get it locked out by Zoho; retry after %s",
			wait.Budget, wait.Window, cfg.Zoho.TokenCacheFile, wait.Until.Format(time.RFC3339))
	case errors.As(err, &dc):
		hint := "set zoho.data_center to the data center your Zoho account lives in and remove zoho.api_domain / zoho.accounts_url"
		if other, ok := zohoapi.DataCenterOfHost(dc.HostB); ok {
			hint = fmt.Sprintf("Zoho says your account lives in data center %q (%s): set zoho.data_center: %s and remove zoho.api_domain / zoho.accounts_url", other.Code, other.APIHost, other.Code)
		}
		return fmt.Sprintf("data-center mismatch: the token was issued for API host %q but zohosink is configured to call %q. %s", dc.HostB, dc.HostA, hint)
	case errors.As(err, &te):
		switch {
		case te.Throttled:
			return "Zoho throttles token refreshes for this refresh token (at most 10 access tokens per 10 minutes): wait a few minutes and retry; keep zoho.token_cache_file on (the default; not \"\" or off) and its folder writable, so that restarts and commands reuse one token"
		case te.Code == "invalid_client":
			return fmt.Sprintf("zoho.client_id is not known at %s (Zoho error invalid_client): the client ID is wrong, or the client was created in another data center than zoho.data_center %q", eps.Accounts, cfg.Zoho.DataCenter)
		case te.Code == "invalid_client_secret":
			return "zoho.client_secret is wrong (Zoho error invalid_client_secret): it does not belong to zoho.client_id; copy it again from the Zoho API console (Self Client → Client Secret)"
		case te.Code == "invalid_code":
			return "zoho.refresh_token is invalid or revoked (Zoho error invalid_code): it was revoked, belongs to another client or data center, or was mistyped; generate a grant code in the Zoho API console (Self Client → Generate Code, scope ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ) and run `consumer zoho token exchange --code …`"
		}
		return te.Error()
	case errors.As(err, &ae):
		return fmt.Sprintf("the accounts server %s answered HTTP %d: %v", eps.Accounts, ae.StatusCode, ae)
	}
	return fmt.Sprintf("cannot reach the accounts server %s: %v", eps.Accounts, err)
}

// FieldsProblem explains a failed field-metadata call for module in plain
// words: INVALID_MODULE and OAUTH_SCOPE_MISMATCH (Zoho "Fields Metadata"
// API error codes) name the key or scope to fix; other errors are given as they are.
func FieldsProblem(err error, module string) string {
	var ae *zohoapi.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "INVALID_MODULE":
			return fmt.Sprintf("zoho.module %q is not a module of this Zoho account (module API names are case-sensitive: Leads, Contacts, …)", module)
		case "OAUTH_SCOPE_MISMATCH":
			return "the refresh token's scope does not allow this call (OAUTH_SCOPE_MISMATCH): generate a new grant code with scope ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ and run `consumer zoho token exchange --code …`"
		}
	}
	return err.Error()
}

// checkFields checks every field zohosink writes against the module's metadata.
func checkFields(r *Report, cfg *config.Config, fields []zohoapi.Field) {
	byName := make(map[string]zohoapi.Field, len(fields))
	for _, f := range fields {
		byName[f.APIName] = f
	}
	mapped := map[string]string{} // field → where its value comes from
	check := func(key, api, from string, preset bool) {
		f, ok := byName[api]
		switch {
		case !ok:
			msg := fmt.Sprintf("%s: %q is not a field of %s", key, api, cfg.Zoho.Module)
			if s := closestField(api, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			if preset {
				// The preset writes it whenever the event has the value;
				// Zoho then rejects the record (INVALID_DATA).
				r.warn("%s: records carrying %s will be rejected", msg, from)
				return
			}
			r.fail("%s", msg)
		case f.ReadOnly:
			r.fail("%s: %q is read-only in %s: Zoho will not take the values of %s", key, api, cfg.Zoho.Module, from)
		case !slices.Contains(mapping.WritableDataTypes(!preset), f.DataType):
			r.fail("%s: %q is of type %s, which zohosink does not write: map %s to a field of type %s", key, api, f.DataType, from, strings.Join(mapping.WritableDataTypes(!preset), ", "))
		default:
			r.ok("%s ← %s (%s, length %d)", api, from, f.DataType, f.Length)
		}
		if ok {
			mapped[api] = from
		}
	}
	for _, p := range mapping.PresetFields() {
		check("preset", p.APIName, p.From, true)
	}
	for i, m := range cfg.Mapping.Fields {
		check(fmt.Sprintf("mapping.fields[%d].to", i), m.To, m.From, false)
	}
	for _, f := range fields {
		if !f.SystemMandatory {
			continue
		}
		if from, ok := mapped[f.APIName]; ok {
			r.ok("%s is system-mandatory in %s and mapped from %s (events without it can only update existing records)", f.APIName, cfg.Zoho.Module, from)
		} else {
			r.fail("%s is system-mandatory in %s but nothing maps to it: every insert will be rejected with MANDATORY_NOT_FOUND; add a mapping.fields entry with to: %s", f.APIName, cfg.Zoho.Module, f.APIName)
		}
	}
}

// closestField suggests the field name nearest to name: equal ignoring case
// and "_", or within edit distance 2.
func closestField(name string, fields []zohoapi.Field) string {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	best, bestDist := "", 3
	for _, f := range fields {
		if fold(f.APIName) == fold(name) {
			return f.APIName
		}
		if d := config.EditDistance(strings.ToLower(name), strings.ToLower(f.APIName)); d < bestDist {
			best, bestDist = f.APIName, d
		}
	}
	return best
}

// ExchangeProblem explains a failed grant-code exchange (zohoapi.ExchangeCode)
// in plain words: a refused code (Zoho error invalid_code) and, otherwise, as
// TokenProblem does.
func ExchangeProblem(err error, cfg *config.Config, eps zohoapi.Endpoints) string {
	var te *zohoapi.TokenError
	if errors.As(err, &te) && te.Code == "invalid_code" {
		return fmt.Sprintf("the grant code was refused (Zoho error invalid_code): a code works once and only for a few minutes, and only at the accounts server of the data center where it was generated (%s here); generate a new one and run this command at once", eps.Accounts)
	}
	return TokenProblem(err, cfg, eps)
}

// FieldsCallError explains a failed field-metadata call of `consumer zoho
// fields` for module: "access token: …" (TokenProblem) when no token could be
// had (*zohoapi.TokenError, *zohoapi.DataCenterMismatchError), else "fields of module M: …" (FieldsProblem). The error wraps err.
func FieldsCallError(err error, cfg *config.Config, module string) error {
	var te *zohoapi.TokenError
	var dc *zohoapi.DataCenterMismatchError
	if errors.As(err, &te) || errors.As(err, &dc) {
		eps, _ := cfg.Endpoints() // resolved already: the client was built from them
		return &explained{msg: "access token: " + TokenProblem(err, cfg, eps), err: err}
	}
	return &explained{msg: fmt.Sprintf("fields of module %s: %s", module, FieldsProblem(err, module)), err: err}
}

// explained is an error whose message is written for the operator; the
// error it explains stays reachable with errors.Is and errors.As.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }
