package zohosim

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
)

// postMultipart posts form values as a multipart/form-data body, as the Node
// SDK v8 does (FormData).
func postMultipart(t testing.TB, target string, form url.Values) (int, tokenReply) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(target, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r tokenReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("answer not JSON: %v", err)
	}
	return resp.StatusCode, r
}

func TestTokenMultipartBody(t *testing.T) {
	s := newSim(t, Options{})
	status, r := postMultipart(t, s.URL()+"/oauth/v2/token", refreshForm(s))
	if status != http.StatusOK || r.AccessToken == "" || r.Error != "" {
		t.Fatalf("refresh grant as multipart: %d %+v", status, r)
	}
	code := s.GrantCode()
	status, r = postMultipart(t, s.URL()+"/oauth/v2/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {s.ClientID()},
		"client_secret": {s.ClientSecret()}, "code": {code},
	})
	if status != http.StatusOK || r.AccessToken == "" || r.RefreshToken == "" {
		t.Fatalf("code exchange as multipart: %d %+v", status, r)
	}
	// A wrong secret is still refused: the body is read, not ignored.
	form := refreshForm(s)
	form.Set("client_secret", "wrong")
	if _, r := postMultipart(t, s.URL()+"/oauth/v2/token", form); r.Error != "invalid_client_secret" {
		t.Fatalf("wrong secret as multipart: %+v", r)
	}
	// Revoke reads a multipart body too.
	resp, err := http.Post(s.URL()+"/oauth/v2/token/revoke?token="+url.QueryEscape(s.RefreshToken()), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, r := postMultipart(t, s.URL()+"/oauth/v2/token", refreshForm(s)); r.Error != "invalid_code" {
		t.Fatalf("refresh after revoke: %+v", r)
	}
}

func TestFieldsEveryLengthPositiveUniqueString(t *testing.T) {
	s := newSim(t, Options{})
	if err := s.AddField("Leads", Field{APIName: "Trial_Ends", DataType: "date"}); err != nil {
		t.Fatal(err)
	}
	tok := mint(t, s)
	for _, module := range []string{"Leads", "Contacts"} {
		r := do(t, s, http.MethodGet, "/crm/v8/settings/fields?module="+module, tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", module, r.Status, r.Raw)
		}
		for _, f := range r.Fields {
			if n, _ := f["length"].(float64); n <= 0 {
				t.Errorf("%s.%v: length %v, want > 0", module, f["api_name"], f["length"])
			}
			u := f["unique"].(map[string]any)
			if cs, ok := u["casesensitive"]; ok && cs != "false" {
				t.Errorf("%s.%v: unique.casesensitive = %#v, want the string \"false\"", module, f["api_name"], cs)
			}
		}
		want := map[string]float64{"Email_Opt_Out": 5}
		if module == "Contacts" {
			want["Date_of_Birth"] = 20
		}
		for name, n := range want {
			if f := fieldByName(r.Fields, name); f == nil || f["length"] != n {
				t.Errorf("%s.%s = %v, want length %v", module, name, f, n)
			}
		}
		if email := fieldByName(r.Fields, "Email"); email["unique"].(map[string]any)["casesensitive"] != "false" {
			t.Errorf("%s.Email unique = %v", module, email["unique"])
		}
	}
}

func TestUsersAndOrgForSDKs(t *testing.T) {
	s := newSim(t, Options{Scope: "ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.ALL"})
	tok := mint(t, s)
	r := do(t, s, http.MethodGet, "/crm/v8/users?type=CurrentUser", tok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("users: %d %s", r.Status, r.Raw)
	}
	var raw struct {
		Users []map[string]any `json:"users"`
		Info  map[string]any   `json:"info"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Users) != 1 || raw.Info["count"] != 1.0 || raw.Info["more_records"] != false {
		t.Fatalf("users answer %s", r.Raw)
	}
	u := raw.Users[0]
	if u["email"] != simUserEmail || u["status"] != "active" || u["full_name"] != "Sim Admin" {
		t.Errorf("current user %v", u)
	}

	// One user: the one of users, of upsert results and of duplicate_record.
	if err := s.AddField("Leads", Field{APIName: "External_ID", DataType: "text", Length: 20, Unique: true}); err != nil {
		t.Fatal(err)
	}
	a := upsert(t, s, tok, "Leads", map[string]any{"Last_Name": "A", "Company": "X", "Email": "a@example.com", "External_ID": "e1"})
	b := do(t, s, http.MethodPost, "/crm/v8/Leads/upsert", tok, map[string]any{"duplicate_check_fields": []string{"Email"},
		"data": []any{map[string]any{"Last_Name": "B", "Company": "X", "Email": "b@example.com", "External_ID": "e1"}}})
	created := details(t, a.Data[0])["Created_By"].(map[string]any)
	modified := details(t, a.Data[0])["Modified_By"].(map[string]any)
	owner := details(t, b.Data[0])["duplicate_record"].(map[string]any)["Owner"].(map[string]any)
	if b.Data[0]["code"] != "DUPLICATE_DATA" {
		t.Fatalf("second upsert %s", b.Raw)
	}
	for name, m := range map[string]map[string]any{"Created_By": created, "Modified_By": modified, "duplicate_record.Owner": owner} {
		if m["id"] != u["id"] || m["name"] != u["full_name"] {
			t.Errorf("%s = %v, want the current user %v/%v", name, m, u["id"], u["full_name"])
		}
	}

	r = do(t, s, http.MethodGet, "/crm/v8/org", tok, nil)
	var org struct {
		Org []map[string]any `json:"org"`
	}
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Raw), &org) != nil || len(org.Org) != 1 {
		t.Fatalf("org: %d %s", r.Status, r.Raw)
	}
	if o := org.Org[0]; o["zgid"] == "" || o["id"] == "" || o["primary_email"] != simUserEmail || o["type"] != "Production" {
		t.Errorf("org %v", o)
	}

	if r := do(t, s, http.MethodGet, "/crm/v8/users?type=DeactiveUsers", tok, nil); r.Status != http.StatusNoContent {
		t.Errorf("DeactiveUsers: %d %s", r.Status, r.Raw)
	}
	if r := do(t, s, http.MethodGet, "/crm/v8/users?type=Nobody", tok, nil); r.Status != http.StatusBadRequest || r.Code != "INVALID_DATA" {
		t.Errorf("unknown type: %d %s", r.Status, r.Raw)
	}
	if r := do(t, s, http.MethodGet, "/crm/v8/org", "", nil); r.Status != http.StatusUnauthorized || r.Code != "INVALID_TOKEN" {
		t.Errorf("org without token: %d %s", r.Status, r.Raw)
	}
}

func TestUsersAndOrgNeedTheirScopes(t *testing.T) {
	s := newSim(t, Options{}) // DefaultScope: no users or org scope
	tok := mint(t, s)
	for _, path := range []string{"/crm/v8/users?type=CurrentUser", "/crm/v8/org"} {
		r := do(t, s, http.MethodGet, path, tok, nil)
		if r.Status != http.StatusUnauthorized || r.Code != "OAUTH_SCOPE_MISMATCH" || r.Message != msgScopeMismatch {
			t.Errorf("%s with scope %s: %d %s", path, DefaultScope, r.Status, r.Raw)
		}
	}
	if !grantsRead("ZohoCRM.modules.ALL ZohoCRM.users.all", "users") || grantsRead("ZohoCRM.users.CREATE", "users") || grantsRead("ZohoCRM.settings.ALL", "org") {
		t.Error("grantsRead")
	}
}

// TestMetadataNeedsSettingsScopes: the Fields and Layouts APIs answer 401
// OAUTH_SCOPE_MISMATCH to a token without ZohoCRM.settings.fields.READ /
// ZohoCRM.settings.layouts.READ (or ZohoCRM.settings.ALL); upsert does not
// need them.
func TestMetadataNeedsSettingsScopes(t *testing.T) {
	for _, tt := range []struct {
		scope          string
		fields, layout int
	}{
		{DefaultScope, http.StatusOK, http.StatusOK},
		{"ZohoCRM.modules.ALL", http.StatusUnauthorized, http.StatusUnauthorized},
		{"ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ", http.StatusOK, http.StatusUnauthorized},
		{"ZohoCRM.modules.ALL,ZohoCRM.settings.ALL", http.StatusOK, http.StatusOK},
	} {
		s := newSim(t, Options{Scope: tt.scope})
		tok := mint(t, s)
		for path, want := range map[string]int{"/crm/v8/settings/fields?module=Leads": tt.fields, "/crm/v8/settings/layouts?module=Leads": tt.layout} {
			r := do(t, s, http.MethodGet, path, tok, nil)
			if r.Status != want || (want == http.StatusUnauthorized && r.Code != "OAUTH_SCOPE_MISMATCH") {
				t.Errorf("%s with scope %s: %d %s, want %d", path, tt.scope, r.Status, r.Raw, want)
			}
		}
	}
}

func TestInvalidHostKnob(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	s.SetAPIHost("www.zohoapis.com")
	for _, path := range []string{"/crm/v8/settings/fields?module=Leads", "/crm/v8/Leads/upsert"} {
		method := http.MethodGet
		var body any
		if path == "/crm/v8/Leads/upsert" {
			method, body = http.MethodPost, map[string]any{"data": []any{jane()}}
		}
		r := do(t, s, method, path, tok, body)
		if r.Status != http.StatusBadRequest || r.Code != "INVALID_HOST" || r.ZStatus != "error" || r.Data != nil {
			t.Errorf("%s via 127.0.0.1: %d %s", path, r.Status, r.Raw)
		}
	}
	if len(s.Records("Leads")) != 0 {
		t.Error("INVALID_HOST upsert wrote a record")
	}
	// The named host passes (port ignored).
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/crm/v8/settings/fields?module=Leads", nil)
	req.Host = "WWW.zohoapis.com:443"
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("via the API host: %d", resp.StatusCode)
	}
	s.SetAPIHost("")
	if r := upsert(t, s, tok, "Leads", jane()); r.Status != http.StatusOK {
		t.Errorf("after SetAPIHost(\"\"): %d %s", r.Status, r.Raw)
	}
}

func TestNoPermissionKnob(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	s.SetNoPermission(true)
	r := upsert(t, s, tok, "Leads", jane())
	if r.Status != http.StatusForbidden || r.Code != "NO_PERMISSION" || r.Message != "permission denied" {
		t.Fatalf("upsert: %d %s", r.Status, r.Raw)
	}
	if perms, _ := r.Details["permissions"].([]any); len(perms) != 1 || perms[0] != noPermissionName {
		t.Errorf("details %v", r.Details)
	}
	if r := do(t, s, http.MethodGet, "/crm/v8/settings/fields?module=Leads", tok, nil); r.Status != http.StatusForbidden || r.Code != "NO_PERMISSION" {
		t.Errorf("fields: %d %s", r.Status, r.Raw)
	}
	if calls := s.Calls(); len(calls) != 1 || calls[0].Code != "NO_PERMISSION" || calls[0].Status != http.StatusForbidden {
		t.Errorf("calls %+v", calls)
	}
	s.SetNoPermission(false)
	if r := upsert(t, s, tok, "Leads", jane()); r.Status != http.StatusOK {
		t.Errorf("after SetNoPermission(false): %d %s", r.Status, r.Raw)
	}
}

func TestFieldDependency(t *testing.T) {
	s := newSim(t, Options{})
	dep := FieldDependency{Parent: "Country", Child: "State", Allowed: map[string][]string{"India": {"Kerala", "Goa"}}}
	if err := s.AddFieldDependency("Leads", dep); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFieldDependency("Leads", FieldDependency{Parent: "Nope", Child: "State"}); err == nil {
		t.Error("dependency on an unknown field accepted")
	}
	if err := s.AddFieldDependency("Deals", dep); err == nil {
		t.Error("dependency in an unknown module accepted")
	}
	tok := mint(t, s)
	lead := func(email string, kv ...string) map[string]any {
		m := map[string]any{"Last_Name": "Doe", "Company": "Acme", "Email": email}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	r := upsert(t, s, tok, "Leads",
		lead("ok@example.com", "Country", "India", "State", "Goa"),
		lead("missing@example.com", "State", "Goa"),
		lead("mismatch@example.com", "Country", "India", "State", "Texas"),
		lead("ok@example.com", "State", "Kerala"), // update: Country stored
	)
	if r.Status != http.StatusMultiStatus {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	wantCodes := []string{"SUCCESS", "DEPENDENT_FIELD_MISSING", "DEPENDENT_MISMATCH", "SUCCESS"}
	for i, w := range wantCodes {
		if r.Data[i]["code"] != w {
			t.Errorf("record %d: %v, want %s", i, r.Data[i], w)
		}
	}
	for _, i := range []int{1, 2} {
		d := details(t, r.Data[i])
		dependee, _ := d["dependee"].(map[string]any)
		if d["api_name"] != "State" || d["json_path"] != "$.data["+string(rune('0'+i))+"].State" ||
			dependee["api_name"] != "Country" || dependee["json_path"] != "$.data["+string(rune('0'+i))+"].Country" {
			t.Errorf("record %d details %v", i, d)
		}
	}
	if r.Data[1]["message"] != "Dependent Fields missing" {
		t.Errorf("message %v", r.Data[1]["message"])
	}
	if _, ok := s.Lead("missing@example.com"); ok {
		t.Error("refused record was stored")
	}
}

func TestDependentServiceErrorKnob(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	s.DependentServiceErrorNext(1, "LIMIT_EXCEEDED")
	bad := map[string]any{"Email": "x@example.com", "Company": "Acme"} // MANDATORY_NOT_FOUND: not consumed by the knob
	second := jane()
	second["Email"] = "second@example.com"
	r := upsert(t, s, tok, "Leads", bad, jane(), second)
	if r.Status != http.StatusMultiStatus {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if r.Data[0]["code"] != "MANDATORY_NOT_FOUND" || r.Data[1]["code"] != "DEPENDENT_SERVICE_ERROR" || r.Data[2]["code"] != "SUCCESS" {
		t.Fatalf("codes: %s", r.Raw)
	}
	if d := details(t, r.Data[1]); d["dependency_error"] != "LIMIT_EXCEEDED" {
		t.Errorf("details %v", d)
	}
	if _, ok := s.Lead(jane()["Email"].(string)); ok {
		t.Error("record refused with DEPENDENT_SERVICE_ERROR was stored")
	}
	if st := s.Stats(); st.RecordErrorCodes["DEPENDENT_SERVICE_ERROR"] != 1 {
		t.Errorf("stats %v", st.RecordErrorCodes)
	}
}
