package mapping

import (
	"reflect"
	"testing"
)

// mapRecord maps value with a mapper of c and returns the record; it fails
// the test unless the value is delivered.
func mapRecord(t *testing.T, c MapperConfig, value string) map[string]any {
	t.Helper()
	m, err := NewMapper(c)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Map([]byte(value))
	if got.Outcome != OutcomeDeliver {
		t.Fatalf("got %s %q %q (%s)", got.Outcome, got.Drop, got.Reject.Code, got.Reject.Message)
	}
	return asMap(got.Record)
}

// TestMapModulePresets: each module writes its own preset. Contacts send the
// company as the Account_Name lookup by name and have no Company field;
// Lead Generated writes Lead_Source and Description into Contacts too; a
// custom module gets Email and mapping.fields only.
func TestMapModulePresets(t *testing.T) {
	identify := `{"type":"identify","traits":{"email":"a@example.com","name":"Ann Lee","phone":"+1 555","company":{"name":" Acme "}}}`
	lead := `{"type":"track","event":"Lead Generated","traits":{"email":"a@example.com","lastName":"Lee","company":"Acme"},"properties":{"source":"Website","form_name":"Demo"}}`
	tests := []struct {
		name  string
		c     MapperConfig
		value string
		want  map[string]any
	}{
		{"Leads", MapperConfig{Module: ModuleLeads}, identify,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee", "Phone": "+1 555", "Company": "Acme"}},
		{"Leads is the default", MapperConfig{}, lead,
			map[string]any{"Email": "a@example.com", "Last_Name": "Lee", "Company": "Acme", "Lead_Source": "Website", "Description": "Demo"}},
		{"Contacts", MapperConfig{Module: ModuleContacts}, identify,
			map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee", "Phone": "+1 555", "Account_Name": map[string]any{"name": "Acme"}}},
		{"Contacts lead generated", MapperConfig{Module: ModuleContacts}, lead,
			map[string]any{"Email": "a@example.com", "Last_Name": "Lee", "Account_Name": map[string]any{"name": "Acme"}, "Lead_Source": "Website", "Description": "Demo"}},
		{"Contacts without a company", MapperConfig{Module: ModuleContacts}, `{"type":"identify","traits":{"email":"a@example.com","lastName":"Lee"}}`,
			map[string]any{"Email": "a@example.com", "Last_Name": "Lee"}},
		{"custom module", MapperConfig{Module: "Subscriptions", DuplicateCheckFields: []string{"Email"},
			Fields: []FieldMapping{{From: "traits.name", To: "Name"}, {Value: "Pro", To: "Plan"}}}, lead,
			map[string]any{"Email": "a@example.com", "Plan": "Pro"}},
		{"custom module mapping the name", MapperConfig{Module: "Subscriptions", DuplicateCheckFields: []string{"Email"},
			Fields: []FieldMapping{{From: "traits.name", To: "Name"}}}, identify,
			map[string]any{"Email": "a@example.com", "Name": "Ann Lee"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mapRecord(t, tt.c, tt.value); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("record\n got  %#v\n want %#v", got, tt.want)
			}
		})
	}
}

// TestMapConstants: a constant mapping (value) is written into every
// record, trimmed, and overrides the preset's field like any mapping; a
// later event-value mapping still overrides by order.
func TestMapConstants(t *testing.T) {
	c := MapperConfig{Fields: []FieldMapping{
		{Value: " Website ", To: "Lead_Source"},
		{Value: "Web form", To: "Description"},
		{From: "properties.plan", To: "Plan"},
	}}
	got := mapRecord(t, c, `{"type":"track","event":"Lead Generated","traits":{"email":"a@example.com"},"properties":{"source":"Partner","form_name":"Demo","plan":"Pro"}}`)
	want := map[string]any{"Email": "a@example.com", "Lead_Source": "Website", "Description": "Web form", "Plan": "Pro"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lead generated\n got  %#v\n want %#v", got, want)
	}
	got = mapRecord(t, c, `{"type":"identify","traits":{"email":"a@example.com"}}`)
	want = map[string]any{"Email": "a@example.com", "Lead_Source": "Website", "Description": "Web form"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("identify\n got  %#v\n want %#v", got, want)
	}
}

// TestPresetDedupe: Leads and Contacts default to Email; other modules have
// no default and NewMapper requires zoho.duplicate_check_fields for them.
func TestPresetDedupe(t *testing.T) {
	for module, want := range map[string][]string{"": {"Email"}, "Leads": {"Email"}, "Contacts": {"Email"}, "Deals": nil, "Subscriptions": nil} {
		if got := PresetDuplicateCheckFields(module); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", module, got, want)
		}
		_, err := NewMapper(MapperConfig{Module: module})
		if (err != nil) != (want == nil) {
			t.Errorf("%q without duplicate_check_fields: %v", module, err)
		}
		if _, err := NewMapper(MapperConfig{Module: module, DuplicateCheckFields: []string{"Email"}}); err != nil {
			t.Errorf("%q with duplicate_check_fields: %v", module, err)
		}
	}
	_, err := NewMapper(MapperConfig{Module: "Subscriptions", DuplicateCheckFields: []string{}})
	if err == nil || err.Error() != `zoho.duplicate_check_fields: is required for module "Subscriptions": only Leads and Contacts have a default (Email); name the fields that identify a record of Subscriptions, e.g. [Email] when its Email field is unique` {
		t.Errorf("error: %v", err)
	}
}

// TestModuleCaseHint: a zoho.module spelled like a standard module in
// another case ("leads") gets the canonical name as a hint (Zoho's module
// API names are case-sensitive: "leads" has no preset).
func TestModuleCaseHint(t *testing.T) {
	for module, want := range map[string]string{
		"leads":    `zoho.duplicate_check_fields: is required for module "leads": only Leads and Contacts have a default (Email) (did you mean zoho.module "Leads"? Zoho's module API names are case-sensitive)`,
		"CONTACTS": `zoho.duplicate_check_fields: is required for module "CONTACTS": only Leads and Contacts have a default (Email) (did you mean zoho.module "Contacts"? Zoho's module API names are case-sensitive)`,
		"deals":    `zoho.duplicate_check_fields: is required for module "deals": only Leads and Contacts have a default (Email); name the fields that identify a record of deals, e.g. [Email] when its Email field is unique (did you mean zoho.module "Deals"? Zoho's module API names are case-sensitive)`,
		"Deals":    `zoho.duplicate_check_fields: is required for module "Deals": only Leads and Contacts have a default (Email); name the fields that identify a record of Deals, e.g. [Email] when its Email field is unique`,
	} {
		if _, err := NewMapper(MapperConfig{Module: module}); err == nil || err.Error() != want {
			t.Errorf("%s: %v\nwant %s", module, err, want)
		}
	}
}

// TestPresetFields lists what each preset writes, for `config validate
// --online`.
func TestPresetFields(t *testing.T) {
	names := func(module string) (out []string) {
		for _, f := range PresetFields(module) {
			n := f.APIName
			if f.LookupByName {
				n += "{name}"
			}
			out = append(out, n)
		}
		return out
	}
	for module, want := range map[string][]string{
		"Leads":         {"Email", "First_Name", "Last_Name", "Phone", "Company", "Lead_Source", "Description"},
		"Contacts":      {"Email", "First_Name", "Last_Name", "Phone", "Account_Name{name}", "Lead_Source", "Description"},
		"Subscriptions": {"Email"},
	} {
		if got := names(module); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", module, got, want)
		}
	}
}
