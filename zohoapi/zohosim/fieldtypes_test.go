package zohosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// TestValueChecksByType sends one value at a time to each field of a custom
// module with a field of every type, and checks Zoho's answer: accepted, or
// INVALID_DATA with the documented details.
func TestValueChecksByType(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	if !s.AddModule("Subscriptions", FieldsOfEveryType()) {
		t.Fatal("AddModule")
	}
	for _, tc := range []struct {
		field, raw string
		key        string // "" accepted, else the details key of the refusal
		want       any    // its value
	}{
		{"Text_Field", `"twenty characters.."`, "", nil},
		{"Text_Field", `"twenty-one characters"`, "maximum_length", 20.0},
		{"Text_Field", `42`, "expected_data_type", "text"},
		{"Textarea_Field", `"line one\nline two"`, "", nil},
		{"Email_Field", `"jane@example.com"`, "", nil},
		{"Email_Field", `"jane@example"`, "expected_data_type", "email"},
		{"Phone_Field", `"+44 20 7946 0000"`, "", nil},
		{"Phone_Field", `442079460000`, "expected_data_type", "phone"},
		{"Website_Field", `"https://example.com"`, "", nil},
		{"Picklist_Field", `"Enterprise"`, "", nil}, // outside the list: accepted (StrictPicklists off)
		{"Picklist_Field", `["Pro"]`, "expected_data_type", "picklist"},
		{"Multiselectpicklist_Field", `["Red","Blue"]`, "", nil},
		{"Multiselectpicklist_Field", `"Red,Blue"`, "expected_data_type", "jsonarray"},
		{"Multiselectpicklist_Field", `["Red",1]`, "expected_data_type", "jsonarray"},
		{"Integer_Field", `-999999999`, "", nil},
		{"Integer_Field", `1000000000`, "maximum_length", 9.0},
		{"Integer_Field", `1.5`, "expected_data_type", "integer"},
		{"Integer_Field", `"12"`, "expected_data_type", "integer"},
		{"Integer_Field", `1e3`, "expected_data_type", "integer"},
		{"Bigint_Field", `123456789012345678`, "", nil},
		{"Bigint_Field", `1234567890123456789`, "maximum_length", 18.0},
		{"Bigint_Field", `"123"`, "expected_data_type", "bigint"},
		{"Double_Field", `3.25`, "", nil},
		{"Decimal_Field", `12345678901234.5`, "", nil},
		{"Decimal_Field", `123456789012345.5`, "maximum_length", 16.0},
		{"Currency_Field", `1999.99`, "", nil},
		{"Currency_Field", `"1999.99"`, "expected_data_type", "currency"},
		{"Percent_Field", `12.5`, "", nil},
		{"Percent_Field", `1000`, "maximum_length", 5.0},
		{"Boolean_Field", `true`, "", nil},
		{"Boolean_Field", `"true"`, "expected_data_type", "boolean"},
		{"Date_Field", `"2026-11-28"`, "", nil},
		{"Date_Field", `"28/11/2026"`, "expected_data_type", "date"},
		{"Date_Field", `"2026-11-28T10:00"`, "expected_data_type", "date"},
		{"Datetime_Field", `"2026-11-28T10:00:00+05:30"`, "", nil},
		{"Datetime_Field", `"2026-11-28T10:00:00Z"`, "expected_data_type", "datetime"},
		{"Datetime_Field", `"2026-11-28T10:00:00.123+00:00"`, "expected_data_type", "datetime"},
		{"Datetime_Field", `1764324000`, "expected_data_type", "datetime"},
		{"Lookup_Field", `{"id":"4150868000000224005"}`, "", nil},
		{"Lookup_Field", `"Acme Ltd"`, "expected_data_type", "jsonobject"},
		{"Boolean_Field", `null`, "", nil},
	} {
		body := fmt.Sprintf(`{"data":[{"Text_Field":"x","%s":%s}]}`, tc.field, tc.raw)
		if tc.field == "Text_Field" {
			body = fmt.Sprintf(`{"data":[{"Text_Field":%s}]}`, tc.raw)
		}
		r := do(t, s, http.MethodPost, "/crm/v8/Subscriptions/upsert", tok, body)
		name := tc.field + " " + tc.raw
		if tc.key == "" {
			if r.Status != http.StatusOK {
				t.Errorf("%s: want accepted, got %d %s", name, r.Status, r.Raw)
			}
			continue
		}
		if r.Status != http.StatusBadRequest || len(r.Data) != 1 || r.Data[0]["code"] != "INVALID_DATA" {
			t.Errorf("%s: want INVALID_DATA, got %d %s", name, r.Status, r.Raw)
			continue
		}
		d := details(t, r.Data[0])
		if d[tc.key] != tc.want || d["api_name"] != tc.field || d["json_path"] != "$.data[0]."+tc.field {
			t.Errorf("%s: details %v, want %s=%v", name, d, tc.key, tc.want)
		}
	}
}

func TestFieldsMetadataOfEveryType(t *testing.T) {
	s := newSim(t, Options{})
	s.AddModule("Subscriptions", FieldsOfEveryType())
	r := do(t, s, http.MethodGet, "/crm/v8/settings/fields?module=Subscriptions", mint(t, s), nil)
	if r.Status != http.StatusOK || len(r.Fields) != len(FieldsOfEveryType()) {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	for _, tc := range []struct {
		name, jsonType string
		length         float64
		decimals       any
	}{
		{"Integer_Field", "integer", 9, nil},
		{"Bigint_Field", "long", 18, nil},
		{"Currency_Field", "double", 16, 2.0},
		{"Percent_Field", "double", 5, 2.0},
		{"Multiselectpicklist_Field", "jsonarray", 2000, nil},
		{"Boolean_Field", "boolean", 5, nil},
		{"Datetime_Field", "string", 120, nil},
		{"Lookup_Field", "jsonobject", 120, nil},
	} {
		f := fieldByName(r.Fields, tc.name)
		if f == nil || f["json_type"] != tc.jsonType || f["length"] != tc.length || f["decimal_place"] != tc.decimals || f["custom_field"] != true {
			t.Errorf("%s: %v", tc.name, f)
		}
	}
}

func TestLayouts(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	r := do(t, s, http.MethodGet, "/crm/v8/settings/layouts?module=Leads", tok, nil)
	var reply struct {
		Layouts []struct {
			Name, Status string
			Profiles     []struct{ Default bool }
			Sections     []struct {
				Fields []map[string]any
			}
		}
	}
	decode(t, r.Raw, &reply)
	if r.Status != http.StatusOK || len(reply.Layouts) != 1 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	l := reply.Layouts[0]
	if l.Name != "Standard" || l.Status != "active" || len(l.Profiles) != 1 || !l.Profiles[0].Default || len(l.Sections) != 1 {
		t.Fatalf("layout %+v", l)
	}
	var required []string
	for _, f := range l.Sections[0].Fields {
		if f["required"] == true {
			required = append(required, f["api_name"].(string))
		}
	}
	if fmt.Sprint(required) != "[Last_Name Company]" {
		t.Fatalf("required %v", required)
	}
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/crm/v8/settings/layouts?module=Nope", 400, "INVALID_MODULE"},
		{"/crm/v8/settings/layouts", 400, "REQUIRED_PARAM_MISSING"},
	} {
		if r := do(t, s, http.MethodGet, tc.path, tok, nil); r.Status != tc.status || r.Code != tc.code {
			t.Errorf("%s: %d %s", tc.path, r.Status, r.Raw)
		}
	}
	if st := s.Stats(); st.LayoutsCalls != 3 || st.Credits != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestContactsAccountNameIsALookup(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	r := upsert(t, s, tok, "Contacts", map[string]any{"Email": "c@example.com", "Last_Name": "C", "Account_Name": "Acme Ltd"})
	if r.Status != 400 || details(t, r.Data[0])["expected_data_type"] != "jsonobject" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	r = upsert(t, s, tok, "Contacts", map[string]any{"Email": "c@example.com", "Last_Name": "C", "Account_Name": map[string]any{"name": "Acme Ltd"}})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

func decode(t testing.TB, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}
