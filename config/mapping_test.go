package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/zohosink/zohosink/mapping"
)

// TestValidateAgreesWithMapper: `config validate` (Validate) and `consumer
// run` (mapping.NewMapper) accept and refuse the same mapping
// configurations, with the same key-named messages.
func TestValidateAgreesWithMapper(t *testing.T) {
	fm := func(from, to string) []FieldMapping { return []FieldMapping{{From: from, To: to}} }
	tests := []struct {
		name    string
		consent []string
		fields  []FieldMapping
		events  []string
		module  string   // "": Leads
		dedupe  []string // zoho.duplicate_check_fields; nil: unset
		key     string   // "": valid
	}{
		{name: "preset only"},
		{name: "trait mapping", fields: fm("traits.plan", "Plan__c")},
		{name: "nested context trait", fields: fm("context.traits.address.city", "City")},
		{name: "boolean source into a checkbox", fields: fm("traits.newsletter", "Email_Opt_Out")},
		{name: "override the preset", fields: fm("properties.utm_source", "Lead_Source")},
		{name: "extra event", events: []string{"Trial Started"}},
		{name: "to Email", fields: fm("traits.work_email", "Email"), key: "mapping.fields[0].to"},
		{name: "to email", fields: fm("traits.work_email", " email "), key: "mapping.fields[0].to"},
		{name: "to with a space", fields: fm("traits.plan", "Plan Name"), key: "mapping.fields[0].to"},
		{name: "to starting with a digit", fields: fm("traits.plan", "1Plan"), key: "mapping.fields[0].to"},
		{name: "to missing", fields: fm("traits.plan", ""), key: "mapping.fields[0].to"},
		{name: "two mappings into one field", fields: []FieldMapping{{From: "traits.plan", To: "Plan"}, {From: "properties.plan", To: "Plan"}}, key: "mapping.fields[1].to"},
		{name: "from and value missing", fields: fm("", "Plan"), key: "mapping.fields[0]"},
		{name: "constant", fields: []FieldMapping{{Value: "Website", To: "Lead_Source"}}},
		{name: "constant and from", fields: []FieldMapping{{From: "properties.source", Value: "Website", To: "Lead_Source"}}, key: "mapping.fields[0]"},
		{name: "blank constant", fields: []FieldMapping{{Value: " ", To: "Lead_Source"}}, key: "mapping.fields[0].value"},
		{name: "constant into Email", fields: []FieldMapping{{Value: "x@example.com", To: "Email"}}, key: "mapping.fields[0].to"},
		{name: "Contacts without dedupe fields", module: "Contacts"},
		{name: "custom module with dedupe fields", module: "Subscriptions", dedupe: []string{"Email"}},
		{name: "custom module without dedupe fields", module: "Subscriptions", key: "zoho.duplicate_check_fields"},
		{name: "custom module with an empty dedupe list", module: "Subscriptions", dedupe: []string{}, key: "zoho.duplicate_check_fields"},
		{name: "from not an event value", fields: fm("userId", "User_Id"), key: "mapping.fields[0].from"},
		{name: "from with an empty segment", fields: fm("traits.a..b", "Plan"), key: "mapping.fields[0].from"},
		{name: "from with a separator-only segment", fields: fm("traits.__", "Plan"), key: "mapping.fields[0].from"},
		{name: "from with an over-long segment", fields: fm("traits."+strings.Repeat("k", 129), "Plan"), key: "mapping.fields[0].from"},
		{name: "blank consent category", consent: []string{"marketing", " "}, key: "consent.required[1]"},
		{name: "blank event", events: []string{""}, key: "mapping.events[0]"},
		{name: "separator-only event", events: []string{" - "}, key: "mapping.events[0]"},
		{name: "over-long event", events: []string{strings.Repeat("x", 129)}, key: "mapping.events[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			if tt.consent != nil {
				c.Consent.Required = tt.consent
			}
			c.Mapping.Fields, c.Mapping.Events = tt.fields, tt.events
			if tt.module != "" {
				c.Zoho.Module = tt.module
			}
			c.Zoho.DuplicateCheckFields = tt.dedupe
			_, mapErr := mapping.NewMapper(c.MapperConfig())
			var got []string
			for _, fe := range FieldErrors(c.Validate()) {
				got = append(got, fe.Error())
				var ce *mapping.ConfigError
				if !errors.As(fe, &ce) || !errors.Is(fe, mapping.ErrInvalidMapperConfig) {
					t.Errorf("%v does not wrap the mapper's *ConfigError", fe)
				}
			}
			var want []string
			if mapErr != nil {
				want = strings.Split(mapErr.Error(), "\n")
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("config.Validate: %q\nmapping.NewMapper: %q", got, want)
			}
			switch {
			case tt.key == "" && len(got) > 0:
				t.Errorf("refused a valid mapping: %q", got)
			case tt.key != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.key+": ")):
				t.Errorf("got %q, want one problem at %s", got, tt.key)
			}
		})
	}
}

// TestDuplicateCheckFieldsDefault: unset zoho.duplicate_check_fields is the
// module preset's (Email for Leads and Contacts), which config print
// explains; a set list (also an empty one) is taken as given; a custom
// module without it is refused at the key.
func TestDuplicateCheckFieldsDefault(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	t.Setenv("ZOHOSINK_ZOHO_MODULE", "Contacts")
	t.Setenv("ZOHOSINK_MAPPING_FIELDS", `[{"value":"Website","to":"Lead_Source"}]`)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.EffectiveDuplicateCheckFields(); !reflect.DeepEqual(got, []string{"Email"}) {
		t.Errorf("Contacts: %q", got)
	}
	if got := c.Mapping.Fields; len(got) != 1 || got[0] != (FieldMapping{Value: "Website", To: "Lead_Source"}) {
		t.Errorf("mapping.fields from the environment: %+v", got)
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  duplicate_check_fields: null # default: null = Email (the Contacts preset's)\n",
		"  fields: [{value: Website, to: Lead_Source}] # env ZOHOSINK_MAPPING_FIELDS\n",
	} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("Print lacks %q:\n%s", line, buf.String())
		}
	}
	t.Setenv("ZOHOSINK_ZOHO_DUPLICATE_CHECK_FIELDS", "[]")
	if c, err = Load("", nil); err != nil {
		t.Fatal(err)
	}
	if got := c.EffectiveDuplicateCheckFields(); got == nil || len(got) != 0 {
		t.Errorf("explicit []: %#v", got)
	}
	t.Setenv("ZOHOSINK_ZOHO_MODULE", "Subscriptions")
	_, err = Load("", nil)
	if fes := FieldErrors(err); len(fes) != 1 || fes[0].Key != "zoho.duplicate_check_fields" {
		t.Errorf("custom module without dedupe fields: %v", err)
	}
}

// TestMappingConstantKinds: a constant in mapping.fields may be a text, a
// number, a boolean or a list of them (a multi-select constant); an object,
// or a list holding one, is reported at its own mapping.fields[i].value, and
// every other entry's problem is still listed (not one "is not a list of
// {from, to} mappings" for the whole key).
func TestMappingConstantKinds(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	path := writeFile(t, `
mapping:
  fields:
    - {value: [Red, Green], to: Colors}
    - {value: {a: 1}, to: Region}
    - {value: [Red, [x]], to: Tags}
    - {from: nope.x, to: Plan}
    - {value: 5, to: Employees}
    - {value: true, to: VIP}
    - {value: [], to: Empty}
`)
	c, err := Load(path, nil)
	if c == nil {
		t.Fatalf("Load returned no config: %v", err)
	}
	want := []string{"mapping.fields[1].value", "mapping.fields[2].value", "mapping.fields[3].from", "mapping.fields[6].value"}
	if got := keysOf(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("problems at %q, want %q:\n%v", got, want, err)
	}
	for _, s := range []string{"mapping.fields[1].value: is an object", "mapping.fields[2].value: item 1 is a list", "mapping.fields[6].value: is an empty list"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
	fields := c.MapperConfig().Fields
	for i, want := range map[int]string{0: `["Red","Green"]`, 4: `"5"`, 5: `"true"`} {
		if v, problem := fields[i].Constant(); v.Raw != want || problem != "" {
			t.Errorf("mapping.fields[%d] constant %s (%s), want %s", i, v.Raw, problem, want)
		}
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil || !strings.Contains(buf.String(), "{value: [Red, Green], to: Colors}") {
		t.Errorf("config print (%v):\n%s", err, buf.String())
	}
}
