package mapping

// This file is the last stage of mapping a CRM event: the fields the preset
// and the configured mappings collected (recordField, in order) are
// converted by their Zoho fields' data types (mapping/fieldvalue, from the
// module's Fields metadata) and encoded into one zohoapi.Record.

import (
	"bytes"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/mapping/fieldvalue"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
)

// recordField is one field of a record being built: the Zoho field API name
// and the event's value for it, a text the preset derived (Type
// gjson.String, Str the text) or the raw JSON value a configured mapping
// found. Its strings may point into the record value until encode copies
// them.
type recordField struct {
	name  string
	value gjson.Result
	// lookupByName: the value is the name of the record a lookup field
	// points to, sent as {"name": text} (Zoho's lookup object; see presets)
	// without type conversion.
	lookupByName bool
}

// textField is a recordField of a text the preset derived.
func textField(name, text string) recordField {
	return recordField{name: name, value: gjson.Result{Type: gjson.String, Str: text}}
}

// Omission is a mapped value left out of a delivered record because it
// could not be converted for its field (MapperConfig.InvalidValues "omit").
// It never holds the value.
type Omission struct {
	// Field is the Zoho field API name.
	Field string
	// Reason is why (fieldvalue's reasons: "not_a_number", "too_long", …).
	Reason fieldvalue.Reason
}

// converters are the value converters of one metadata snapshot, by field
// API name. A field the snapshot lacks has none (its values are sent
// untyped, as without metadata); a field zohosink cannot write (a lookup, a
// formula, a read-only field) has err instead.
type converters struct {
	generation uint64
	byName     map[string]converter
}

type converter struct {
	c   *fieldvalue.Converter
	err *fieldvalue.Error
}

// newConverters builds the converters of every field of s.
func newConverters(s *fieldcache.Snapshot) *converters {
	cs := &converters{generation: s.Generation, byName: make(map[string]converter, len(s.Fields))}
	for _, f := range s.Fields {
		c, err := fieldvalue.New(f)
		var fe *fieldvalue.Error
		if err != nil {
			fe = err.(*fieldvalue.Error)
		}
		cs.byName[f.APIName] = converter{c: c, err: fe}
	}
	return cs
}

// typed holds the converters of the newest snapshot seen (nil: none yet).
type typed struct {
	metadata func() *fieldcache.Snapshot
	cur      atomic.Pointer[converters]
}

// converters returns the converters of the module's current metadata, nil
// without metadata. They are rebuilt (and swapped in atomically) when the
// snapshot's Generation changes; readers never lock.
func (t *typed) converters() *converters {
	if t.metadata == nil {
		return nil
	}
	s := t.metadata()
	if s == nil {
		return nil
	}
	cur := t.cur.Load()
	if cur == nil || cur.generation != s.Generation {
		cur = newConverters(s)
		t.cur.Store(cur)
	}
	return cur
}

// encode converts and encodes fields into a record; of fields with the same
// name the last one whose value converts counts, at the last one's place. Email, checked before, is always sent as text. With converters (cs non-nil), a field of the
// metadata is converted by its data type; a value that cannot be converted
// is left out and listed in the omissions, or, when deadLetter is set, the
// mapping ends without a record and with the *fieldvalue.Error of every
// field whose value does not convert (in field order, one per field), so
// that one dead letter names them all. A field without metadata (cs nil,
// or a field the module lacks) is sent untyped: texts as JSON strings
// (a text with U+FFFD is an invalid value: fieldvalue.InvalidText),
// numbers as their decimal text, booleans as JSON booleans; other values
// (arrays, objects) are not sent. The values are copied into one buffer: the
// record shares no memory with the event.
func encode(fields []recordField, cs *converters, deadLetter bool) (zohoapi.Record, []Omission, []*fieldvalue.Error) {
	size := 0
	for _, f := range fields {
		size += len(f.value.Str) + len(f.value.Raw) + 8
	}
	buf := make([]byte, 0, size)
	var endsBuf [16]int
	ends := endsBuf[:0] // end of field i's value in buf; -1: not sent
	var omitted []Omission
	var invalid []*fieldvalue.Error
	n := 0
	for i, f := range fields {
		start := len(buf)
		if overridden(fields[i+1:], f.name) {
			ends = append(ends, -1)
			continue
		}
		if f.lookupByName {
			buf = append(gjson.AppendJSONString(append(buf, `{"name":`...), strings.TrimSpace(f.value.Str)), '}')
			ends = append(ends, len(buf))
			n++
			continue
		}
		var cv converter
		var known bool
		// Email, the identity, was checked by checkEmail: it is never left out.
		if cs != nil && f.name != FieldEmail {
			cv, known = cs.byName[f.name]
		}
		if known && cv.err != nil { // a field zohosink cannot write
			if deadLetter {
				invalid = append(invalid, cv.err)
			} else {
				omitted = append(omitted, Omission{Field: f.name, Reason: cv.err.Reason})
			}
			ends = append(ends, -1)
			continue
		}
		// The last field of the name counts; when its value does not convert,
		// an earlier one's (the preset's under a mapping) is sent instead.
	values:
		for k := i; k >= 0 && len(buf) == start; k-- {
			switch {
			case fields[k].name != f.name:
			case !known:
				if err := fieldvalue.InvalidText(f.name, fields[k].value); err != nil {
					if deadLetter {
						invalid = append(invalid, err)
						break values
					}
					omitted = append(omitted, Omission{Field: f.name, Reason: err.Reason})
					continue
				}
				buf = appendUntyped(buf, fields[k].value)
			default:
				var err error
				if buf, _, err = cv.c.Append(buf, fields[k].value); err != nil {
					if deadLetter {
						invalid = append(invalid, err.(*fieldvalue.Error))
						break values
					}
					omitted = append(omitted, Omission{Field: f.name, Reason: err.(*fieldvalue.Error).Reason})
				}
			}
		}
		if len(buf) == start {
			ends = append(ends, -1)
			continue
		}
		ends = append(ends, len(buf))
		n++
	}
	if invalid != nil {
		return nil, nil, invalid
	}
	rec := make(zohoapi.Record, 0, n)
	start := 0
	for i, end := range ends {
		if end < 0 {
			continue
		}
		rec = append(rec, zohoapi.RecordField{Name: fields[i].name, Value: buf[start:end:end]})
		start = end
	}
	return rec, omitted, nil
}

// overridden reports whether a later field has the same name.
func overridden(later []recordField, name string) bool {
	for _, f := range later {
		if f.name == name {
			return true
		}
	}
	return false
}

// keyOf is the dedupe key of rec: its email lower-cased, from the record's
// own copy of it (the email may point into the record value).
func keyOf(rec zohoapi.Record, email string) string {
	if v := rec.Get(FieldEmail); len(v) > 2 && bytes.IndexByte(v, '\\') < 0 {
		return strings.ToLower(unsafe.String(&v[1], len(v)-2))
	}
	return strings.ToLower(strings.Clone(email))
}

// appendUntyped appends v as it is sent without metadata: a text as a JSON
// string (trimmed), a number as its exact decimal text in a JSON string, a
// boolean as is; anything else, or a blank text, appends nothing.
func appendUntyped(dst []byte, v gjson.Result) []byte {
	var s string
	switch v.Type {
	case gjson.True, gjson.False:
		return append(dst, v.Raw...)
	case gjson.String:
		s = strings.TrimSpace(v.Str)
	case gjson.Number:
		s, _ = fieldvalue.DecimalText(v.Raw)
	}
	if s == "" {
		return dst
	}
	return gjson.AppendJSONString(dst, s)
}

// invalidData is the INVALID_DATA rejection of a record whose values errs
// (one per field, at least one) do not convert, shaped as Zoho answers such
// a record (zoho-crm-api.md "Upsert Records"; DESIGN.md on
// MULTIPLE_OR_MULTI_ERRORS) so that one dead letter names every field to fix:
// one error has Zoho's INVALID_DATA details ({"api_name":…,
// "expected_data_type":…}); several have Field comma-separated in field
// order ("No_of_Employees,Annual_Revenue") and Details
// {"errors":[{"code":"INVALID_DATA","details":{…},"message":…,"status":"error"},…]},
// as a MULTIPLE_OR_MULTI_ERRORS whose inner errors share one code is
// dead-lettered. The message never holds the values.
func invalidData(errs []*fieldvalue.Error) Rejection {
	if len(errs) == 1 {
		e := errs[0]
		return Rejection{Code: CodeInvalidData, Message: e.Error(), Field: e.Field, Details: e.Details()}
	}
	fields := make([]string, len(errs))
	msgs := make([]string, len(errs))
	details := []byte(`{"errors":[`)
	for i, e := range errs {
		fields[i], msgs[i] = e.Field, e.Error()
		if i > 0 {
			details = append(details, ',')
		}
		details = append(details, `{"code":"INVALID_DATA","details":`...)
		details = append(details, e.Details()...)
		details = append(details, `,"message":`...)
		details = gjson.AppendJSONString(details, msgs[i])
		details = append(details, `,"status":"error"}`...)
	}
	return Rejection{
		Code:    CodeInvalidData,
		Message: strconv.Itoa(len(errs)) + " values do not convert to their fields' data types: " + strings.Join(msgs, "; "),
		Field:   strings.Join(fields, ","),
		Details: string(append(details, "]}"...)),
	}
}
