package zohosim

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func fieldByName(fields []map[string]any, name string) map[string]any {
	for _, f := range fields {
		if f["api_name"] == name {
			return f
		}
	}
	return nil
}

func TestFieldsMetadataLeads(t *testing.T) {
	s := newSim(t, Options{})
	r := do(t, s, http.MethodGet, "/crm/v8/settings/fields?module=Leads", mint(t, s), nil)
	if r.Status != http.StatusOK || len(r.Fields) == 0 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	want := []struct {
		name, dataType, jsonType string
		length                   float64
		mandatory, unique        bool
	}{
		{"Last_Name", "text", "string", 80, true, false},
		{"First_Name", "text", "string", 40, false, false},
		{"Email", "email", "string", 100, false, true},
		{"Company", "text", "string", 200, false, false}, // layout-mandatory is not in this API
		{"Phone", "phone", "string", 30, false, false},
		{"Mobile", "phone", "string", 30, false, false},
		{"Lead_Source", "picklist", "string", 120, false, false},
		{"Lead_Status", "picklist", "string", 120, false, false},
		{"Description", "textarea", "string", 32000, false, false},
		{"Website", "website", "string", 255, false, false},
		{"Title", "text", "string", 100, false, false},
		{"Industry", "picklist", "string", 120, false, false},
		{"Street", "text", "string", 250, false, false},
		{"City", "text", "string", 100, false, false},
		{"State", "text", "string", 100, false, false},
		{"Zip_Code", "text", "string", 30, false, false},
		{"Country", "text", "string", 100, false, false},
	}
	for _, w := range want {
		f := fieldByName(r.Fields, w.name)
		if f == nil {
			t.Errorf("missing field %s", w.name)
			continue
		}
		unique, _ := f["unique"].(map[string]any)
		if f["data_type"] != w.dataType || f["json_type"] != w.jsonType || f["length"] != w.length ||
			f["system_mandatory"] != w.mandatory || (len(unique) > 0) != w.unique || f["read_only"] != false || unique == nil {
			t.Errorf("field %s = %v", w.name, f)
		}
	}
	src := fieldByName(r.Fields, "Lead_Source")
	vals, _ := src["pick_list_values"].([]any)
	if len(vals) == 0 {
		t.Fatal("Lead_Source without pick_list_values")
	}
	first := vals[0].(map[string]any)
	if first["actual_value"] == nil || first["display_value"] == nil {
		t.Fatalf("pick list value %v", first)
	}
	if st := s.Stats(); st.FieldsCalls != 1 || st.Credits != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFieldsMetadataErrors(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	if r := do(t, s, http.MethodGet, "/crm/v8/settings/fields?module=Contacts", tok, nil); r.Status != 200 || fieldByName(r.Fields, "Mailing_City") == nil {
		t.Fatalf("Contacts: %d %s", r.Status, r.Raw)
	}
	for _, tc := range []struct {
		path, token string
		status      int
		code        string
	}{
		{"/crm/v8/settings/fields?module=Nope", tok, 400, "INVALID_MODULE"},
		{"/crm/v8/settings/fields", tok, 400, "REQUIRED_PARAM_MISSING"},
		{"/crm/v8/settings/fields?module=Leads", "", 401, "INVALID_TOKEN"},
		{"/crm/v8/settings/field?module=Leads", tok, 404, "INVALID_URL_PATTERN"},
	} {
		if r := do(t, s, http.MethodGet, tc.path, tc.token, nil); r.Status != tc.status || r.Code != tc.code {
			t.Errorf("%s: %d %s", tc.path, r.Status, r.Raw)
		}
	}
}

func TestAddField(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	if err := s.AddField("Leads", Field{APIName: "Plan", DataType: "picklist", Length: 120, PicklistValues: []string{"free", "pro"}, Custom: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddField("Leads", Field{APIName: "Seats", DataType: "integer", Length: 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddField("Leads", Field{APIName: "Plan"}); !errors.Is(err, ErrFieldExists) {
		t.Fatalf("duplicate field: %v", err)
	}
	if err := s.AddField("Deals", Field{APIName: "X"}); !errors.Is(err, ErrUnknownModule) {
		t.Fatalf("unknown module: %v", err)
	}
	r := do(t, s, http.MethodGet, "/crm/v8/settings/fields?module=Leads", tok, nil)
	if f := fieldByName(r.Fields, "Plan"); f == nil || f["custom_field"] != true {
		t.Fatalf("custom field not in metadata: %v", f)
	}
	rec := lead(1)
	rec["Plan"] = "pro"
	rec["Seats"] = 12
	if r := upsert(t, s, tok, "Leads", rec); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	rec = lead(2)
	rec["Seats"] = 1.5
	if r := upsert(t, s, tok, "Leads", rec); r.Status != 400 || details(t, r.Data[0])["expected_data_type"] != "integer" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if got := s.Fields("Leads"); got[len(got)-1].APIName != "Seats" {
		t.Fatalf("Fields() = %v", got[len(got)-1])
	}
}

func TestStrictPicklists(t *testing.T) {
	rec := lead(1)
	rec["Lead_Source"] = "Website" // not in Zoho's default list
	t.Run("default accepts", func(t *testing.T) {
		s := newSim(t, Options{})
		if r := upsert(t, s, mint(t, s), "Leads", rec); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("strict refuses", func(t *testing.T) {
		s := newSim(t, Options{StrictPicklists: true})
		r := upsert(t, s, mint(t, s), "Leads", rec)
		if r.Status != 400 || r.Data[0]["code"] != "INVALID_DATA" || details(t, r.Data[0])["supported_values"] == nil {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}

func TestContactsModule(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	// Contacts has no layout-mandatory Company.
	r := upsert(t, s, tok, "Contacts", map[string]any{"Email": "c@example.com", "Last_Name": "C"})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if len(s.Records("Contacts")) != 1 || len(s.Records("Leads")) != 0 {
		t.Fatal("modules are separate")
	}
	if !s.AddModule("Deals", []Field{{APIName: "Deal_Name", DataType: "text", Length: 120, SystemMandatory: true}}) {
		t.Fatal("AddModule")
	}
	if r := upsert(t, s, tok, "Deals", map[string]any{"Deal_Name": "big"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

func TestHandlerAndPublicURL(t *testing.T) {
	s := newSim(t, Options{PublicURL: "http://zohosim:8080/"})
	if s.URL() != "http://zohosim:8080" {
		t.Fatalf("URL %q", s.URL())
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	resp, err := http.PostForm(hs.URL+"/oauth/v2/token", refreshForm(s))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || s.Stats().TokenMints != 1 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestFixedCredentialsAndTokenFaults(t *testing.T) {
	s := newSim(t, Options{ClientID: "1000.DEV", ClientSecret: "dev-secret", RefreshToken: "1000.dev.refresh"})
	if s.ClientID() != "1000.DEV" || s.ClientSecret() != "dev-secret" || s.RefreshToken() != "1000.dev.refresh" {
		t.Fatal("fixed credentials not used")
	}
	s.FailTokenNext(1, 0)
	if status, r := postToken(t, s, refreshForm(s)); status != 500 || r.AccessToken != "" {
		t.Fatalf("%d %+v", status, r)
	}
	mint(t, s)
}
