package zohosim

import (
	"net/http"
	"time"
)

// The simulated org has one user, the Self Client's owner: an active,
// confirmed administrator. The same user (one id) is Created_By/Modified_By of
// upsert results, Owner of duplicate_record, and the answer of
// GET /crm/v8/users?type=CurrentUser.
const (
	simUserFirstName = "Sim"
	simUserLastName  = "Admin"
	simUserEmail     = "sim.admin@example.com"
	simOrgName       = "zohosim"
)

// minifiedUser is the simulated user as Zoho's Minified_User {name, id}
// (crm-oas v8.0/users.json).
func (s *Server) minifiedUser() map[string]any {
	return map[string]any{"name": s.userName, "id": s.userID}
}

// orgIDs returns the org's ids derived from the user id: zgid (the org id the
// SDKs put in their token store's user signature) and zuid (the user's
// accounts id). Both are stable for one Server.
func (s *Server) orgIDs() (zgid, zuid string) {
	return "7" + s.userID[len(s.userID)-8:], "6" + s.userID[len(s.userID)-8:]
}

// userTypesWithAdmin are the Get Users "type" values (crm-oas
// v8.0/users.json parameter type) whose list holds the one simulated user;
// DeactiveUsers and NotConfirmedUsers list nobody (204, as the OAS allows).
var userTypesWithAdmin = map[string]bool{"": true, "CurrentUser": true, "ActiveUsers": true, "ActiveConfirmedUsers": true, "ConfirmedUsers": true}

// handleUsers implements GET /crm/v8/users (Zoho "Get Users"; needs scope
// ZohoCRM.users.ALL or .READ, checked by the caller). Zoho's SDKs call it with
// type=CurrentUser after minting a token and keep the user's email. The
// answer is crm-oas v8.0/users.json Response_Wrapper, minimal: {"users":[…],
// "info":{per_page, count, page, more_records}}. DeactiveUsers and
// NotConfirmedUsers: 204; another type: 400 INVALID_DATA details.param_name
// "type" (Zoho's exact answer unconfirmed). Costs 1 credit.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeAPIError(w, http.StatusBadRequest, "INVALID_REQUEST_METHOD", msgInvalidMethod, nil)
		return
	}
	if !s.sleepUntil(r, s.answerTime(time.Now())) {
		return
	}
	typ := r.URL.Query().Get("type")
	switch {
	case typ == "DeactiveUsers" || typ == "NotConfirmedUsers":
		w.WriteHeader(http.StatusNoContent)
		return
	case !userTypesWithAdmin[typ]:
		writeAPIError(w, http.StatusBadRequest, "INVALID_DATA", msgInvalidData, map[string]any{"param_name": "type"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.chargeLocked(w.Header(), 1) {
		writeAPIError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", msgCreditsExhaust, nil)
		return
	}
	_, zuid := s.orgIDs()
	roleProfileID := s.userID[:13] + "000026"
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, s.loc).Format(zohoTime)
	user := map[string]any{
		"id":             s.userID,
		"zuid":           zuid,
		"first_name":     simUserFirstName,
		"last_name":      simUserLastName,
		"full_name":      s.userName,
		"email":          simUserEmail,
		"status":         "active",
		"confirm":        true,
		"role":           map[string]any{"name": "CEO", "id": roleProfileID + "5"},
		"profile":        map[string]any{"name": "Administrator", "id": roleProfileID + "1"},
		"language":       "en_US",
		"locale":         "en_US",
		"country_locale": "en_US",
		"time_format":    "hh:mm a",
		"date_format":    "MMM d, yyyy",
		"Isonline":       false,
		"created_time":   created,
		"Modified_Time":  created,
		"Modified_By":    s.minifiedUser(),
		"created_by":     s.minifiedUser(),
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"users": []any{user},
		"info":  map[string]any{"per_page": 200, "count": 1, "page": 1, "more_records": false},
	})
}

// handleOrg implements GET /crm/v8/org (Zoho "Get Organization Data"; needs
// scope ZohoCRM.org.ALL or .READ, checked by the caller). Zoho's SDKs call it
// after minting a token and keep the org's zgid. The answer is crm-oas
// v8.0/org.json Response_Wrapper {"org":[Org]}, with the Org scalars that
// schema requires (nested preferences and license details left out). Costs 1
// credit.
func (s *Server) handleOrg(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeAPIError(w, http.StatusBadRequest, "INVALID_REQUEST_METHOD", msgInvalidMethod, nil)
		return
	}
	if !s.sleepUntil(r, s.answerTime(time.Now())) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.chargeLocked(w.Header(), 1) {
		writeAPIError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", msgCreditsExhaust, nil)
		return
	}
	zgid, zuid := s.orgIDs()
	org := map[string]any{
		"id":                       s.userID[:13] + "000017",
		"zgid":                     zgid,
		"ezgid":                    zgid,
		"primary_zuid":             zuid,
		"primary_email":            simUserEmail,
		"company_name":             simOrgName,
		"domain_name":              "org" + zgid,
		"type":                     "Production",
		"country":                  "United States",
		"country_code":             "US",
		"time_zone":                s.loc.String(),
		"currency":                 "US Dollar - USD",
		"iso_code":                 "USD",
		"currency_symbol":          "$",
		"currency_locale":          "en_US",
		"phone":                    "",
		"max_per_page":             200,
		"mc_status":                false,
		"gapps_enabled":            false,
		"translation_enabled":      false,
		"privacy_settings":         false,
		"hipaa_compliance_enabled": false,
		"lite_users_enabled":       false,
		"deletable_org_account":    false,
		"oauth_presence":           true,
	}
	writeJSON(w, http.StatusOK, map[string]any{"org": []any{org}})
}
