package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/mapping/fieldvalue"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
)

// FieldMapping maps one event value, or a constant, to one Zoho field, on
// top of the module's preset (config key mapping.fields). Exactly one of
// From and Value is set.
type FieldMapping struct {
	// From names the source: "traits.X" (the identity traits: context.traits
	// with traits on top), "context.traits.X" (context.traits only) or
	// "properties.X". X may be a dotted path into nested objects
	// ("traits.address.city"); each segment matches keys like trait keys do
	// (case-insensitively, ignoring white space, '_' and '-').
	From string
	// Value is a constant written into every record instead, converted by
	// the field's data type like an event value (see Constant): a string
	// ("Website" into Lead_Source; white space around it trimmed), a number
	// or a boolean (YAML's 5, true) as its text, or a list of them (as
	// texts) for a multiselectpicklist field ([Red, Green]). nil or "": none.
	Value any
	// To is the Zoho field API name, e.g. "Lead_Status" or a custom field
	// such as "Plan". Zoho's Fields metadata API lists valid names; an
	// unknown name makes Zoho reject the record with INVALID_DATA.
	To string
}

// MapperConfig configures a Mapper. The zero value is the Lead Capture preset
// (module Leads) without a consent check.
type MapperConfig struct {
	// Module is the Zoho module's API name (config key zoho.module); it
	// picks the preset (presets: Leads, Contacts, Email alone for any other
	// module). "" is Leads.
	Module string
	// DuplicateCheckFields is zoho.duplicate_check_fields as configured
	// (nil when unset). A module without a preset dedupe (any but Leads and
	// Contacts) requires it non-empty.
	DuplicateCheckFields []string
	// ConsentRequired lists the consent categories (e.g. "marketing") that a
	// CRM event must grant (config key consent.required); empty means no
	// consent check.
	ConsentRequired []string
	// Fields are extra field mappings applied after the preset, in order
	// (config key mapping.fields); a mapping that yields a usable value
	// overrides the preset's value of its field.
	Fields []FieldMapping
	// Events are extra event names treated as CRM events (plain upsert like
	// "Signed Up"), e.g. "Signup" (config key mapping.events). They compare
	// like the preset names.
	Events []string
	// InvalidValues is what happens to a record holding a value that cannot
	// be converted for its field (config key mapping.invalid_values):
	// InvalidValuesOmit (or "") leaves the field out and delivers the rest,
	// listing it in Mapped.Omitted; InvalidValuesDeadLetter rejects the
	// record with INVALID_DATA naming the field.
	InvalidValues string
	// Metadata, if set, returns the current Fields metadata of the target
	// module (fieldcache.Cache.Snapshot), nil while there is none. Every
	// mapped value whose field it lists is converted by the field's data
	// type (mapping/fieldvalue); without metadata, and for fields it does not
	// list, values are sent untyped: texts as strings, numbers as decimal
	// strings, booleans as booleans. It is called for every CRM event and
	// must not block.
	Metadata func() *fieldcache.Snapshot
}

// The values of MapperConfig.InvalidValues.
const (
	InvalidValuesOmit       = "omit"
	InvalidValuesDeadLetter = "dead_letter"
)

// ErrInvalidMapperConfig is wrapped by every error NewMapper returns.
var ErrInvalidMapperConfig = errors.New("invalid mapper configuration")

// ConfigError is one problem of a MapperConfig, named by its configuration
// key. It wraps ErrInvalidMapperConfig.
type ConfigError struct {
	// Key is the configuration key of the value at fault, as zohosink's
	// configuration names it: "consent.required[0]", "mapping.events[1]",
	// "mapping.fields[2]", "mapping.fields[2].from", "mapping.fields[2].value",
	// "mapping.fields[2].to" or "zoho.duplicate_check_fields".
	Key string
	// Problem is a short explanation, e.g. `"Email" is not allowed: the
	// email comes only from the traits (traits.email)`.
	Problem string
}

// Error returns "key: problem".
func (e *ConfigError) Error() string { return e.Key + ": " + e.Problem }

// Unwrap returns ErrInvalidMapperConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidMapperConfig }

// maxFoldedName bounds the folded length of a name looked up on the hot path
// (fold buffers live on the stack up to this size). Longer folded names never
// match: NewMapper rejects longer configured names.
const maxFoldedName = 128

// Mapper decides and maps record values. Its configuration is immutable after
// NewMapper; the value converters of the module's metadata are swapped in
// atomically when its Generation changes. Safe for concurrent use.
type Mapper struct {
	preset  preset
	consent []string
	// events: folded track name → label.
	events map[string]string
	fields []fieldRule
	// typed converts values by the target fields' metadata.
	typed             typed
	deadLetterInvalid bool
}

// fieldRule is a validated FieldMapping.
type fieldRule struct {
	source fieldSource
	path   []string // trait/property path segments, as configured
	folded []string // path segments folded (foldName), for matching keys
	// constant, when it Exists, is written instead of a value from the
	// event (FieldMapping.Constant).
	constant gjson.Result
	to       string
	index    int // in MapperConfig.Fields, for the key mapping.fields[index].to
}

type fieldSource int

const (
	fromTraits fieldSource = iota + 1
	fromContextTraits
	fromProperties
)

// NewMapper validates c and returns a Mapper. It is the one validator of the
// mapping configuration: config.Validate reports what it finds. Every problem
// is reported at once, as errors.Join of *ConfigError:
//
//   - consent.required[i]: empty;
//   - mapping.events[i]: empty once white space, '_' and '-' are ignored,
//     or longer than 128 bytes that way;
//   - mapping.fields[i]: neither from nor value, or both;
//   - mapping.fields[i].from: not starting with "traits.",
//     "context.traits." or "properties."; a path segment that is empty
//     (ignoring white space, '_' and '-') or longer than 128 bytes;
//   - mapping.fields[i].value: only white space; an empty list; an object,
//     or a list with an item that is not a string, number or boolean
//     (see FieldMapping.Constant);
//   - mapping.fields[i].to: missing; not a Zoho field API name (a letter,
//     then letters, digits and '_'); Email (the email comes only from the
//     traits); the target of an earlier mapping;
//   - zoho.duplicate_check_fields: empty for a module other than Leads and
//     Contacts (PresetDuplicateCheckFields), which has no default.
//   - mapping.invalid_values: not "omit" or "dead_letter".
func NewMapper(c MapperConfig) (*Mapper, error) {
	m := &Mapper{
		preset: presetOf(c.Module),
		events: map[string]string{
			"identified":    eventIdentify,
			"leadgenerated": eventLeadGenerated,
			"signedup":      eventSignedUp,
		},
		typed:             typed{metadata: c.Metadata},
		deadLetterInvalid: c.InvalidValues == InvalidValuesDeadLetter,
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...)})
	}
	if m.preset.dedupe == nil && len(c.DuplicateCheckFields) == 0 {
		problem := fmt.Sprintf("is required for module %q: only Leads and Contacts have a default (Email)", c.Module)
		canon, ok := canonicalModule(c.Module)
		if !ok || presetOf(canon).dedupe == nil {
			problem += fmt.Sprintf("; name the fields that identify a record of %s, e.g. [Email] when its Email field is unique", c.Module)
		}
		if ok {
			problem += fmt.Sprintf(" (did you mean zoho.module %q? Zoho's module API names are case-sensitive)", canon)
		}
		bad("zoho.duplicate_check_fields", "%s", problem)
	}
	switch c.InvalidValues {
	case "", InvalidValuesOmit, InvalidValuesDeadLetter:
	default:
		bad("mapping.invalid_values", "%q is not one of omit, dead_letter", c.InvalidValues)
	}
	for i, cat := range c.ConsentRequired {
		cat = strings.TrimSpace(cat)
		if cat == "" {
			bad(fmt.Sprintf("consent.required[%d]", i), "is empty")
			continue
		}
		m.consent = append(m.consent, cat)
	}
	for i, name := range c.Events {
		key := fmt.Sprintf("mapping.events[%d]", i)
		folded := foldName(name)
		switch {
		case strings.TrimSpace(name) == "":
			bad(key, "is empty")
		case folded == "":
			bad(key, "%q is empty once white space, _ and - are ignored (event names compare that way)", name)
		case len(folded) > maxFoldedName:
			bad(key, "is longer than %d bytes", maxFoldedName)
		default:
			if _, ok := m.events[folded]; !ok {
				m.events[folded] = snakeName(name)
			}
		}
	}
	targets := map[string]int{}
	for i, f := range c.Fields {
		key := fmt.Sprintf("mapping.fields[%d]", i)
		var r fieldRule
		fromProblem := ""
		switch hasFrom, hasValue := strings.TrimSpace(f.From) != "", f.Value != nil && f.Value != ""; {
		case hasFrom && hasValue:
			fromProblem = "has both from and value: give from (an event value) or value (a constant), not both"
			bad(key, "%s", fromProblem)
		case !hasFrom && !hasValue:
			fromProblem = "needs from (an event value: traits.X, context.traits.X or properties.X) or value (a constant)"
			bad(key, "%s", fromProblem)
		case hasValue:
			if r.constant, fromProblem = f.Constant(); fromProblem != "" {
				bad(key+".value", "%s", fromProblem)
			}
		default:
			if r, fromProblem = parseFrom(f.From); fromProblem != "" {
				bad(key+".from", "%s", fromProblem)
			}
		}
		r.to, r.index = strings.TrimSpace(f.To), i
		toProblem := toProblem(f.To, r.to)
		if toProblem == "" {
			if j, dup := targets[r.to]; dup {
				toProblem = fmt.Sprintf("%q is also the target of mapping.fields[%d]", r.to, j)
			} else {
				targets[r.to] = i
			}
		}
		if toProblem != "" {
			bad(key+".to", "%s", toProblem)
		}
		if fromProblem == "" && toProblem == "" {
			m.fields = append(m.fields, r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Constant returns the value f.Value writes, as the mapper converts it for
// the field: a string (trimmed), a number (its decimal text, as YAML or JSON
// read it: 5 → "5", 0.5 → "0.5") or a boolean ("true", "false") as a JSON
// string; a list of them as a JSON array of those texts, which only a
// multiselectpicklist field takes (the others refuse it as wrong_type, see
// Mapper.TargetProblems). Scalars in a list are texts too: the operator
// wrote [Red, 5], not an event producer. problem is why f.Value cannot be a
// constant ("" when it can): only white space, an empty list, an object, a
// list holding a list or an object. A Value of nil or "" is no constant
// (the zero Result).
func (f FieldMapping) Constant() (v gjson.Result, problem string) {
	const kinds = "a constant is a text, a number, a boolean, or a list of them for a multi-select field"
	switch c := f.Value.(type) {
	case nil:
		return gjson.Result{}, ""
	case []any:
		if len(c) == 0 {
			return gjson.Result{}, "is an empty list (empty values are never sent)"
		}
		raw := []byte{'['}
		for i, item := range c {
			text, ok := scalarText(item)
			if !ok {
				return gjson.Result{}, fmt.Sprintf("item %d is %s: %s", i, constantKind(item), kinds)
			}
			if i > 0 {
				raw = append(raw, ',')
			}
			raw = gjson.AppendJSONString(raw, text)
		}
		return gjson.Parse(string(append(raw, ']'))), ""
	default:
		text, ok := scalarText(c)
		switch {
		case !ok:
			return gjson.Result{}, fmt.Sprintf("is %s: %s", constantKind(c), kinds)
		case text == "":
			return gjson.Result{}, "is only white space (empty values are never sent)"
		}
		return gjson.Result{Type: gjson.String, Str: text, Raw: string(gjson.AppendJSONString(nil, text))}, ""
	}
}

// scalarText is the text of a constant's string (trimmed), number or
// boolean; ok is false for anything else.
func scalarText(v any) (string, bool) {
	switch c := v.(type) {
	case string:
		return strings.TrimSpace(c), true
	case bool:
		return strconv.FormatBool(c), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(c), true
	case float32:
		return strconv.FormatFloat(float64(c), 'f', -1, 32), true
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64), true
	}
	return "", false
}

// constantKind names a constant's kind that is not a scalar, for problems.
func constantKind(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// parseFrom parses a FieldMapping's From (not blank); the problem is "" when
// it is valid.
func parseFrom(from string) (fieldRule, string) {
	var r fieldRule
	trimmed := strings.TrimSpace(from)
	var rest string
	switch {
	case strings.HasPrefix(trimmed, "context.traits."):
		r.source, rest = fromContextTraits, strings.TrimPrefix(trimmed, "context.traits.")
	case strings.HasPrefix(trimmed, "traits."):
		r.source, rest = fromTraits, strings.TrimPrefix(trimmed, "traits.")
	case strings.HasPrefix(trimmed, "properties."):
		r.source, rest = fromProperties, strings.TrimPrefix(trimmed, "properties.")
	default:
		return r, fmt.Sprintf("%q is not supported: start with traits., context.traits. or properties. and name a value", from)
	}
	r.path = strings.Split(rest, ".")
	for _, seg := range r.path {
		folded := foldName(seg)
		switch {
		case folded == "":
			return r, fmt.Sprintf("%q has an empty key (keys compare ignoring white space, _ and -)", from)
		case len(folded) > maxFoldedName:
			return r, fmt.Sprintf("%q has a key longer than %d bytes, which never matches", from, maxFoldedName)
		}
		r.folded = append(r.folded, folded)
	}
	return r, ""
}

// toProblem checks a FieldMapping's To (trimmed: to); "" when it is valid.
func toProblem(raw, to string) string {
	switch {
	case to == "":
		return "is required (a Zoho field API name)"
	case !isFieldAPIName(to):
		return fmt.Sprintf("%q is not a Zoho field API name (a letter, then letters, digits and _)", raw)
	case strings.EqualFold(to, FieldEmail):
		return fmt.Sprintf("%q is not allowed: the email comes only from the traits (traits.email)", raw)
	}
	return ""
}

// isFieldAPIName reports whether s has the shape of a Zoho field API name: a
// letter, then ASCII letters, digits and underscores ("Last_Name", "Plan__c").
func isFieldAPIName(s string) bool {
	for i, c := range s {
		letter := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || !(c == '_' || ('0' <= c && c <= '9'))) {
			return false
		}
	}
	return s != ""
}

// Targets returns the API names of the fields m may convert: Email, the
// preset's (but lookups by name, which are not converted), then the
// configured mappings' targets, each once.
func (m *Mapper) Targets() []string {
	out := []string{FieldEmail}
	for _, p := range m.preset.fields {
		if !p.lookupByName {
			out = append(out, p.name)
		}
	}
	for _, r := range m.fields {
		if !slices.Contains(out, r.to) {
			out = append(out, r.to)
		}
	}
	return out
}

// TargetProblems returns a *ConfigError for each configured mapping that
// cannot work with the module's Fields metadata s: a target that is not a
// field of the module (key mapping.fields[i].to; Zoho rejects its records
// with INVALID_DATA), and a constant its field's type cannot take (key
// mapping.fields[i].value; every record leaves the field out, or is
// dead-lettered under mapping.invalid_values: dead_letter). Field API names
// compare case-sensitively, as Zoho's do.
func (m *Mapper) TargetProblems(s *fieldcache.Snapshot) []*ConfigError {
	var out []*ConfigError
	for _, r := range m.fields {
		f, ok := s.Field(r.to)
		if !ok {
			out = append(out, &ConfigError{
				Key:     fmt.Sprintf("mapping.fields[%d].to", r.index),
				Problem: fmt.Sprintf("%q is not a field of module %s (Fields metadata): Zoho rejects its records with INVALID_DATA", r.to, s.Module),
			})
			continue
		}
		if !r.constant.Exists() {
			continue
		}
		c, err := fieldvalue.New(f)
		if err == nil {
			_, _, err = c.Append(nil, r.constant)
		}
		if err == nil {
			continue
		}
		outcome := "every record leaves the field out (mapping.invalid_values: omit)"
		if m.deadLetterInvalid {
			outcome = "every record is dead-lettered with INVALID_DATA (mapping.invalid_values: dead_letter)"
		}
		out = append(out, &ConfigError{
			Key:     fmt.Sprintf("mapping.fields[%d].value", r.index),
			Problem: fmt.Sprintf("the constant %s cannot be written into %s (%s): %v; %s", r.constant.Raw, r.to, f.DataType, err, outcome),
		})
	}
	return out
}
