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

	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/mapping/fieldvalue"
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
	layouts, layoutsErr := client.Layouts(ctx, cfg.Zoho.Module)
	checkFields(r, cfg, fields)
	checkMandatory(r, cfg, fields, layouts, layoutsErr)
}

// GrantScope is the OAuth scope to generate a grant code with: records
// (ZohoCRM.modules.ALL), and the Fields and Layouts metadata that `consumer
// zoho fields` and `consumer config validate --online` read (Zoho "Fields
// Metadata": ZohoCRM.settings.fields.READ; "Layouts API":
// ZohoCRM.settings.layouts.READ).
const GrantScope = "ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.layouts.READ"

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
			return "zoho.refresh_token is invalid or revoked (Zoho error invalid_code): it was revoked, belongs to another client or data center, or was mistyped; generate a grant code in the Zoho API console (Self Client → Generate Code, scope " + GrantScope + ") and run `consumer zoho token exchange --code …`"
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
			return "the refresh token's scope does not allow this call (OAUTH_SCOPE_MISMATCH): generate a new grant code with scope " + GrantScope + " and run `consumer zoho token exchange --code …`"
		}
	}
	return err.Error()
}

// checkFields checks every field zohosink writes (the module's preset,
// mapping.PresetFields, and mapping.fields) against the module's metadata:
// a field the module lacks (✗ naming the key; ! for a preset field other
// than Email, which only records carrying its value would hit), a field
// zohosink cannot write (fieldvalue.Supported: lookup, ownerlookup,
// fileupload, formula, autonumber, read-only, … ✗ naming the key and the data
// type; the preset's own lookups by name, Contacts' Account_Name, are
// allowed), and constants (mapping.fields[].value) converted as the mapper
// will: one that cannot be converted is ✗, one outside a picklist's
// pick_list_values is !.
func checkFields(r *Report, cfg *config.Config, fields []zohoapi.Field) {
	module := cfg.Zoho.Module
	byName := make(map[string]zohoapi.Field, len(fields))
	for _, f := range fields {
		byName[f.APIName] = f
	}
	// check reports the target api of key and returns its field when
	// zohosink can write it.
	check := func(key, api, from string, preset, lookupByName bool) (zohoapi.Field, bool) {
		f, ok := byName[api]
		if !ok {
			msg := fmt.Sprintf("%s: %q is not a field of %s", key, api, module)
			if s := closestField(api, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			if preset && api != mapping.FieldEmail {
				// The preset writes it whenever the event has the value;
				// Zoho then rejects the record (INVALID_DATA).
				r.warn("%s: records carrying %s will be rejected", msg, from)
			} else if preset {
				r.fail("%s: every record carries the email (%s), so Zoho would reject them all; zohosink writes modules with an Email field", msg, from)
			} else {
				r.fail("%s", msg)
			}
			return f, false
		}
		var fe *fieldvalue.Error
		err := fieldvalue.Supported(f)
		switch {
		case lookupByName && f.DataType == "lookup" && !f.ReadOnly:
			r.ok("%s ← %s (lookup, sent by name as {\"name\": …})", api, from)
			return f, false
		case lookupByName:
			r.warn("%s: %q is of type %s in %s, but the preset writes it as a lookup by name ({\"name\": …}): records carrying %s will be rejected", key, api, f.DataType, module, from)
			return f, false
		case errors.As(err, &fe) && fe.Reason == fieldvalue.ReasonReadOnly:
			r.fail("%s: %q is read-only in %s: Zoho will not take the values of %s", key, api, module, from)
			return f, false
		case err != nil:
			// fe says the field, its type and the supported types.
			r.fail("%s: %v: lookups, owner lookups, file uploads, formulas and auto-numbers are not written; map %s to a field of a supported type", key, err, from)
			return f, false
		}
		return f, true
	}
	deadLetter := cfg.Mapping.InvalidValues == mapping.InvalidValuesDeadLetter
	// A mapping.fields entry into a preset's field overrides the preset's
	// value (mapping: the last field of a name whose value converts counts):
	// a constant always, an event value when the event has one that converts.
	presetFrom := map[string]string{}
	for _, p := range mapping.PresetFields(module) {
		presetFrom[p.APIName] = p.From
	}
	overrides := map[string]string{} // preset field → what overrides it
	mappings := cfg.MapperConfig().Fields
	for i, m := range mappings {
		to := strings.TrimSpace(m.To)
		if _, preset := presetFrom[to]; !preset {
			continue
		}
		if constant, _ := m.Constant(); constant.Exists() {
			overrides[to] = fmt.Sprintf("; not sent: mapping.fields[%d] (the constant %s) is sent instead", i, constant.Raw)
		} else {
			overrides[to] = fmt.Sprintf("; sent only when mapping.fields[%d] (%s) has no value that converts", i, m.From)
		}
	}
	for _, p := range mapping.PresetFields(module) {
		if f, ok := check("preset", p.APIName, p.From, true, p.LookupByName); ok {
			r.ok("%s ← %s (%s, length %d)%s", f.APIName, p.From, f.DataType, f.Length, overrides[p.APIName])
		}
	}
	for i, m := range mappings {
		from := m.From
		constant, _ := m.Constant()
		if constant.Exists() {
			from = "the constant " + constant.Raw
		}
		f, ok := check(fmt.Sprintf("mapping.fields[%d].to", i), m.To, from, false, false)
		if !ok || (constant.Exists() && !checkConstant(r, fmt.Sprintf("mapping.fields[%d].value", i), constant, f, deadLetter)) {
			continue
		}
		over := ""
		if p, preset := presetFrom[f.APIName]; preset {
			over = fmt.Sprintf("; sent instead of the preset's %s", p)
			if !constant.Exists() {
				over += " when the event has a value that converts"
			}
		}
		r.ok("%s ← %s (%s, length %d)%s", f.APIName, from, f.DataType, f.Length, over)
	}
}

// checkConstant converts the constant v for field f as the mapper will
// (fieldvalue.Converter): ✗ (and false) when it cannot be converted, saying
// what happens to every record under mapping.invalid_values (deadLetter:
// dead_letter); ! when it is outside the picklist's values.
func checkConstant(r *Report, key string, v gjson.Result, f zohoapi.Field, deadLetter bool) bool {
	conv, err := fieldvalue.New(f)
	if err != nil { // checked by Supported already
		return true
	}
	_, note, err := conv.Append(nil, v)
	var fe *fieldvalue.Error
	switch {
	case errors.As(err, &fe):
		outcome := "every record would leave the field out (mapping.invalid_values: omit)"
		if deadLetter {
			outcome = "every record would be dead-lettered with INVALID_DATA (mapping.invalid_values: dead_letter)"
		}
		r.fail("%s: %s cannot be written into %s (%s): %s; %s", key, v.Raw, f.APIName, f.DataType, fe.Reason, outcome)
		return false
	case err != nil:
		r.fail("%s: %v", key, err)
		return false
	case note.OutsidePicklist:
		r.warn("%s: %s is not one of the values of the picklist %s (%s): Zoho accepts it (unconfirmed for v8), but views and reports that filter on the list will not show it", key, v.Raw, f.APIName, strings.Join(f.PicklistValues, ", "))
	}
	return true
}

// checkMandatory reports the fields every insert into the module must carry
// and whether something maps to them: the system-mandatory fields (Fields
// API) and the required fields of the default layout (Layouts API,
// zohoapi.LayoutMandatory: Company in the default Leads layout). One that
// nothing maps is ✗ (MANDATORY_NOT_FOUND on every insert). Without the
// layouts (a token without ZohoCRM.settings.layouts.READ, or another error)
// only the system-mandatory fields are checked, with a ! saying why.
func checkMandatory(r *Report, cfg *config.Config, fields []zohoapi.Field, layouts []zohoapi.Layout, layoutsErr error) {
	module := cfg.Zoho.Module
	have := make(map[string]bool, len(fields))
	for _, f := range fields {
		have[f.APIName] = true
	}
	mapped := map[string]string{} // field → where its value comes from
	for _, p := range mapping.PresetFields(module) {
		mapped[p.APIName] = p.From
	}
	for _, m := range cfg.MapperConfig().Fields {
		if constant, _ := m.Constant(); constant.Exists() {
			mapped[strings.TrimSpace(m.To)] = "the constant " + constant.Raw
		} else {
			mapped[strings.TrimSpace(m.To)] = m.From
		}
	}
	var names, why []string
	for _, f := range fields {
		if f.SystemMandatory {
			names, why = append(names, f.APIName), append(why, "system-mandatory")
		}
	}
	var ae *zohoapi.APIError
	switch {
	case errors.As(layoutsErr, &ae) && ae.Code == "OAUTH_SCOPE_MISMATCH":
		r.warn("layouts: the refresh token's scope lacks ZohoCRM.settings.layouts.READ (OAUTH_SCOPE_MISMATCH), so fields mandatory in the module's layout (Company in the default Leads layout) are not checked; generate a grant code with scope %s and run `consumer zoho token exchange --code …`", GrantScope)
	case layoutsErr != nil:
		r.warn("layouts: cannot read the layouts of %s, so fields mandatory in its layout are not checked: %s", module, FieldsProblem(layoutsErr, module))
	default:
		for _, name := range zohoapi.LayoutMandatory(layouts) {
			if !slices.Contains(names, name) {
				names, why = append(names, name), append(why, "mandatory in the default layout")
			}
		}
	}
	for i, name := range names {
		from, ok := mapped[name]
		switch {
		case ok && have[name]:
			r.ok("%s is %s in %s and mapped from %s (events without it can only update existing records)", name, why[i], module, from)
		default:
			r.fail("%s is %s in %s but nothing maps to it: every insert will be rejected with MANDATORY_NOT_FOUND; add a mapping.fields entry with to: %s", name, why[i], module, name)
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
