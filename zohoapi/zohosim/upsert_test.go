package zohosim

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var zohoTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)

func TestUpsertInsertThenUpdate(t *testing.T) {
	clock := newFakeClock()
	s := newSim(t, Options{Now: clock.Now})
	tok := mint(t, s)

	r := upsert(t, s, tok, "Leads", jane())
	if r.Status != http.StatusOK || len(r.Data) != 1 {
		t.Fatalf("insert: %d %s", r.Status, r.Raw)
	}
	item := r.Data[0]
	if item["code"] != "SUCCESS" || item["action"] != "insert" || item["message"] != "record added" ||
		item["status"] != "success" || item["duplicate_field"] != nil {
		t.Fatalf("insert item %v", item)
	}
	if _, present := item["duplicate_field"]; !present {
		t.Fatal("duplicate_field must be present (null) on insert")
	}
	d := details(t, item)
	id, _ := d["id"].(string)
	if !regexp.MustCompile(`^\d{19}$`).MatchString(id) {
		t.Fatalf("id %q is not a 19-digit string", id)
	}
	for _, k := range []string{"Created_Time", "Modified_Time"} {
		if !zohoTimeRE.MatchString(d[k].(string)) {
			t.Fatalf("%s = %v", k, d[k])
		}
	}
	for _, k := range []string{"Created_By", "Modified_By"} {
		u, _ := d[k].(map[string]any)
		if u["name"] == nil || u["id"] == nil {
			t.Fatalf("%s = %v", k, d[k])
		}
	}

	clock.Advance(time.Minute)
	r = upsert(t, s, tok, "Leads", map[string]any{"Email": "JANE.DOE@Example.com", "Phone": "+44 7700 900123"})
	if r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Raw)
	}
	item = r.Data[0]
	d = details(t, item)
	if item["action"] != "update" || item["message"] != "record updated" || item["duplicate_field"] != "Email" || d["id"] != id {
		t.Fatalf("update item %v", item)
	}
	if d["Created_Time"] == d["Modified_Time"] {
		t.Fatal("Modified_Time not moved on update")
	}

	recs := s.Records("Leads")
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	want := jane()
	want["Email"] = "JANE.DOE@Example.com" // given fields overwrite
	want["Phone"] = "+44 7700 900123"
	want["id"] = id
	for k, v := range want {
		if recs[0][k] != v {
			t.Errorf("%s = %v, want %v", k, recs[0][k], v)
		}
	}
	if len(recs[0]) != len(want) {
		t.Errorf("record %v, want %v", recs[0], want)
	}
	if l, ok := s.Lead("jane.doe@EXAMPLE.com"); !ok || l["id"] != id {
		t.Fatalf("Lead lookup: %v %v", l, ok)
	}
	st := s.Stats()
	if st.UpsertCalls != 2 || st.RecordsReceived != 2 || st.Inserts != 1 || st.Updates != 1 || st.Credits != 2 || st.Status[200] != 2 {
		t.Fatalf("stats %+v", st)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Records != 1 || calls[0].Status != 200 || calls[0].Inserts != 1 ||
		calls[1].Updates != 1 || calls[0].Emails[0] != "jane.doe@example.com" || calls[0].End.Before(calls[0].Start) {
		t.Fatalf("calls %+v", calls)
	}
}

func TestUpsertNullClearsField(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	upsert(t, s, tok, "Leads", jane())
	r := upsert(t, s, tok, "Leads", map[string]any{"Email": "jane.doe@example.com", "Description": nil})
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	l, _ := s.Lead("jane.doe@example.com")
	if _, ok := l["Description"]; ok {
		t.Fatalf("Description not cleared: %v", l)
	}
}

func TestUpsertMixedAndAllFailed(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	good := jane()
	bad := map[string]any{"Email": "x@example.com", "Company": "X"} // no Last_Name on insert

	r := upsert(t, s, tok, "Leads", good, bad)
	if r.Status != http.StatusMultiStatus || len(r.Data) != 2 {
		t.Fatalf("mixed: %d %s", r.Status, r.Raw)
	}
	if r.Data[0]["status"] != "success" || r.Data[1]["code"] != "MANDATORY_NOT_FOUND" || r.Data[1]["status"] != "error" {
		t.Fatalf("mixed items (input order): %v", r.Data)
	}
	r = upsert(t, s, tok, "Leads", bad, bad)
	if r.Status != http.StatusBadRequest || len(r.Data) != 2 || r.Code != "" {
		t.Fatalf("all failed must be 400 with data[]: %d %s", r.Status, r.Raw)
	}
	if got := s.Stats(); got.RecordErrors != 3 || got.RecordErrorCodes["MANDATORY_NOT_FOUND"] != 3 || got.Status[207] != 1 || got.Status[400] != 1 {
		t.Fatalf("stats %+v", got)
	}
	if len(s.Records("Leads")) != 1 {
		t.Fatal("failed records must not be stored")
	}
}

func TestUpsertRecordValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name    string
		rec     map[string]any
		code    string
		details map[string]any
		message string
	}{
		{"missing Last_Name", map[string]any{"Email": "a@b.co", "Company": "C"}, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"}, "required field not found"},
		{"empty Last_Name", map[string]any{"Email": "a@b.co", "Company": "C", "Last_Name": ""}, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Last_Name"}, "required field not found"},
		{"missing Company (layout)", map[string]any{"Email": "a@b.co", "Last_Name": "L"}, "MANDATORY_NOT_FOUND",
			map[string]any{"api_name": "Company", "json_path": "$.data[0].Company"}, "required field not found"},
		{"unknown field", map[string]any{"Email": "a@b.co", "Last_Name": "L", "Company": "C", "Plan": "pro"}, "INVALID_DATA",
			map[string]any{"api_name": "Plan", "json_path": "$.data[0].Plan"}, "the field api name given seems to be invalid"},
		{"field names are case-sensitive", map[string]any{"Email": "a@b.co", "Last_Name": "L", "Company": "C", "last_name": "x"}, "INVALID_DATA",
			map[string]any{"api_name": "last_name"}, "the field api name given seems to be invalid"},
		{"bad email", map[string]any{"Email": "jane", "Last_Name": "L", "Company": "C"}, "INVALID_DATA",
			map[string]any{"api_name": "Email", "json_path": "$.data[0].Email", "expected_data_type": "email"}, "invalid data"},
		{"email without tld", map[string]any{"Email": "jane@example", "Last_Name": "L", "Company": "C"}, "INVALID_DATA",
			map[string]any{"expected_data_type": "email"}, "invalid data"},
		{"long email", map[string]any{"Email": long(96) + "@b.co", "Last_Name": "L", "Company": "C"}, "INVALID_DATA",
			map[string]any{"api_name": "Email", "maximum_length": float64(100)}, "invalid data"},
		{"long Last_Name", map[string]any{"Email": "a@b.co", "Last_Name": long(81), "Company": "C"}, "INVALID_DATA",
			map[string]any{"api_name": "Last_Name", "maximum_length": float64(80)}, "invalid data"},
		{"long First_Name", map[string]any{"Email": "a@b.co", "Last_Name": "L", "First_Name": long(41), "Company": "C"}, "INVALID_DATA",
			map[string]any{"api_name": "First_Name", "maximum_length": float64(40)}, "invalid data"},
		{"long Company", map[string]any{"Email": "a@b.co", "Last_Name": "L", "Company": long(201)}, "INVALID_DATA",
			map[string]any{"api_name": "Company", "maximum_length": float64(200)}, "invalid data"},
		{"long Phone", map[string]any{"Email": "a@b.co", "Last_Name": "L", "Company": "C", "Phone": long(31)}, "INVALID_DATA",
			map[string]any{"api_name": "Phone", "maximum_length": float64(30)}, "invalid data"},
		{"number in text field", map[string]any{"Email": "a@b.co", "Last_Name": "L", "Company": "C", "Title": 5}, "INVALID_DATA",
			map[string]any{"api_name": "Title", "expected_data_type": "text"}, "invalid data"},
		{"not an object", nil, "INVALID_DATA", map[string]any{"json_path": "$.data[0]"}, "invalid data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, Options{})
			var r apiReply
			if tc.rec == nil {
				r = do(t, s, http.MethodPost, "/crm/v8/Leads/upsert", mint(t, s), `{"data":["nope"]}`)
			} else {
				r = upsert(t, s, mint(t, s), "Leads", tc.rec)
			}
			if r.Status != http.StatusBadRequest || len(r.Data) != 1 {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			item := r.Data[0]
			if item["code"] != tc.code || item["message"] != tc.message || item["status"] != "error" {
				t.Fatalf("item %v", item)
			}
			d := details(t, item)
			for k, v := range tc.details {
				if d[k] != v {
					t.Errorf("details.%s = %v, want %v (details %v)", k, d[k], v, d)
				}
			}
		})
	}
}

func TestUpsertLengthCountsCharacters(t *testing.T) {
	s := newSim(t, Options{})
	r := upsert(t, s, mint(t, s), "Leads", map[string]any{"Email": "a@b.co", "Company": "C", "Last_Name": strings.Repeat("é", 80)})
	if r.Status != http.StatusOK {
		t.Fatalf("80 two-byte characters fit an 80-character field: %d %s", r.Status, r.Raw)
	}
}

func TestUpsertUpdateSkipsInsertOnlyChecks(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	upsert(t, s, tok, "Leads", jane())
	// Partial update without Last_Name/Company is fine.
	if r := upsert(t, s, tok, "Leads", map[string]any{"Email": "jane.doe@example.com", "Title": "CTO"}); r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	// Clearing a system-mandatory field is not.
	r := upsert(t, s, tok, "Leads", map[string]any{"Email": "jane.doe@example.com", "Last_Name": ""})
	if r.Status != http.StatusBadRequest || r.Data[0]["code"] != "MANDATORY_NOT_FOUND" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

func TestUpsertMultipleErrors(t *testing.T) {
	s := newSim(t, Options{})
	r := upsert(t, s, mint(t, s), "Leads", map[string]any{"Email": "nope", "Foo": 1})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	item := r.Data[0]
	if item["code"] != "MULTIPLE_OR_MULTI_ERRORS" || item["status"] != "error" {
		t.Fatalf("item %v", item)
	}
	errs, _ := details(t, item)["errors"].([]any)
	var codes []string
	for _, e := range errs {
		em := e.(map[string]any)
		codes = append(codes, em["code"].(string)+":"+details(t, em)["api_name"].(string))
		if em["status"] != "error" || em["message"] == "" {
			t.Fatalf("inner error %v", em)
		}
	}
	want := "INVALID_DATA:Email INVALID_DATA:Foo MANDATORY_NOT_FOUND:Last_Name MANDATORY_NOT_FOUND:Company"
	if strings.Join(codes, " ") != want {
		t.Fatalf("errors %v, want %s", codes, want)
	}
}

func TestDuplicateCheckOnNonUniqueField(t *testing.T) {
	s := newSim(t, Options{})
	tok := mint(t, s)
	a, b := lead(1), lead(2)
	a["Secondary_Email"], b["Secondary_Email"] = "shared@example.com", "other@example.com"
	upsert(t, s, tok, "Leads", a, b)
	r := do(t, s, http.MethodPost, "/crm/v8/Leads/upsert", tok, map[string]any{
		"data":                   []any{map[string]any{"Secondary_Email": "OTHER@example.com", "Title": "x"}},
		"duplicate_check_fields": []string{"Secondary_Email"},
	})
	l2, _ := s.Lead("user2@example.com")
	if r.Status != http.StatusOK || details(t, r.Data[0])["id"] != l2["id"] || l2["Title"] != "x" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

// BenchmarkUpsert100 measures the simulator's own cost per call of 100
// records (all updates after the first iteration), over loopback HTTP.
func BenchmarkUpsert100(b *testing.B) {
	s := newSim(b, Options{})
	tok := mint(b, s)
	body := map[string]any{"data": leads(0, 100)}
	b.ReportAllocs()
	for b.Loop() {
		if r := do(b, s, http.MethodPost, "/crm/v8/Leads/upsert", tok, body); r.Status != http.StatusOK {
			b.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
}
