package config

import (
	"errors"

	"github.com/zohosink/zohosink/mapping"
)

// MapperConfig returns zoho.module, zoho.duplicate_check_fields,
// consent.required, mapping.fields, mapping.events and mapping.invalid_values
// as mapping.NewMapper takes them (Metadata is the caller's: the running
// pipeline's field cache).
func (c *Config) MapperConfig() mapping.MapperConfig {
	fields := make([]mapping.FieldMapping, len(c.Mapping.Fields))
	for i, f := range c.Mapping.Fields {
		fields[i] = mapping.FieldMapping{From: f.From, Value: f.Value, To: f.To}
	}
	return mapping.MapperConfig{
		Module:               c.Zoho.Module,
		DuplicateCheckFields: c.Zoho.DuplicateCheckFields,
		ConsentRequired:      c.Consent.Required,
		Fields:               fields,
		Events:               c.Mapping.Events,
		InvalidValues:        c.Mapping.InvalidValues,
	}
}

// validateMapping reports the problems mapping.NewMapper, the one validator
// of the mapping configuration, finds: one *FieldError per
// *mapping.ConfigError, with its key (e.g. mapping.fields[2].to) and the
// ConfigError as Err.
func (c *Config) validateMapping(p *problems) {
	_, err := mapping.NewMapper(c.MapperConfig())
	var joined interface{ Unwrap() []error }
	if err == nil || !errors.As(err, &joined) {
		return
	}
	for _, e := range joined.Unwrap() {
		var ce *mapping.ConfigError
		if errors.As(e, &ce) {
			*p = append(*p, &FieldError{Key: ce.Key, Problem: ce.Problem, Err: ce})
		}
	}
}

// EffectiveDuplicateCheckFields is zoho.duplicate_check_fields, or, when it
// is unset (nil), the module preset's default
// (mapping.PresetDuplicateCheckFields: ["Email"] for Leads and Contacts; nil
// for other modules, which Validate refuses).
func (c *Config) EffectiveDuplicateCheckFields() []string {
	if c.Zoho.DuplicateCheckFields != nil {
		return c.Zoho.DuplicateCheckFields
	}
	return mapping.PresetDuplicateCheckFields(c.Zoho.Module)
}
