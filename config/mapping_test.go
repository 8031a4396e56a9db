package config

import (
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
		key     string // "": valid
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
		{name: "two mappings into one field", fields: []FieldMapping{{"traits.plan", "Plan"}, {"properties.plan", "Plan"}}, key: "mapping.fields[1].to"},
		{name: "from missing", fields: fm("", "Plan"), key: "mapping.fields[0].from"},
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
