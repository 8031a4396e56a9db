package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/simtest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// countingFields counts the Fields metadata reads that go through it; with
// fail set, it refuses them as an unreachable Zoho would.
type countingFields struct {
	next  fieldcache.Source
	reads atomic.Int64
	fail  bool
}

func (c *countingFields) Fields(ctx context.Context, module string) ([]zohoapi.Field, error) {
	c.reads.Add(1)
	if c.fail {
		return nil, errors.New("zoho request: dial tcp: connection refused")
	}
	return c.next.Fields(ctx, module)
}

// typedTraits: one trait per field type of zohosim.FieldsOfEveryType, a
// value Zoho refuses as sent, and the value stored once converted.
var typedTraits = simtest.EveryType()

// typedEvent is an identify event of email with every typedTraits value, the
// trait for Integer_Field replaced by integer when set.
func typedEvent(email, integer string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"identify","userId":%q,"context":{"consent":{"categories":{"marketing":true}}},"traits":{"email":%q`, email, email)
	for f, v := range typedTraits {
		in := v.In
		if f == "Integer_Field" && integer != "" {
			in = integer
		}
		fmt.Fprintf(&b, `,"t_%s":%s`, f, in)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

// TestTypedMappingEndToEnd: a custom module with a field of every type in
// the simulator, zoho.module set to it and Email as duplicate check field;
// one trait is mapped to each field. The values the simulator stores are the
// typed conversions (sent as they are, the simulator refuses every one but
// text: fieldvalue's TestConvertedValuesAcceptedBySimulator). A value that
// does not convert ("1-2 People" for an integer) is left out of an
// otherwise delivered record and counted; with mapping.invalid_values
// dead_letter that record is dead-lettered with INVALID_DATA, the field and
// Zoho's expected_data_type instead.
func TestTypedMappingEndToEnd(t *testing.T) {
	for _, mode := range []string{mapping.InvalidValuesOmit, mapping.InvalidValuesDeadLetter} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, 1, zohosim.Options{})
			o := h.options()
			module := typedModuleIn(h, &o, h.zohoClient(), mode)
			r := h.start(o)
			h.produce(typedEvent("good@example.com", ""), typedEvent("bad@example.com", `"1-2 People"`))
			h.waitCommitted(30 * time.Second)

			stored := map[string]map[string]any{}
			for _, rec := range h.sim.Records(module) {
				stored[fmt.Sprint(rec["Email"])] = rec
			}
			good, ok := stored["good@example.com"]
			if !ok {
				t.Fatalf("good@ not stored; records %v", h.sim.Records(module))
			}
			for f, v := range typedTraits {
				var want any
				_ = json.Unmarshal([]byte(v.Stored), &want)
				if got := good[f]; !reflect.DeepEqual(jsonValue(got), want) {
					t.Errorf("%s stored %#v, want %s", f, got, v.Stored)
				}
			}
			s := scrapeMetrics(t, r.p.Handler())
			omitted, _ := s.value("zohosink_mapping_values_omitted_total", map[string]string{"field": "Integer_Field", "reason": "not_a_number"})
			if mode == mapping.InvalidValuesOmit {
				bad, ok := stored["bad@example.com"]
				if _, has := bad["Integer_Field"]; !ok || has || bad["Text_Field"] != "Acme" {
					t.Fatalf("bad@ stored %v (found %v), want it without Integer_Field", bad, ok)
				}
				if omitted != 1 {
					t.Errorf("omitted{Integer_Field,not_a_number} = %v, want 1", omitted)
				}
				if v, ok := s.value("zohosink_mapping_values_omitted_total", map[string]string{"field": "Date_Field", "reason": "bad_date"}); !ok || v != 0 {
					t.Errorf("omitted{Date_Field,bad_date} = %v (exists %v), want a series at 0", v, ok)
				}
				return
			}
			if _, ok := stored["bad@example.com"]; ok || omitted != 0 {
				t.Fatalf("bad@ stored (%v) or counted as omitted (%v) in dead_letter mode", ok, omitted)
			}
			d, err := dlq.Parse(h.deadLetters(1)[0])
			if err != nil {
				t.Fatal(err)
			}
			if d.Code != mapping.CodeInvalidData || d.Field != "Integer_Field" || !strings.Contains(string(d.Details), `"expected_data_type":"integer"`) {
				t.Errorf("dead letter %s %s %s, want INVALID_DATA on Integer_Field expecting integer", d.Code, d.Field, d.Details)
			}
		})
	}
}

// jsonValue normalises a stored value as JSON decodes it ([]string → []any).
func jsonValue(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestInvalidDataNamingAFieldRefreshesMetadata: Zoho answers INVALID_DATA
// naming a field (here a mapping target the module lacks, so that every
// record is refused; among MANDATORY_NOT_FOUND in MULTIPLE_OR_MULTI_ERRORS,
// as the simulator answers a lead without Last_Name and Company); the pipeline reads the Fields metadata once more, and
// only once for the burst (zoho.fields_min_stale_interval). At start it
// warns about that target, naming it and its key.
func TestInvalidDataNamingAFieldRefreshesMetadata(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	src := &countingFields{next: h.zohoClient()}
	core, logs := observer.New(zapcore.WarnLevel)
	o := h.options()
	o.Logger = zap.New(core)
	o.Fields, o.FieldsRefreshInterval, o.FieldsMinStaleInterval = src, time.Hour, time.Hour
	o.Mapping.Fields = []mapping.FieldMapping{{From: "traits.plan", To: "Plan_Typo"}}
	o.Batch.MaxRecords = 1
	h.start(o)
	var events [][]byte
	for i := range 5 {
		events = append(events, event("identify", "", map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "plan": "pro"}, nil, fmt.Sprint(i)))
	}
	h.produce(events...)
	h.waitCommitted(30 * time.Second)
	if n := len(h.deadLetters(5)); n != 5 {
		t.Fatalf("%d dead letters, want 5", n)
	}
	h.eventually(10*time.Second, "the metadata is read again after INVALID_DATA", func() bool { return src.reads.Load() >= 2 })
	if n := src.reads.Load(); n != 2 {
		t.Errorf("%d metadata reads, want 2 (at start, and once after the INVALID_DATA answers)", n)
	}
	warned := logs.FilterMessage("mapping does not fit the module's fields").FilterField(zap.String("key", "mapping.fields[0].to")).All()
	if len(warned) != 1 || !strings.Contains(fmt.Sprint(warned[0].ContextMap()["problem"]), "Plan_Typo") {
		t.Errorf("start warnings %v, want one naming Plan_Typo at mapping.fields[0].to", logs.All())
	}
}

// TestFieldsMetadataUnreachableAtStart: when the Fields metadata cannot be
// read, delivery goes on as without typed conversion (a number mapped to a
// text field is sent as its text, a boolean as is), and the problem shows:
// zohosink_zoho_fields_metadata_missing is 1, the failed reads are counted,
// and one warning is logged. Start retried the read, and consuming began
// within the 30 s bound README states.
func TestFieldsMetadataUnreachableAtStart(t *testing.T) {
	t.Parallel() // it waits out real time (retries, a mint wait, an outage), not the CPU
	h := newHarness(t, 1, zohosim.Options{})
	src := &countingFields{next: h.zohoClient(), fail: true}
	core, logs := observer.New(zapcore.InfoLevel)
	o := h.options()
	o.Logger = zap.New(core)
	o.Fields, o.FieldsRefreshInterval, o.FieldsMinStaleInterval = src, time.Hour, time.Hour
	o.Mapping.Fields = []mapping.FieldMapping{{From: "traits.employees", To: "Description"}, {From: "traits.optout", To: "Email_Opt_Out"}}
	r := h.start(o)
	h.produce(event("identify", "", map[string]any{"email": "a@example.com", "lastName": "A", "company": "C", "employees": 250, "optout": true}, nil, "a"))
	h.waitCommitted(30 * time.Second)
	lead, ok := h.sim.Lead("a@example.com")
	if !ok || lead["Description"] != "250" || lead["Email_Opt_Out"] != true {
		t.Fatalf("lead %v (stored %v), want Description \"250\" and Email_Opt_Out true", lead, ok)
	}
	s := scrapeMetrics(t, r.p.Handler())
	if v, ok := s.value("zohosink_zoho_fields_metadata_missing", map[string]string{"module": "Leads"}); !ok || v != 1 {
		t.Errorf("fields_metadata_missing = %v (exists %v), want 1", v, ok)
	}
	if v, _ := s.value("zohosink_zoho_fields_metadata_reads_total", map[string]string{"outcome": "failed"}); v < 1 {
		t.Errorf("failed metadata reads = %v, want ≥ 1", v)
	}
	warned := logs.FilterMessage("cannot read the Fields metadata of the module: mapped values are sent untyped until it is read").All()
	if len(warned) != 1 {
		t.Fatalf("%d warnings about the metadata, want 1; logs %v", len(warned), logs.All())
	}
	consuming := logs.FilterMessage("consuming").All()
	if len(consuming) != 1 {
		t.Fatalf("%d consuming lines, want 1", len(consuming))
	}
	// The warning is logged at the first failed read; consuming starts once
	// no further attempt fits in fieldsReadTimeout (30 s).
	if took := consuming[0].Time.Sub(warned[0].Time); took > 32*time.Second {
		t.Errorf("consuming began %v after the first failed metadata read, want ≤ 30 s", took)
	}
	if n := src.reads.Load(); n < 2 {
		t.Errorf("%d metadata reads, want ≥ 2: start retries a transient failure", n)
	}
}

// TestDeadLetterNamesOmittedValues: with mapping.invalid_values omit, a
// mandatory Last_Name given but too long for the field (80 characters) is
// left out, and Zoho answers MANDATORY_NOT_FOUND; the dead letter says that
// a value was given and left out, and why, in error.message and in
// error.details ("omitted"), keeping Zoho's own details.
func TestDeadLetterNamesOmittedValues(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	o := h.options()
	o.Fields, o.FieldsRefreshInterval, o.FieldsMinStaleInterval = h.zohoClient(), time.Hour, time.Minute
	o.Mapping.InvalidValues = mapping.InvalidValuesOmit
	o.Mapping.Fields = []mapping.FieldMapping{{From: "traits.employees", To: "No_of_Employees"}}
	h.start(o)
	h.produce(event("identify", "", map[string]any{"email": "long@example.com", "lastName": strings.Repeat("L", 81), "company": "Acme", "employees": "1-2 People"}, nil, "1"))
	h.waitCommitted(30 * time.Second)
	d, err := dlq.Parse(h.deadLetters(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Code != "MANDATORY_NOT_FOUND" || d.Field != "Last_Name" {
		t.Fatalf("dead letter %s %s, want MANDATORY_NOT_FOUND on Last_Name", d.Code, d.Field)
	}
	if !strings.Contains(d.Message, "left out") || !strings.Contains(d.Message, "Last_Name (too_long)") || !strings.Contains(d.Message, "No_of_Employees (not_a_number)") {
		t.Errorf("error.message %q does not say which values were left out and why", d.Message)
	}
	var details struct {
		APIName string `json:"api_name"`
		Omitted []struct{ Field, Reason string }
	}
	if err := json.Unmarshal(d.Details, &details); err != nil {
		t.Fatalf("error.details %s: %v", d.Details, err)
	}
	want := []struct{ Field, Reason string }{{"Last_Name", "too_long"}, {"No_of_Employees", "not_a_number"}}
	if details.APIName != "Last_Name" || !reflect.DeepEqual(details.Omitted, want) {
		t.Errorf("error.details %s, want Zoho's api_name and omitted %v", d.Details, want)
	}
	if strings.Contains(d.Message, strings.Repeat("L", 81)) || strings.Contains(string(d.Details), "1-2 People") {
		t.Errorf("the dead letter's error headers hold the values: %q %s", d.Message, d.Details)
	}
}

// TestDeadLetterNamesEveryInvalidValue: with mapping.invalid_values
// dead_letter, a record with several values that do not convert is
// dead-lettered once naming every one: error.field comma-separated in field
// order (as for Zoho's MULTIPLE_OR_MULTI_ERRORS), error.details.errors[]
// one INVALID_DATA per field with its expected_data_type, so that one
// replay after fixing them all succeeds; dlq's Fields lists them all.
func TestDeadLetterNamesEveryInvalidValue(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	o := h.options()
	module := everyTypeModule(h, &o, h.zohoClient(), mapping.InvalidValuesDeadLetter)
	bad := map[string]string{ // field → expected_data_type
		"Integer_Field": "integer", "Boolean_Field": "boolean", "Date_Field": "date", "Multiselectpicklist_Field": "jsonarray",
	}
	order := []string{"Integer_Field", "Boolean_Field", "Date_Field", "Multiselectpicklist_Field"}
	for _, f := range append([]string{"Text_Field"}, order...) {
		o.Mapping.Fields = append(o.Mapping.Fields, mapping.FieldMapping{From: "traits.t_" + f, To: f})
	}
	h.start(o)
	h.produce([]byte(`{"type":"identify","context":{"consent":{"categories":{"marketing":true}}},"traits":{"email":"bad@example.com",` +
		`"t_Text_Field":"Acme","t_Integer_Field":"many","t_Boolean_Field":"maybe","t_Date_Field":20261128,"t_Multiselectpicklist_Field":true}}`))
	h.waitCommitted(30 * time.Second)
	d, err := dlq.Parse(h.deadLetters(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Code != mapping.CodeInvalidData || d.Field != strings.Join(order, ",") || !reflect.DeepEqual(d.Fields(), order) {
		t.Fatalf("dead letter %s %q (fields %v), want INVALID_DATA naming %v", d.Code, d.Field, d.Fields(), order)
	}
	var details struct {
		Errors []struct {
			Code    string
			Details struct {
				APIName          string `json:"api_name"`
				ExpectedDataType string `json:"expected_data_type"`
			}
		}
	}
	if err := json.Unmarshal(d.Details, &details); err != nil || len(details.Errors) != len(order) {
		t.Fatalf("error.details %s (%v), want one error per field", d.Details, err)
	}
	for i, e := range details.Errors {
		if e.Code != mapping.CodeInvalidData || e.Details.APIName != order[i] || e.Details.ExpectedDataType != bad[order[i]] {
			t.Errorf("errors[%d] = %+v, want INVALID_DATA on %s expecting %s", i, e, order[i], bad[order[i]])
		}
	}
	for _, f := range order {
		if !strings.Contains(d.Message, f) {
			t.Errorf("error.message %q does not name %s", d.Message, f)
		}
	}
	if len(h.sim.Records(module)) != 0 {
		t.Errorf("records stored: %v", h.sim.Records(module))
	}
}
