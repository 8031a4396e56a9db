package mapping_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zohosink/zohosink/internal/simtest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/mapping/fieldvalue"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// simFields starts a simulator with module Subscriptions (a field of every
// type, zohosim.FieldsOfEveryType) and returns a field cache of it, filled
// from the simulator's Fields metadata answer.
func simFields(t *testing.T) *fieldcache.Cache {
	t.Helper()
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	sim.AddModule("Subscriptions", zohosim.FieldsOfEveryType())
	cache, err := fieldcache.New(fieldcache.Options{Source: simtest.Client(t, sim), Modules: []string{"Subscriptions"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cache.Refresh(context.Background(), "Subscriptions"); err != nil {
		t.Fatal(err)
	}
	return cache
}

// typedCase is one trait value for one field: want is the JSON sent, or
// reason why the value is left out.
type typedCase struct {
	field, in, want string
	reason          fieldvalue.Reason
}

// typedCases: per data type a valid value, a convertible one and an invalid one.
var typedCases = []typedCase{
	{"Text_Field", `"Acme"`, `"Acme"`, ""},
	{"Text_Field", `"  Acme  "`, `"Acme"`, ""},
	{"Text_Field", `"a text of more than twenty characters"`, "", fieldvalue.ReasonTooLong},
	{"Textarea_Field", `"Notes"`, `"Notes"`, ""},
	{"Textarea_Field", `42`, `"42"`, ""},
	{"Textarea_Field", `[1]`, "", fieldvalue.ReasonWrongType},
	{"Textarea_Field", `"x\ud800"`, "", fieldvalue.ReasonInvalidUnicode},
	{"Textarea_Field", `1e21`, `"1000000000000000000000"`, ""},
	{"Textarea_Field", `1E+21`, `"1000000000000000000000"`, ""},
	{"Email_Field", `"jane@example.com"`, `"jane@example.com"`, ""},
	{"Email_Field", `" jane@example.com "`, `"jane@example.com"`, ""},
	{"Email_Field", `["jane@example.com"]`, "", fieldvalue.ReasonWrongType},
	{"Phone_Field", `"+44 20 7946 0000"`, `"+44 20 7946 0000"`, ""},
	{"Phone_Field", `442079460000`, `"442079460000"`, ""},
	{"Phone_Field", `[442079460000]`, "", fieldvalue.ReasonWrongType},
	{"Website_Field", `"https://example.com"`, `"https://example.com"`, ""},
	{"Website_Field", `" https://example.com "`, `"https://example.com"`, ""},
	{"Website_Field", `["https://example.com"]`, "", fieldvalue.ReasonWrongType},
	{"Picklist_Field", `"Pro"`, `"Pro"`, ""},
	{"Picklist_Field", `7`, `"7"`, ""},
	{"Picklist_Field", `["Pro"]`, "", fieldvalue.ReasonWrongType},
	{"Multiselectpicklist_Field", `["Red","Blue"]`, `["Red","Blue"]`, ""},
	{"Multiselectpicklist_Field", `"Red, Blue"`, `["Red","Blue"]`, ""},
	{"Multiselectpicklist_Field", `12`, "", fieldvalue.ReasonWrongType},
	{"Multiselectpicklist_Field", `["Red",5]`, "", fieldvalue.ReasonWrongType},
	{"Integer_Field", `12`, `12`, ""},
	{"Integer_Field", `"12"`, `12`, ""},
	{"Integer_Field", `"1-2 People"`, "", fieldvalue.ReasonNotANumber},
	{"Bigint_Field", `1234567890123`, `1234567890123`, ""},
	{"Bigint_Field", `"1234567890123"`, `1234567890123`, ""},
	{"Bigint_Field", `1.5`, "", fieldvalue.ReasonNotAnInteger},
	{"Double_Field", `3.25`, `3.25`, ""},
	{"Double_Field", `"3.25"`, `3.25`, ""},
	{"Double_Field", `"three"`, "", fieldvalue.ReasonNotANumber},
	{"Decimal_Field", `2.5`, `2.5`, ""},
	{"Decimal_Field", `"2.5"`, `2.5`, ""},
	{"Decimal_Field", `true`, "", fieldvalue.ReasonNotANumber},
	{"Currency_Field", `1999.5`, `1999.5`, ""},
	{"Currency_Field", `"1999.999"`, `2000`, ""},
	{"Currency_Field", `"$ lots"`, "", fieldvalue.ReasonNotANumber},
	{"Percent_Field", `12.5`, `12.5`, ""},
	{"Percent_Field", `"12.5%"`, `12.5`, ""},
	{"Percent_Field", `"half"`, "", fieldvalue.ReasonNotANumber},
	{"Boolean_Field", `true`, `true`, ""},
	{"Boolean_Field", `"yes"`, `true`, ""},
	{"Boolean_Field", `"maybe"`, "", fieldvalue.ReasonNotABoolean},
	{"Date_Field", `"2026-11-28"`, `"2026-11-28"`, ""},
	{"Date_Field", `"2026-11-28T10:00:00+01:00"`, `"2026-11-28"`, ""},
	{"Date_Field", `"28/11/2026"`, "", fieldvalue.ReasonBadDate},
	{"Date_Field", `20261128`, "", fieldvalue.ReasonAmbiguousNumber},
	{"Date_Field", `-86400000`, "", fieldvalue.ReasonAmbiguousNumber},
	{"Date_Field", `45792000000`, `"1971-06-15"`, ""},
	{"Datetime_Field", `"2026-11-28T10:00:00+05:30"`, `"2026-11-28T10:00:00+05:30"`, ""},
	{"Datetime_Field", `"2026-11-28T10:00:00.250Z"`, `"2026-11-28T10:00:00+00:00"`, ""},
	{"Datetime_Field", `"yesterday"`, "", fieldvalue.ReasonBadDate},
	{"Datetime_Field", `20261128`, "", fieldvalue.ReasonAmbiguousNumber},
	{"Lookup_Field", `"Acme"`, "", fieldvalue.ReasonUnsupportedType},
}

// TestMapConvertsByDataType: with the module's Fields metadata, each value a
// mapping writes is converted by its field's data type (typedCases): valid
// and convertible values are sent as Zoho takes them, an invalid one is left
// out of the record (the rest delivered) and listed in Mapped.Omitted; with
// mapping.invalid_values dead_letter the record is rejected instead, with
// INVALID_DATA, the field and Zoho's expected_data_type.
func TestMapConvertsByDataType(t *testing.T) {
	cache := simFields(t)
	meta := func() *fieldcache.Snapshot { return cache.Snapshot("Subscriptions") }
	var fms []mapping.FieldMapping
	seen := map[string]bool{}
	for _, c := range typedCases {
		if !seen[c.field] {
			seen[c.field] = true
			fms = append(fms, mapping.FieldMapping{From: "traits.v" + c.field, To: c.field})
		}
	}
	omit, err := mapping.NewMapper(mapping.MapperConfig{Fields: fms, Metadata: meta, InvalidValues: mapping.InvalidValuesOmit})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := mapping.NewMapper(mapping.MapperConfig{Fields: fms, Metadata: meta, InvalidValues: mapping.InvalidValuesDeadLetter})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range typedCases {
		name := c.field + " " + c.in
		value := []byte(`{"type":"identify","traits":{"email":"j@example.com","firstName":"Jane","v` + c.field + `":` + c.in + `}}`)
		got := omit.Map(value)
		if got.Outcome != mapping.OutcomeDeliver {
			t.Errorf("%s: %s %+v, want deliver", name, got.Outcome, got.Reject)
			continue
		}
		if string(got.Record.Get("Email")) != `"j@example.com"` || string(got.Record.Get("First_Name")) != `"Jane"` {
			t.Errorf("%s: the other fields are not delivered: %s", name, got.Record.JSON())
		}
		v := got.Record.Get(c.field)
		if c.reason == "" {
			if !sameJSON(v, c.want) || got.Omitted != nil {
				t.Errorf("%s: sent %s (omitted %v), want %s", name, v, got.Omitted, c.want)
			}
			if d := dead.Map(value); d.Outcome != mapping.OutcomeDeliver || !sameJSON(d.Record.Get(c.field), c.want) {
				t.Errorf("%s (dead_letter): %s %s, want %s delivered", name, d.Outcome, d.Record.Get(c.field), c.want)
			}
			continue
		}
		if v != nil || !reflect.DeepEqual(got.Omitted, []mapping.Omission{{Field: c.field, Reason: c.reason}}) {
			t.Errorf("%s: sent %s, omitted %v; want it left out as %s", name, v, got.Omitted, c.reason)
		}
		d := dead.Map(value)
		if d.Outcome != mapping.OutcomeReject || d.Reject.Code != mapping.CodeInvalidData || d.Reject.Field != c.field ||
			!strings.Contains(d.Reject.Details, `"expected_data_type":`) || strings.Contains(d.Reject.Message, strings.Trim(c.in, `"`)) {
			t.Errorf("%s (dead_letter): %s %+v, want INVALID_DATA on %s with expected_data_type, without the value", name, d.Outcome, d.Reject, c.field)
		}
	}
}

// TestMapWithoutMetadataSendsUntyped: while the metadata is unknown (the
// snapshot is nil), values are sent as before typed conversion: texts and
// numbers as strings, booleans as booleans; arrays are not sent.
func TestMapWithoutMetadataSendsUntyped(t *testing.T) {
	m, err := mapping.NewMapper(mapping.MapperConfig{
		Fields: []mapping.FieldMapping{
			{From: "traits.employees", To: "No_of_Employees"}, {From: "traits.vip", To: "VIP"}, {From: "traits.tags", To: "Tags"},
		},
		Metadata: func() *fieldcache.Snapshot { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map([]byte(`{"type":"identify","traits":{"email":"j@example.com","employees":250,"vip":true,"tags":["a"]}}`))
	if want := `{"Email":"j@example.com","No_of_Employees":"250","VIP":true}`; string(got.Record.JSON()) != want {
		t.Errorf("record %s, want %s", got.Record.JSON(), want)
	}
	// A text with an unpaired surrogate escape is not sent as U+FFFD.
	got = m.Map([]byte(`{"type":"identify","traits":{"email":"j@example.com","lastName":"M\ud800ller","vip":true}}`))
	if want := `{"Email":"j@example.com","VIP":true}`; string(got.Record.JSON()) != want ||
		!reflect.DeepEqual(got.Omitted, []mapping.Omission{{Field: "Last_Name", Reason: fieldvalue.ReasonInvalidUnicode}}) {
		t.Errorf("unpaired surrogate: record %s omitted %v, want %s and Last_Name omitted as invalid_unicode", got.Record.JSON(), got.Omitted, want)
	}
}

// TestMapRebuildsConvertersOnNewGeneration: a field whose type changes in
// Zoho is converted by its new type once the metadata's Generation changes.
func TestMapRebuildsConvertersOnNewGeneration(t *testing.T) {
	fields := []zohoapi.Field{{APIName: "Employees", DataType: "text", Length: 50}}
	src := sourceFunc(func() []zohoapi.Field { return fields })
	cache, err := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{"Leads"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cache.Refresh(ctx, "Leads"); err != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewMapper(mapping.MapperConfig{
		Fields:   []mapping.FieldMapping{{From: "traits.employees", To: "Employees"}},
		Metadata: func() *fieldcache.Snapshot { return cache.Snapshot("Leads") },
	})
	if err != nil {
		t.Fatal(err)
	}
	value := []byte(`{"type":"identify","traits":{"email":"j@example.com","employees":"250"}}`)
	if got := m.Map(value).Record.Get("Employees"); string(got) != `"250"` {
		t.Fatalf("as text: %s", got)
	}
	fields = []zohoapi.Field{{APIName: "Employees", DataType: "integer", Length: 9}}
	if err := cache.Refresh(ctx, "Leads"); err != nil {
		t.Fatal(err)
	}
	if got := m.Map(value).Record.Get("Employees"); string(got) != `250` {
		t.Fatalf("after the type changed to integer: %s", got)
	}
}

type sourceFunc func() []zohoapi.Field

func (f sourceFunc) Fields(context.Context, string) ([]zohoapi.Field, error) { return f(), nil }

// sameJSON reports whether got and want are the same JSON value.
func sameJSON(got []byte, want string) bool {
	var g, w any
	return json.Unmarshal(got, &g) == nil && json.Unmarshal([]byte(want), &w) == nil && reflect.DeepEqual(g, w)
}

// TestMapFallsBackToEarlierValue: a configured mapping overrides the
// preset's field, but when its value does not convert the preset's value is
// sent (and the omission counted).
func TestMapFallsBackToEarlierValue(t *testing.T) {
	src := sourceFunc(func() []zohoapi.Field { return []zohoapi.Field{{APIName: "Phone", DataType: "phone", Length: 30}} })
	cache, err := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{"Leads"}})
	if err != nil || cache.Refresh(context.Background(), "Leads") != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewMapper(mapping.MapperConfig{
		Fields:   []mapping.FieldMapping{{From: "properties.phone", To: "Phone"}},
		Metadata: func() *fieldcache.Snapshot { return cache.Snapshot("Leads") },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map([]byte(`{"type":"identify","traits":{"email":"j@example.com","phone":"+44 20"},"properties":{"phone":"` + strings.Repeat("1", 40) + `"}}`))
	if string(got.Record.Get("Phone")) != `"+44 20"` || !reflect.DeepEqual(got.Omitted, []mapping.Omission{{Field: "Phone", Reason: fieldvalue.ReasonTooLong}}) {
		t.Errorf("record %s, omitted %v; want the preset's phone and the mapping's counted", got.Record.JSON(), got.Omitted)
	}
	got = m.Map([]byte(`{"type":"identify","traits":{"email":"j@example.com","phone":"+44 20"},"properties":{"phone":"+1 555"}}`))
	if string(got.Record.Get("Phone")) != `"+1 555"` || got.Omitted != nil {
		t.Errorf("record %s, omitted %v; want the mapping's phone", got.Record.JSON(), got.Omitted)
	}
}

// TestMapLookupByNameIsNotConverted: the Contacts preset's Account_Name, a
// lookup in the module's metadata (which fieldvalue does not write), is sent
// as {"name": company} and not counted as omitted.
func TestMapLookupByNameIsNotConverted(t *testing.T) {
	src := sourceFunc(func() []zohoapi.Field {
		return []zohoapi.Field{{APIName: "Email", DataType: "email", Length: 100}, {APIName: "Last_Name", DataType: "text", Length: 80},
			{APIName: "Account_Name", DataType: "lookup"}}
	})
	cache, err := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{mapping.ModuleContacts}})
	if err != nil || cache.Refresh(context.Background(), mapping.ModuleContacts) != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewMapper(mapping.MapperConfig{Module: mapping.ModuleContacts,
		Metadata: func() *fieldcache.Snapshot { return cache.Snapshot(mapping.ModuleContacts) }})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map([]byte(`{"type":"identify","traits":{"email":"j@example.com","lastName":"Lee","company":" Acme "}}`))
	if want := `{"Email":"j@example.com","Last_Name":"Lee","Account_Name":{"name":"Acme"}}`; string(got.Record.JSON()) != want || got.Omitted != nil {
		t.Errorf("record %s, omitted %v; want %s", got.Record.JSON(), got.Omitted, want)
	}
}

// TestTargetProblems: with the module's metadata, a mapping target the
// module lacks and a constant its field's type cannot take are reported
// under their keys, saying what happens to the records under
// mapping.invalid_values; a constant that converts is not.
func TestTargetProblems(t *testing.T) {
	snap := simFields(t).Snapshot("Subscriptions")
	fms := []mapping.FieldMapping{
		{Value: "many", To: "Integer_Field"}, {Value: "yes", To: "Boolean_Field"}, {From: "traits.x", To: "Nope"},
	}
	for mode, outcome := range map[string]string{
		mapping.InvalidValuesOmit:       "every record leaves the field out",
		mapping.InvalidValuesDeadLetter: "every record is dead-lettered with INVALID_DATA",
	} {
		m, err := mapping.NewMapper(mapping.MapperConfig{Fields: fms, InvalidValues: mode})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range m.TargetProblems(snap) {
			got[e.Key] = e.Problem
		}
		if len(got) != 2 || !strings.Contains(got["mapping.fields[0].value"], `"many" cannot be written into Integer_Field (integer)`) ||
			!strings.Contains(got["mapping.fields[0].value"], outcome) || !strings.Contains(got["mapping.fields[2].to"], `"Nope" is not a field`) {
			t.Errorf("%s: problems %q", mode, got)
		}
	}
}

// TestListConstant: a list constant (mapping.fields[].value: [Red, Green])
// is written into a multi-select field as its JSON array; a field of
// another type cannot take it, which TargetProblems reports at
// mapping.fields[i].value.
func TestListConstant(t *testing.T) {
	cache := simFields(t)
	meta := func() *fieldcache.Snapshot { return cache.Snapshot("Subscriptions") }
	fms := []mapping.FieldMapping{
		{Value: []any{"Red", " Green "}, To: "Multiselectpicklist_Field"},
		{Value: []any{"Red"}, To: "Text_Field"},
		{Value: 5, To: "Integer_Field"},
	}
	m, err := mapping.NewMapper(mapping.MapperConfig{Fields: fms, Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map([]byte(`{"type":"identify","traits":{"email":"j@example.com"}}`))
	if want := `{"Email":"j@example.com","Multiselectpicklist_Field":["Red","Green"],"Integer_Field":5}`; string(got.Record.JSON()) != want ||
		!reflect.DeepEqual(got.Omitted, []mapping.Omission{{Field: "Text_Field", Reason: fieldvalue.ReasonWrongType}}) {
		t.Errorf("record %s, omitted %v; want %s with Text_Field omitted", got.Record.JSON(), got.Omitted, want)
	}
	problems := m.TargetProblems(cache.Snapshot("Subscriptions"))
	if len(problems) != 1 || problems[0].Key != "mapping.fields[1].value" || !strings.Contains(problems[0].Problem, `["Red"] cannot be written into Text_Field (text)`) {
		t.Errorf("target problems %v, want one at mapping.fields[1].value", problems)
	}
}
