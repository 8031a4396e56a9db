package zohosim

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request-level errors of the API host have Zoho's shape
// {"code":"…","details":{…},"message":"…","status":"error"} (no "data").

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "zohosim: encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func errorItem(code, message string, details map[string]any) map[string]any {
	if details == nil {
		details = map[string]any{}
	}
	return map[string]any{"code": code, "details": details, "message": message, "status": "error"}
}

func writeAPIError(w http.ResponseWriter, status int, code, message string, details map[string]any) {
	writeJSON(w, status, errorItem(code, message, details))
}

// Messages of the request-level errors (Zoho's texts where documented).
const (
	msgInvalidToken   = "invalid oauth token"
	msgScopeMismatch  = "invalid oauth scope to access this URL"
	msgNoPermission   = "permission denied"   // crm-oas v8.0/record.json error messages
	msgInvalidHost    = "the host is invalid" // unconfirmed text
	msgURLPattern     = "Please check if the URL trying to access is a correct one"
	msgInvalidModule  = "the module name given seems to be invalid"
	msgInvalidMethod  = "The http request method type is not a valid one"
	msgInternal       = "Internal Server Error"
	msgConcurrency    = "concurrency limit exceeded: too many API calls in progress" // unconfirmed text
	msgCreditsExhaust = "API credits for the last 24 hours are exhausted"            // unconfirmed text
)

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotFound, "INVALID_URL_PATTERN", msgURLPattern, nil)
}

// handleAPI routes /crm/…: /crm/v8/settings/fields, /crm/v8/settings/layouts,
// /crm/v8/{module}/upsert,
// and /crm/v8/users and /crm/v8/org (which Zoho's SDKs call after minting a
// token). Anything else is 404 INVALID_URL_PATTERN (other Zoho APIs are not
// simulated).
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reportCreditsLocked(w.Header()) // every answer, also errors; a charged call updates it
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "v8" && parts[2] == "settings" && parts[3] == "fields":
		if s.checkAuth(w, r, "settings.fields") {
			s.handleFields(w, r)
		}
	case len(parts) == 4 && parts[1] == "v8" && parts[2] == "settings" && parts[3] == "layouts":
		if s.checkAuth(w, r, "settings.layouts") {
			s.handleLayouts(w, r)
		}
	case len(parts) == 4 && parts[1] == "v8" && parts[3] == "upsert" && parts[2] != "":
		s.handleUpsert(w, r, parts[2])
	case len(parts) == 3 && parts[1] == "v8" && parts[2] == "users":
		if s.checkAuth(w, r, "users") {
			s.handleUsers(w, r)
		}
	case len(parts) == 3 && parts[1] == "v8" && parts[2] == "org":
		if s.checkAuth(w, r, "org") {
			s.handleOrg(w, r)
		}
	default:
		s.handleNotFound(w, r)
	}
}

// checkAuth writes the answer of [Server.gateLocked] and returns false when
// the call may not proceed.
func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request, service string) bool {
	s.mu.Lock()
	e := s.gateLocked(r, service)
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e.status, e.code, e.message, e.details)
		return false
	}
	return true
}

// gateLocked is the front door of every API call (upsert, fields, users,
// org), checked in this order (Zoho "Status Codes" page; the order is the
// simulator's choice):
//   - host: with [Server.SetAPIHost], a Host header naming another host →
//     400 INVALID_HOST (zoho-crm-api.md: "host other than www.zohoapis.{dc}")
//   - token → 401 INVALID_TOKEN; scope (service, see authorizeLocked) → 401
//     OAUTH_SCOPE_MISMATCH
//   - [Server.SetNoPermission] → 403 NO_PERMISSION with details.permissions
//     (crm-oas v8.0/common.json PermissionError)
//
// It returns nil when the call may proceed. Caller holds s.mu.
func (s *Server) gateLocked(r *http.Request, service string) *requestError {
	if s.apiHost != "" && !sameHost(r.Host, s.apiHost) {
		return &requestError{http.StatusBadRequest, "INVALID_HOST", msgInvalidHost, map[string]any{}}
	}
	switch code := s.authorizeLocked(r, service); code {
	case "":
	case "OAUTH_SCOPE_MISMATCH":
		return &requestError{http.StatusUnauthorized, code, msgScopeMismatch, map[string]any{}}
	default:
		return &requestError{http.StatusUnauthorized, code, msgInvalidToken, map[string]any{}}
	}
	if s.noPermission {
		return &requestError{http.StatusForbidden, "NO_PERMISSION", msgNoPermission,
			map[string]any{"permissions": []string{noPermissionName}}}
	}
	return nil
}

// sameHost compares two host[:port] values by host name, case-insensitively.
func sameHost(a, b string) bool {
	return strings.EqualFold(hostName(a), hostName(b))
}

func hostName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// answerTime is when a call that arrived at start answers: start plus the
// configured latency plus jitter. The simulator's own processing counts toward
// it, so a call takes max(latency, processing), like a remote server whose
// response time is the latency.
func (s *Server) answerTime(start time.Time) time.Time {
	s.mu.Lock()
	d := s.latency
	if s.jitter > 0 {
		d += rand.N(s.jitter)
	}
	s.mu.Unlock()
	return start.Add(d)
}

// sleepUntil waits until t; false when the request or the server ended
// meanwhile (nothing is written then).
func (s *Server) sleepUntil(r *http.Request, t time.Time) bool {
	return s.sleep(r, time.Until(t))
}

// creditCharge is one charge in the rolling 24 h credit window.
type creditCharge struct {
	at      time.Time
	credits int
}

// CreditsFor is Zoho's upsert price: 1 credit per 10 records, rounded up.
func CreditsFor(records int) int { return (records + 9) / 10 }

// creditsUsedLocked prunes charges older than 24 h and returns the sum.
func (s *Server) creditsUsedLocked() int {
	cut := s.now().Add(-24 * time.Hour)
	i := 0
	for i < len(s.creds) && !s.creds[i].at.After(cut) {
		i++
	}
	s.creds = s.creds[i:]
	used := 0
	for _, c := range s.creds {
		used += c.credits
	}
	return used
}

// chargeLocked charges n credits. With a daily budget, a call that would take
// the rolling-24 h use beyond it is refused (false; the caller answers 429
// TOO_MANY_REQUESTS; unconfirmed: Zoho may let the last call overdraw).
// X-API-CREDITS-REMAINING in h is set after the charge (reportCreditsLocked).
func (s *Server) chargeLocked(h http.Header, n int) bool {
	if s.dailyCredits > 0 && s.creditsUsedLocked()+n > s.dailyCredits {
		s.reportCreditsLocked(h)
		return false
	}
	s.creds = append(s.creds, creditCharge{at: s.now(), credits: n})
	s.stats.Credits += n
	s.reportCreditsLocked(h)
	return true
}

// reportCreditsLocked sets X-API-CREDITS-REMAINING in h, the credits left in
// the rolling 24 h window, once at least half of the daily budget is used,
// as Zoho does on its API responses (Zoho CRM v8 "API Limits": the header
// appears once usage reaches 50% of the day's credits, add-on credits
// excluded; the simulator has no add-on credits). Without a budget, never.
func (s *Server) reportCreditsLocked(h http.Header) {
	if s.dailyCredits <= 0 {
		return
	}
	if used := s.creditsUsedLocked(); used*2 >= s.dailyCredits {
		h.Set("X-API-CREDITS-REMAINING", strconv.Itoa(max(0, s.dailyCredits-used)))
	}
}

// fault is an injected failure for one upsert call.
type fault int

const (
	faultNone fault = iota
	faultHang
	faultStatus
	faultThrottle
)

// takeFaultLocked consumes at most one pending fault, in the order hang,
// FailNext, fail rate, 429 burst.
func (s *Server) takeFaultLocked() (fault, int) {
	switch {
	case s.hangNext > 0:
		s.hangNext--
		return faultHang, 0
	case s.failNext > 0:
		s.failNext--
		return faultStatus, s.failStatus
	case s.failRate > 0 && rand.Float64() < s.failRate:
		return faultStatus, s.failRateStatus
	case s.throttleNext > 0:
		s.throttleNext--
		return faultThrottle, http.StatusTooManyRequests
	}
	return faultNone, 0
}

// writeFault answers an injected status: 500 is Zoho's INTERNAL_ERROR JSON;
// 401, 502, 503 and 504 are an HTML page as a proxy or load balancer in front
// of Zoho would give (so clients must not assume JSON; zoho-crm-api.md "OAuth
// 2.0": not every 401 comes from Zoho's API); 429 is TOO_MANY_REQUESTS; other
// statuses carry INTERNAL_ERROR JSON.
func writeFault(w http.ResponseWriter, status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</h1></body></html>"))
		return ""
	case http.StatusTooManyRequests:
		writeAPIError(w, status, "TOO_MANY_REQUESTS", msgConcurrency, nil)
		return "TOO_MANY_REQUESTS"
	default:
		writeAPIError(w, status, "INTERNAL_ERROR", msgInternal, nil)
		return "INTERNAL_ERROR"
	}
}
