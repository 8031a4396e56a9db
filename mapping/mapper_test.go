package mapping

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
)

// leadPreset is the mapper used by the samples and the demo: the Lead Capture
// preset with marketing consent required.
func leadPreset(t testing.TB) *Mapper {
	t.Helper()
	m, err := NewMapper(MapperConfig{ConsentRequired: []string{"marketing"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ndjsonLines splits a file into its lines, keeping empty lines (tombstones)
// and not creating a record after the final newline.
func ndjsonLines(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("%s does not end with a newline", path)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// expectation is one line of testdata/samples.expected.ndjson, or one entry
// of "events" in testdata/demo-expected.json.
type expectation struct {
	Line    int            `json:"line"`
	Outcome string         `json:"outcome"`
	Drop    string         `json:"drop"`
	Code    string         `json:"code"`
	Field   string         `json:"field"`
	Key     string         `json:"key"`
	Event   *string        `json:"event"`
	Record  map[string]any `json:"record"`
}

func checkExpectation(t *testing.T, got Mapped, want expectation) {
	t.Helper()
	if got.Outcome.String() != want.Outcome || string(got.Drop) != want.Drop ||
		got.Reject.Code != want.Code || got.Reject.Field != want.Field || got.Key != want.Key {
		t.Errorf("line %d: got outcome=%s drop=%q code=%q field=%q key=%q (%s); want outcome=%s drop=%q code=%q field=%q key=%q",
			want.Line, got.Outcome, got.Drop, got.Reject.Code, got.Reject.Field, got.Key, got.Reject.Message,
			want.Outcome, want.Drop, want.Code, want.Field, want.Key)
	}
	if want.Record != nil && !reflect.DeepEqual(asMap(got.Record), want.Record) {
		t.Errorf("line %d: record\n got  %v\n want %v", want.Line, got.Record.JSON(), want.Record)
	}
	if want.Record == nil && want.Outcome != "deliver" && got.Record != nil {
		t.Errorf("line %d: record %v on a %s", want.Line, got.Record.JSON(), got.Outcome)
	}
	if want.Event != nil && got.Event != *want.Event {
		t.Errorf("line %d: event %q, want %q", want.Line, got.Event, *want.Event)
	}
	if got.Outcome == OutcomeReject && got.Reject.Message == "" {
		t.Errorf("line %d: rejection without a message", want.Line)
	}
}

func TestMapSamples(t *testing.T) {
	lines := ndjsonLines(t, "../testdata/samples.ndjson")
	shared, err := os.ReadFile("../../shared/samples/real-world-events.ndjson")
	if err == nil {
		own, _ := os.ReadFile("../testdata/samples.ndjson")
		if !bytes.Equal(shared, own) {
			t.Error("testdata/samples.ndjson is not a byte-exact copy of ../shared/samples/real-world-events.ndjson")
		}
	}
	f, err := os.Open("../testdata/samples.expected.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := leadPreset(t)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var want expectation
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatalf("expected line %d: %v", n+1, err)
		}
		n++
		if want.Line != n || n > len(lines) {
			t.Fatalf("expected line %d describes sample %d of %d", n, want.Line, len(lines))
		}
		checkExpectation(t, m.Map(lines[n-1]), want)
	}
	if n != len(lines) {
		t.Fatalf("%d expectations for %d samples", n, len(lines))
	}
}

// demoExpected is the part of testdata/demo-expected.json checked here.
type demoExpected struct {
	ConsentRequired []string      `json:"consent_required"`
	Events          []expectation `json:"events"`
	SeedPayload     struct {
		Line   int            `json:"line"`
		Record map[string]any `json:"record"`
	} `json:"seed_payload"`
	Leads       map[string]map[string]any `json:"leads"`
	DeadLetters []struct {
		Line   int    `json:"line"`
		Code   string `json:"code"`
		Field  string `json:"field"`
		Source string `json:"source"`
	} `json:"dead_letters"`
}

func TestMapDemoEvents(t *testing.T) {
	lines := ndjsonLines(t, "../testdata/demo-events.ndjson")
	raw, err := os.ReadFile("../testdata/demo-expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want demoExpected
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Events) != len(lines) {
		t.Fatalf("%d expected events for %d lines", len(want.Events), len(lines))
	}
	m, err := NewMapper(MapperConfig{ConsentRequired: want.ConsentRequired})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]Mapped, len(lines))
	for i, e := range want.Events {
		if e.Line != i+1 {
			t.Fatalf("events[%d] is line %d", i, e.Line)
		}
		got[i] = m.Map(lines[i])
		checkExpectation(t, got[i], e)
	}

	// The seed's Lead Generated example maps to the seed's payload exactly.
	if r := asMap(got[want.SeedPayload.Line-1].Record); !reflect.DeepEqual(r, want.SeedPayload.Record) {
		t.Errorf("seed payload: got %v, want %v", r, want.SeedPayload.Record)
	}

	// Replaying the delivered records per key in order (later fields win)
	// gives the expected final Leads, except those Zoho rejects.
	zohoRejects := map[int]bool{}
	for _, d := range want.DeadLetters {
		if d.Source == "zoho" {
			zohoRejects[d.Line] = true
		}
	}
	leads := map[string]map[string]any{}
	for i, g := range got {
		if g.Outcome != OutcomeDeliver || zohoRejects[i+1] {
			continue
		}
		if leads[g.Key] == nil {
			leads[g.Key] = map[string]any{}
		}
		for k, v := range asMap(g.Record) {
			leads[g.Key][k] = v
		}
	}
	if !reflect.DeepEqual(leads, want.Leads) {
		t.Errorf("final leads\n got  %v\n want %v", leads, want.Leads)
	}
	// Local dead letters are exactly the local rejections.
	var local []string
	for _, d := range want.DeadLetters {
		if d.Source == "local" {
			local = append(local, fmt.Sprintf("line %d: %s %s", d.Line, d.Code, d.Field))
		}
	}
	var rejected []string
	for i, g := range got {
		if g.Outcome == OutcomeReject {
			rejected = append(rejected, fmt.Sprintf("line %d: %s %s", i+1, g.Reject.Code, g.Reject.Field))
		}
	}
	if !reflect.DeepEqual(local, rejected) {
		t.Errorf("local dead letters: got %v, want %v", rejected, local)
	}
}

func TestMapSeedLeadGenerated(t *testing.T) {
	// The two calls of the Datafly Signal Zoho CRM seed, as envelopes
	// (DESIGN.md "Input"), and the payload Signal sends for them.
	identify := `{"type":"identify","messageId":"m-1","anonymousId":"a-1","userId":"user-123",
 "timestamp":"2026-11-28T10:00:00Z",
 "traits":{"email":"jane.doe@example.com","firstName":"Jane","lastName":"Doe","phone":"+44 7700 900123","company":"Acme Ltd"},
 "context":{"consent":{"categories":{"marketing":true,"analytics":false}}}}`
	lead := `{"type":"track","event":"Lead Generated","messageId":"m-2","anonymousId":"a-1","userId":"user-123",
 "properties":{"form_name":"Request a Demo","source":"Website"},
 "context":{"traits":{"email":"jane.doe@example.com","lastName":"Doe","company":"Acme Ltd"},"consent":{"canonical":["marketing"]}}}`
	m := leadPreset(t)
	a, b := m.Map([]byte(identify)), m.Map([]byte(lead))
	if a.Outcome != OutcomeDeliver || b.Outcome != OutcomeDeliver || a.Key != b.Key || a.Key != "jane.doe@example.com" {
		t.Fatalf("got %+v and %+v", a, b)
	}
	if a.Event != "identify" || b.Event != "lead_generated" {
		t.Errorf("events %q, %q", a.Event, b.Event)
	}
	wantA := map[string]any{"Email": "jane.doe@example.com", "First_Name": "Jane", "Last_Name": "Doe", "Phone": "+44 7700 900123", "Company": "Acme Ltd"}
	wantB := map[string]any{"Email": "jane.doe@example.com", "Last_Name": "Doe", "Company": "Acme Ltd", "Lead_Source": "Website", "Description": "Request a Demo"}
	if !reflect.DeepEqual(asMap(a.Record), wantA) {
		t.Errorf("identify: %v", a.Record)
	}
	if !reflect.DeepEqual(asMap(b.Record), wantB) {
		t.Errorf("lead generated: %v", b.Record)
	}
}

// ev builds a consented event around its type-specific members.
func ev(members string) []byte {
	return []byte(`{"messageId":"m",` + members + `,"context":{"consent":{"categories":{"marketing":true}}}}`)
}

func TestMapDecisions(t *testing.T) {
	m, err := NewMapper(MapperConfig{ConsentRequired: []string{"marketing"}, Events: []string{"Signup", "trial-started"}})
	if err != nil {
		t.Fatal(err)
	}
	const jane = `"traits":{"email":"jane@example.com"}`
	tests := []struct {
		name    string
		value   string
		outcome Outcome
		drop    DropReason
		code    string
		event   string
	}{
		{"tombstone", ``, OutcomeDrop, DropTombstone, "", ""},
		{"blank", "  \n", OutcomeReject, "", CodeDecodeError, ""},
		{"array", `[{"type":"identify"}]`, OutcomeReject, "", CodeDecodeError, ""},
		{"string", `"identify"`, OutcomeReject, "", CodeDecodeError, ""},
		{"null", `null`, OutcomeReject, "", CodeDecodeError, ""},
		{"garbage object", `{nope`, OutcomeReject, "", CodeDecodeError, "other"},
		{"empty object", `{}`, OutcomeDrop, DropNotCRM, "", "other"},
		{"truncated CRM event", `{"type":"identify","traits":{"email":"jane@example.com"`, OutcomeReject, "", CodeDecodeError, "identify"},
		{"truncated page view", `{"type":"page","properties":{"url":`, OutcomeReject, "", CodeDecodeError, "page"},
		{"unquoted type", `{"type":page,"properties":{}}`, OutcomeReject, "", CodeDecodeError, "other"},
		{"unquoted type identify", `{"type":identify,"traits":{"email":"jane@example.com"}}`, OutcomeReject, "", CodeDecodeError, "other"},
		{"page view with trailing garbage", `{"type":"page"} {"type":"page"}`, OutcomeReject, "", CodeDecodeError, "page"},
		{"page view with a control character", "{\"type\":\"page\",\"name\":\"a\x01b\"}", OutcomeReject, "", CodeDecodeError, "page"},
		{"page view nested too deep", `{"type":"page","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, OutcomeReject, "", CodeDecodeError, "page"},
		{"identify", string(ev(`"type":"identify",` + jane)), OutcomeDeliver, "", "", "identify"},
		{"identify type any case", string(ev(`"type":"IDENTIFY",` + jane)), OutcomeDeliver, "", "", "identify"},
		{"identify ignores its event", string(ev(`"type":"identify","event":"insert product",` + jane)), OutcomeDeliver, "", "", "identify"},
		{"track Identified", string(ev(`"type":"track","event":"Identified",` + jane)), OutcomeDeliver, "", "", "identify"},
		{"Lead Generated", string(ev(`"type":"track","event":"Lead Generated",` + jane)), OutcomeDeliver, "", "", "lead_generated"},
		{"lead_generated", string(ev(`"type":"track","event":"lead_generated",` + jane)), OutcomeDeliver, "", "", "lead_generated"},
		{"LEAD-GENERATED", string(ev(`"type":"track","event":"LEAD-GENERATED",` + jane)), OutcomeDeliver, "", "", "lead_generated"},
		{"leadGenerated", string(ev(`"type":"track","event":" leadGenerated ",` + jane)), OutcomeDeliver, "", "", "lead_generated"},
		{"Signed Up", string(ev(`"type":"track","event":"Signed Up",` + jane)), OutcomeDeliver, "", "", "signed_up"},
		{"signed_up", string(ev(`"type":"track","event":"signed_up",` + jane)), OutcomeDeliver, "", "", "signed_up"},
		{"tab in event name", string(ev(`"type":"track","event":"Lead\tGenerated",` + jane)), OutcomeDeliver, "", "", "lead_generated"},
		{"escaped event name", string(ev(`"type":"track","event":"Signed\u0020Up",` + jane)), OutcomeDeliver, "", "", "signed_up"},
		{"configured Signup", string(ev(`"type":"track","event":"signup",` + jane)), OutcomeDeliver, "", "", "signup"},
		{"configured Trial Started", string(ev(`"type":"track","event":"Trial Started",` + jane)), OutcomeDeliver, "", "", "trial_started"},
		{"event object", string(ev(`"type":"track","event":{"name":"Signed Up"},` + jane)), OutcomeDeliver, "", "", "signed_up"},
		{"event object without name", string(ev(`"type":"track","event":{"id":"Signed Up"},` + jane)), OutcomeDrop, DropNotCRM, "", "track"},
		{"no type, event", string(ev(`"event":"Lead Generated",` + jane)), OutcomeDeliver, "", "", "lead_generated"},
		{"no type, legacy action", string(ev(`"action":"identify",` + jane)), OutcomeDeliver, "", "", "identify"},
		{"no type, action track", string(ev(`"action":"track","event":"Signed Up",` + jane)), OutcomeDeliver, "", "", "signed_up"},
		{"null type, action", string(ev(`"type":null,"action":"identify",` + jane)), OutcomeDeliver, "", "", "identify"},
		{"type wins over action", string(ev(`"type":"page","action":"identify",` + jane)), OutcomeDrop, DropNotCRM, "", "page"},
		{"numeric type", string(ev(`"type":7,` + jane)), OutcomeDrop, DropNotCRM, "", "other"},
		{"unknown type", string(ev(`"type":"pageview",` + jane)), OutcomeDrop, DropNotCRM, "", "other"},
		{"page", string(ev(`"type":"page","name":"Home",` + jane)), OutcomeDrop, DropNotCRM, "", "page"},
		{"screen", string(ev(`"type":"screen",` + jane)), OutcomeDrop, DropNotCRM, "", "screen"},
		{"group", string(ev(`"type":"group",` + jane)), OutcomeDrop, DropNotCRM, "", "group"},
		{"alias", string(ev(`"type":"alias",` + jane)), OutcomeDrop, DropNotCRM, "", "alias"},
		{"other track", string(ev(`"type":"track","event":"Create Lead",` + jane)), OutcomeDrop, DropNotCRM, "", "track"},
		{"track without event", string(ev(`"type":"track","event":null,` + jane)), OutcomeDrop, DropNotCRM, "", "track"},
		{"track with numeric event", string(ev(`"type":"track","event":42,` + jane)), OutcomeDrop, DropNotCRM, "", "track"},
		{"identified is not identify for track", string(ev(`"type":"track","event":"Identify",` + jane)), OutcomeDrop, DropNotCRM, "", "track"},
		{"page without consent is not_crm first", `{"type":"page"}`, OutcomeDrop, DropNotCRM, "", "page"},
		{"CRM without consent", `{"type":"identify",` + jane + `}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"context null", `{"type":"identify",` + jane + `,"context":null}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"empty consent", `{"type":"identify",` + jane + `,"context":{"consent":{}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"category false", `{"type":"identify",` + jane + `,"context":{"consent":{"categories":{"marketing":false}}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"category string true", `{"type":"identify",` + jane + `,"context":{"consent":{"categories":{"marketing":"true"}}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"category missing", `{"type":"identify",` + jane + `,"context":{"consent":{"categories":{"analytics":true}}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"category other case", `{"type":"identify",` + jane + `,"context":{"consent":{"categories":{"Marketing":true}}}}`, OutcomeDeliver, "", "", "identify"},
		{"canonical list", `{"type":"identify",` + jane + `,"context":{"consent":{"canonical":["analytics","marketing"]}}}`, OutcomeDeliver, "", "", "identify"},
		{"canonical list without it", `{"type":"identify",` + jane + `,"context":{"consent":{"canonical":["analytics"]}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"explicit false beats list", `{"type":"identify",` + jane + `,"context":{"consent":{"categories":{"marketing":false},"canonical":["marketing"]}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"other consent shape", `{"type":"identify",` + jane + `,"context":{"consentManagement":{"allowedConsentIds":["marketing"]}}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"no consent and no email is no_consent", `{"type":"identify","traits":{}}`, OutcomeDrop, DropNoConsent, "", "identify"},
		{"missing email", string(ev(`"type":"identify","traits":{"firstName":"Jane"}`)), OutcomeReject, "", CodeMissingEmail, "identify"},
		{"email in properties", string(ev(`"type":"track","event":"Signed Up","properties":{"email":"jane@example.com"}`)), OutcomeReject, "", CodeMissingEmail, "signed_up"},
		{"email at top level", string(ev(`"type":"track","event":"Signed Up","email":"jane@example.com"`)), OutcomeReject, "", CodeMissingEmail, "signed_up"},
		{"email as userId", string(ev(`"type":"identify","userId":"jane@example.com","traits":{}`)), OutcomeReject, "", CodeMissingEmail, "identify"},
		{"blank email", string(ev(`"type":"identify","traits":{"email":"   "}`)), OutcomeReject, "", CodeMissingEmail, "identify"},
		{"email object", string(ev(`"type":"identify","traits":{"email":{"address":"jane@example.com"}}`)), OutcomeReject, "", CodeMissingEmail, "identify"},
		{"traits not an object", string(ev(`"type":"identify","traits":"jane@example.com"`)), OutcomeReject, "", CodeMissingEmail, "identify"},
		{"malformed email", string(ev(`"type":"identify","traits":{"email":"jane at example.com"}`)), OutcomeReject, "", CodeInvalidData, "identify"},
		{"numeric email", string(ev(`"type":"identify","traits":{"email":12345}`)), OutcomeReject, "", CodeInvalidData, "identify"},
		{"over-long email", string(ev(`"type":"identify","traits":{"email":"` + strings.Repeat("a", 89) + `@example.com"}`)), OutcomeReject, "", CodeInvalidData, "identify"},
		{"email of exactly 100", string(ev(`"type":"identify","traits":{"email":"` + strings.Repeat("a", 88) + `@example.com"}`)), OutcomeDeliver, "", "", "identify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Map([]byte(tt.value))
			if got.Outcome != tt.outcome || got.Drop != tt.drop || got.Reject.Code != tt.code || got.Event != tt.event {
				t.Fatalf("got %s drop=%q code=%q event=%q (%s); want %s drop=%q code=%q event=%q",
					got.Outcome, got.Drop, got.Reject.Code, got.Event, got.Reject.Message, tt.outcome, tt.drop, tt.code, tt.event)
			}
			if (got.Outcome == OutcomeDeliver) != (got.Record != nil) || (got.Outcome == OutcomeDeliver) != (got.Key != "") {
				t.Errorf("record %v and key %q on %s", got.Record.JSON(), got.Key, got.Outcome)
			}
			if got.Outcome == OutcomeReject && got.Reject.Code != CodeDecodeError && got.Reject.Field != FieldEmail {
				t.Errorf("field %q, want Email", got.Reject.Field)
			}
			if got.Outcome == OutcomeReject && strings.Contains(got.Reject.Message, "example.com") {
				t.Errorf("message leaks the email: %q", got.Reject.Message)
			}
			if got.Reject.Details != "" && !json.Valid([]byte(got.Reject.Details)) {
				t.Errorf("details %q are not JSON", got.Reject.Details)
			}
		})
	}
}

func TestMapNoConsentRequired(t *testing.T) {
	m, err := NewMapper(MapperConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map([]byte(`{"type":"identify","traits":{"email":"jane@example.com","lastName":"Doe"}}`))
	if got.Outcome != OutcomeDeliver {
		t.Fatalf("got %+v", got)
	}
	if got := m.Map([]byte(`{"type":"track","event":"Signup","traits":{"email":"jane@example.com"}}`)); got.Drop != DropNotCRM {
		t.Fatalf("Signup without configuration: %+v", got)
	}
}

func TestMapRecord(t *testing.T) {
	m, err := NewMapper(MapperConfig{Fields: []FieldMapping{
		{From: "traits.plan", To: "Plan"},
		{From: "context.traits.tier", To: "Tier"},
		{From: "properties.utm_source", To: "Lead_Source"},
		{From: "traits.address.city", To: "City"},
		{From: "traits.newsletter", To: "Newsletter_Opt_In"},
		{From: "traits.tags", To: "Tags"},
		{From: "properties.seats", To: "No_of_Seats"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value string
		want  map[string]any
	}{
		{"display-name keys", `{"type":"identify","traits":{"email":"a@example.com","firstName":"Ann","lastName":"Lee","phone":"+1 555","company":"Acme"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee", "Phone": "+1 555", "Company": "Acme"}},
		{"snake_case keys", `{"type":"identify","traits":{"email":"a@example.com","first_name":"Ann","last_name":"Lee"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee"}},
		{"lowercase keys", `{"type":"identify","traits":{"email":"a@example.com","firstname":"Ann","lastname":"Lee"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee"}},
		{"CRM-style keys", `{"type":"identify","traits":{"Email":"a@example.com","First_Name":"Ann","Last-Name":"Lee","PHONE":"1","Company":"Acme"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee", "Phone": "1", "Company": "Acme"}},
		{"spaced keys", `{"type":"identify","traits":{"E mail":"a@example.com","First Name":"Ann"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann"}},
		{"exact spelling wins", `{"type":"identify","traits":{"email":"a@example.com","first_name":"Snake","firstName":"Camel","FIRSTNAME":"Upper"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Camel"}},
		{"usable spelling wins over empty", `{"type":"identify","traits":{"email":"","Email":"a@example.com"}}`,
			map[string]any{"Email": "a@example.com"}},
		{"email trimmed, case kept", `{"type":"identify","traits":{"email":"  Ann.Lee@Example.COM\t"}}`,
			map[string]any{"Email": "Ann.Lee@Example.COM"}},
		{"strings trimmed, empty not sent", `{"type":"identify","traits":{"email":"a@example.com","firstName":"  Ann ","lastName":"","phone":"   "}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann"}},
		{"name split", `{"type":"identify","traits":{"email":"a@example.com","name":"  Mary  Ann   van Lee "}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Mary Ann van", "Last_Name": "Lee"}},
		{"name one word", `{"type":"identify","traits":{"email":"a@example.com","name":"Cher"}}`,
			map[string]any{"Email": "a@example.com", "Last_Name": "Cher"}},
		{"name ignored with a first name", `{"type":"identify","traits":{"email":"a@example.com","firstName":"Ann","name":"Mary Lee"}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann"}},
		{"name ignored with a last name", `{"type":"identify","traits":{"email":"a@example.com","last_name":"Lee","name":"Mary Jones"}}`,
			map[string]any{"Email": "a@example.com", "Last_Name": "Lee"}},
		{"company object", `{"type":"identify","traits":{"email":"a@example.com","company":{"name":" Globex ","industry":"x"}}}`,
			map[string]any{"Email": "a@example.com", "Company": "Globex"}},
		{"company object without name", `{"type":"identify","traits":{"email":"a@example.com","company":{"id":7}}}`,
			map[string]any{"Email": "a@example.com"}},
		{"numbers", `{"type":"identify","traits":{"email":"a@example.com","phone":4155550123,"company":1.50e2,"firstName":99.0,"lastName":-0.0000250}}`,
			map[string]any{"Email": "a@example.com", "Phone": "4155550123", "Company": "150", "First_Name": "99", "Last_Name": "-0.000025"}},
		{"big integer exact", `{"type":"identify","traits":{"email":"a@example.com","phone":12345678901234567890123}}`,
			map[string]any{"Email": "a@example.com", "Phone": "12345678901234567890123"}},
		{"booleans arrays objects null not mapped", `{"type":"identify","traits":{"email":"a@example.com","firstName":true,"lastName":["Lee"],"phone":{"n":"1"},"company":null}}`,
			map[string]any{"Email": "a@example.com"}},
		{"context.traits then traits on top", `{"type":"identify","traits":{"email":"top@example.com","firstName":"Top","lastName":""},"context":{"traits":{"email":"ctx@example.com","firstName":"Ctx","lastName":"CtxLast","phone":"1"}}}`,
			map[string]any{"Email": "top@example.com", "First_Name": "Top", "Last_Name": "CtxLast", "Phone": "1"}},
		{"context.traits only", `{"type":"track","event":"Signed Up","traits":{},"context":{"traits":{"email":"ctx@example.com","name":"Sam Ctx"}}}`,
			map[string]any{"Email": "ctx@example.com", "First_Name": "Sam", "Last_Name": "Ctx"}},
		{"name split across sources", `{"type":"identify","traits":{"email":"a@example.com","name":"Top Name"},"context":{"traits":{"name":"Ctx Name"}}}`,
			map[string]any{"Email": "a@example.com", "First_Name": "Top", "Last_Name": "Name"}},
		{"properties are not identity", `{"type":"identify","traits":{"email":"a@example.com"},"properties":{"firstName":"Prop","company":"PropCo"}}`,
			map[string]any{"Email": "a@example.com"}},
		{"lead generated properties", `{"type":"track","event":"lead_generated","traits":{"email":"a@example.com"},"properties":{"Source":" Website ","formName":"Request a Demo"}}`,
			map[string]any{"Email": "a@example.com", "Lead_Source": "Website", "Description": "Request a Demo"}},
		{"source only on lead generated", `{"type":"track","event":"Signed Up","traits":{"email":"a@example.com"},"properties":{"source":"Website","form_name":"x"}}`,
			map[string]any{"Email": "a@example.com"}},
		{"configured mappings", `{"type":"identify","traits":{"email":"a@example.com","plan":" pro ","address":{"City":"Oslo"},"newsletter":false,"tags":["a"]},"context":{"traits":{"plan":"free","tier":3}},"properties":{"seats":12.0}}`,
			map[string]any{"Email": "a@example.com", "Plan": "pro", "Tier": "3", "City": "Oslo", "Newsletter_Opt_In": false, "No_of_Seats": "12"}},
		{"configured traits fall back to context.traits", `{"type":"identify","traits":{"email":"a@example.com","plan":""},"context":{"traits":{"plan":"free"}}}`,
			map[string]any{"Email": "a@example.com", "Plan": "free"}},
		{"configured mapping overrides preset", `{"type":"track","event":"Lead Generated","traits":{"email":"a@example.com"},"properties":{"source":"Website","utm_source":"newsletter"}}`,
			map[string]any{"Email": "a@example.com", "Lead_Source": "newsletter"}},
		{"unicode", `{"type":"identify","traits":{"email":"zoe@example.com","first_name":"Zoë","last_name":"Żurawski"}}`,
			map[string]any{"Email": "zoe@example.com", "First_Name": "Zoë", "Last_Name": "Żurawski"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Map([]byte(tt.value))
			if got.Outcome != OutcomeDeliver {
				t.Fatalf("got %s %q %q (%s)", got.Outcome, got.Drop, got.Reject.Code, got.Reject.Message)
			}
			if !reflect.DeepEqual(asMap(got.Record), tt.want) {
				t.Errorf("record\n got  %#v\n want %#v", got.Record, tt.want)
			}
			if want := strings.ToLower(tt.want["Email"].(string)); got.Key != want {
				t.Errorf("key %q, want %q", got.Key, want)
			}
		})
	}
}

func TestMapDeterministicKeyChoice(t *testing.T) {
	// Several spellings of one trait: the choice must not depend on map
	// iteration order.
	m := leadPreset(t)
	v := []byte(`{"type":"identify","traits":{"email":"a@example.com","first-name":"A","first_name":"B","First_Name":"C","FirstName":"D"},"context":{"consent":{"canonical":["marketing"]}}}`)
	for range 50 {
		if got := asMap(m.Map(v).Record)["First_Name"]; got != "D" {
			t.Fatalf("First_Name %v, want D (equal to firstName ignoring case)", got)
		}
	}
	v = []byte(`{"type":"identify","traits":{"email":"a@example.com","first-name":"A","first_name":"B"},"context":{"consent":{"canonical":["marketing"]}}}`)
	for range 50 {
		if got := asMap(m.Map(v).Record)["First_Name"]; got != "A" {
			t.Fatalf("First_Name %v, want A (byte order)", got)
		}
	}
}

func TestEmailValidation(t *testing.T) {
	valid := []string{
		"jane@example.com", "Jane.Doe+crm@sub.example.co.uk", "o'brien@example.ie", "x_y-z@example-mail.com",
		"名前@例え.jp", "user@xn--bcher-kva.example", strings.Repeat("a", 88) + "@example.com",
	}
	invalid := []string{
		"jane", "jane@", "@example.com", "jane@@example.com", "a@b@example.com", "jane@example",
		"jane doe@example.com", "jane@exa mple.com", "jane@example..com", "jane@.example.com", "jane@example.com.",
		".jane@example.com", "jane.@example.com", "ja..ne@example.com", "jane@-example.com", "jane@example-.com",
		"jane@exam_ple.com", "<jane@example.com>", "jane@example.com,bob@example.com", "jane;@example.com",
		"x' OR id IS NOT NULL OR id != '", "jane\x00@example.com", "jane@ex\x7fample.com", "\"jane\"@example.com",
		"jane@example.com\u00a0x", strings.Repeat("a", 89) + "@example.com",
	}
	for _, e := range valid {
		if rej, ok := checkEmail(e); !ok {
			t.Errorf("%q rejected: %s", e, rej.Message)
		}
	}
	for _, e := range invalid {
		rej, ok := checkEmail(e)
		if ok {
			t.Errorf("%q accepted", e)
			continue
		}
		if rej.Code != CodeInvalidData || rej.Field != FieldEmail || !json.Valid([]byte(rej.Details)) {
			t.Errorf("%q: %+v", e, rej)
		}
	}
	// Length counts characters, not bytes, as Zoho's field length does.
	if _, ok := checkEmail(strings.Repeat("é", 88) + "@example.com"); !ok {
		t.Error("100 characters (more bytes) rejected")
	}
}

func TestNewMapperErrors(t *testing.T) {
	_, err := NewMapper(MapperConfig{
		Module:          "Subscriptions", // no preset dedupe: zoho.duplicate_check_fields is required
		ConsentRequired: []string{"marketing", " "},
		Events:          []string{"Signup", " - ", strings.Repeat("x", 200), ""},
		Fields: []FieldMapping{
			{From: "traits.plan", To: "Plan"},
			{From: "plan", To: "Plan_1"},
			{From: "traits.", To: "Plan_2"},
			{From: "traits.a..b", To: "Plan_3"},
			{From: "properties.x", To: ""},
			{From: "properties.x", To: "Bad Name"},
			{From: "traits.mail", To: "Email"},
			{From: "userId", To: "1st"},
			{From: "traits._", To: "Plan"},
			{From: "", To: "Plan_4"},
			{From: "traits." + strings.Repeat("k", 129), To: "Plan_5"},
			{From: "traits.source", Value: "Website", To: "Plan_6"},
			{Value: "  ", To: "Plan_7"},
		},
	})
	if !errors.Is(err, ErrInvalidMapperConfig) {
		t.Fatalf("err = %v", err)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("not a joined error: %v", err)
	}
	var keys []string
	for _, e := range joined.Unwrap() {
		var ce *ConfigError
		if !errors.As(e, &ce) || !errors.Is(e, ErrInvalidMapperConfig) || ce.Problem == "" || e.Error() != ce.Key+": "+ce.Problem {
			t.Errorf("%v is not a *ConfigError wrapping ErrInvalidMapperConfig", e)
			continue
		}
		keys = append(keys, ce.Key)
	}
	want := []string{
		"zoho.duplicate_check_fields", "consent.required[1]", "mapping.events[1]", "mapping.events[2]", "mapping.events[3]",
		"mapping.fields[1].from", "mapping.fields[2].from", "mapping.fields[3].from", "mapping.fields[4].to",
		"mapping.fields[5].to", "mapping.fields[6].to", "mapping.fields[7].from", "mapping.fields[7].to",
		"mapping.fields[8].from", "mapping.fields[8].to", "mapping.fields[9]", "mapping.fields[10].from",
		"mapping.fields[11]", "mapping.fields[12].value",
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("problems at\n %q\nwant\n %q\n%v", keys, want, err)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OutcomeDrop: "drop", OutcomeReject: "reject", OutcomeDeliver: "deliver", 0: "unknown"} {
		if o.String() != want {
			t.Errorf("%d: %q", o, o.String())
		}
	}
}

func TestMapConcurrent(t *testing.T) {
	// A Mapper is shared by all partitions' goroutines (run with -race).
	m := leadPreset(t)
	lines := ndjsonLines(t, "../testdata/samples.ndjson")
	want := make([]Mapped, len(lines))
	for i, l := range lines {
		want[i] = m.Map(l)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, l := range lines {
				if got := m.Map(l); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("line %d: %+v, want %+v", i+1, got, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func TestMapDoesNotKeepValue(t *testing.T) {
	// The record must not alias the value's memory: Kafka clients reuse
	// buffers.
	m := leadPreset(t)
	v := []byte(`{"type":"identify","traits":{"email":"a@example.com","firstName":"Ann"},"context":{"consent":{"canonical":["marketing"]}}}`)
	got := m.Map(v)
	for i := range v {
		v[i] = 'x'
	}
	if asMap(got.Record)["First_Name"] != "Ann" || got.Key != "a@example.com" || got.Event != "identify" {
		t.Fatalf("record changed with the value: %v %q %q", got.Record, got.Key, got.Event)
	}
}

// pageView is a realistic ~1 KB analytics.js page view with consent.
var pageView = []byte(`{"type":"page","messageId":"ajs-next-1731234567890-2f1e4c3b-8a9d-4e5f-b6c7-d8e9f0a1b2c3","anonymousId":"507f191e-810c-4972-9de8-60ea5b093db1","userId":"user-8821","timestamp":"2026-11-28T10:00:00.123Z","sentAt":"2026-11-28T10:00:00.456Z","name":"Pricing","properties":{"name":"Pricing","path":"/pricing","referrer":"https://www.google.com/","search":"?utm_source=google&utm_medium=cpc&utm_campaign=brand","title":"Pricing | Acme Anvils","url":"https://www.example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand"},"context":{"ip":"203.0.113.8","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"en-GB","page":{"path":"/pricing","referrer":"https://www.google.com/","search":"?utm_source=google&utm_medium=cpc&utm_campaign=brand","title":"Pricing | Acme Anvils","url":"https://www.example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand"},"campaign":{"name":"brand","source":"google","medium":"cpc"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","screen":{"width":1512,"height":982,"density":2},"timezone":"Europe/London","consent":{"categories":{"marketing":true,"analytics":true}}},"integrations":{"All":true},"writeKey":"wk_9f8e7d6c5b4a"}`)

// pageViewTypeLast is the same page view with `type` as the last member.
var pageViewTypeLast = append(append(bytes.TrimSuffix(bytes.Replace(pageView, []byte(`"type":"page",`), nil, 1), []byte("}")), `,"type":"page"`...), '}')

// pageViewUTF8 is the page view with non-ASCII titles (the case where
// validJSON runs utf8.Valid over the value).
var pageViewUTF8 = bytes.ReplaceAll(pageView, []byte(`Pricing | Acme Anvils`), []byte(`Preise – Müller Ambosse`))

// leadEvent is a realistic Lead Generated track.
var leadEvent = []byte(`{"type":"track","event":"Lead Generated","messageId":"ajs-next-1731234567891-3a2b1c0d","anonymousId":"507f191e-810c-4972-9de8-60ea5b093db1","userId":"user-8821","timestamp":"2026-11-28T10:01:00.000Z","properties":{"form_name":"Request a Demo","source":"Website","plan":"enterprise","seats":25},"context":{"ip":"203.0.113.8","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"en-GB","page":{"path":"/demo","title":"Request a demo","url":"https://www.example.com/demo"},"traits":{"email":"jane.doe@example.com","firstName":"Jane","lastName":"Doe","phone":"+44 7700 900123","company":"Acme Ltd"},"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","consent":{"categories":{"marketing":true,"analytics":true}}}}`)

func TestBenchmarkInputs(t *testing.T) {
	m := leadPreset(t)
	for name, v := range map[string][]byte{"first": pageView, "last": pageViewTypeLast} {
		if !json.Valid(v) {
			t.Fatalf("%s: invalid JSON", name)
		}
		if got := m.Map(v); got.Drop != DropNotCRM || got.Event != "page" {
			t.Fatalf("%s: %+v", name, got)
		}
	}
	if got := m.Map(leadEvent); got.Outcome != OutcomeDeliver || len(got.Record) != 7 {
		t.Fatalf("lead: %+v", got)
	}
	if n := testing.AllocsPerRun(100, func() { m.Map(pageView) }); n != 0 {
		t.Errorf("dropping a page view allocates %v times", n)
	}
}

func BenchmarkMapPageView(b *testing.B) {
	m := leadPreset(b)
	for _, bc := range []struct {
		name  string
		value []byte
	}{{"type_first", pageView}, {"type_last", pageViewTypeLast}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.value)))
			for b.Loop() {
				if m.Map(bc.value).Outcome != OutcomeDrop {
					b.Fatal("not dropped")
				}
			}
		})
	}
}

// BenchmarkValidJSON times the drop path's validating pass over a page view
// (ASCII, and with non-ASCII titles: utf8.Valid runs too) and a lead:
// validJSON next to gjson.Valid, the library validator it
// replaced (see valid.go), in the same run so that a loaded machine disturbs
// both alike.
func BenchmarkValidJSON(b *testing.B) {
	for _, bc := range []struct {
		name  string
		value []byte
	}{{"page_view", pageView}, {"page_view_utf8", pageViewUTF8}, {"lead", leadEvent}} {
		b.Run(bc.name+"/validJSON", func(b *testing.B) {
			b.SetBytes(int64(len(bc.value)))
			for b.Loop() {
				validJSON(bc.value)
			}
		})
		b.Run(bc.name+"/gjson.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(bc.value)))
			for b.Loop() {
				gjson.ValidBytes(bc.value)
			}
		})
	}
}

func BenchmarkMapLead(b *testing.B) {
	m := leadPreset(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(leadEvent)))
	for b.Loop() {
		if m.Map(leadEvent).Outcome != OutcomeDeliver {
			b.Fatal("not delivered")
		}
	}
}

// BenchmarkMapLeadTyped is BenchmarkMapLead with the Leads module's Fields
// metadata: every value goes through its field's converter, plus a
// configured integer (properties.seats → No_of_Employees).
func BenchmarkMapLeadTyped(b *testing.B) {
	fields := staticFields{
		{APIName: "Email", DataType: "email", Length: 100}, {APIName: "First_Name", DataType: "text", Length: 40},
		{APIName: "Last_Name", DataType: "text", Length: 80}, {APIName: "Phone", DataType: "phone", Length: 30},
		{APIName: "Company", DataType: "text", Length: 200}, {APIName: "Lead_Source", DataType: "picklist", Length: 120},
		{APIName: "Description", DataType: "textarea", Length: 32000}, {APIName: "No_of_Employees", DataType: "integer", Length: 9},
	}
	cache, err := fieldcache.New(fieldcache.Options{Source: fields, Modules: []string{"Leads"}})
	if err != nil || cache.Refresh(context.Background(), "Leads") != nil {
		b.Fatal(err)
	}
	m, err := NewMapper(MapperConfig{
		ConsentRequired: []string{"marketing"},
		Fields:          []FieldMapping{{From: "properties.seats", To: "No_of_Employees"}},
		Metadata:        func() *fieldcache.Snapshot { return cache.Snapshot("Leads") },
	})
	if err != nil {
		b.Fatal(err)
	}
	if got := m.Map(leadEvent); string(got.Record.Get("No_of_Employees")) != "25" || len(got.Record) != 8 {
		b.Fatalf("record %s", got.Record.JSON())
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(leadEvent)))
	for b.Loop() {
		if m.Map(leadEvent).Outcome != OutcomeDeliver {
			b.Fatal("not delivered")
		}
	}
}

// staticFields is a fieldcache.Source answering the same fields.
type staticFields []zohoapi.Field

func (f staticFields) Fields(context.Context, string) ([]zohoapi.Field, error) { return f, nil }

// TestDecodeErrorMessages: the dead-letter message says what is wrong with a
// value that is not a JSON object: not JSON at all, or JSON of another kind.
func TestDecodeErrorMessages(t *testing.T) {
	m, err := NewMapper(MapperConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for value, want := range map[string]string{
		`not json`:    "the value is not valid JSON",
		`hello world`: "the value is not valid JSON",
		`{bad`:        "the value is not valid JSON",
		`[1,2]`:       "the value is JSON but not a JSON object",
		`"a string"`:  "the value is JSON but not a JSON object",
		`null`:        "the value is JSON but not a JSON object",
	} {
		got := m.Map([]byte(value))
		if got.Outcome != OutcomeReject || got.Reject.Code != CodeDecodeError || got.Reject.Message != want {
			t.Errorf("Map(%q) = %+v, want DECODE_ERROR %q", value, got, want)
		}
	}
}

// asMap decodes a record's JSON (as sent to Zoho) into a map, for comparing
// with expectations written as maps; nil for a nil record.
func asMap(r zohoapi.Record) map[string]any {
	if r == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.JSON(), &m); err != nil {
		panic(fmt.Sprintf("record %s is not a JSON object: %v", r.JSON(), err))
	}
	return m
}
