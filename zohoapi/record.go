package zohoapi

import "github.com/tidwall/gjson"

// Record is one Zoho record as the Upsert Records API takes it (one object
// of data[]): its fields in order, each a field API name with its value
// already encoded as JSON. The mapper builds it (mapping: values converted
// by the fields' data types, mapping/fieldvalue), the batcher merges the
// records of one key (batcher.Entry.Merged), Upsert encodes it with
// AppendJSON, and a dead letter's zoho.record is the same encoding.
//
// Shape and guarantees the builder keeps (Upsert relies on them and does not
// parse the values again):
//   - Names are unique within a record and are field API names ("Email",
//     "No_of_Employees").
//   - Every Value is exactly one valid JSON value, never empty and never an
//     empty JSON string: `"Acme"`, `250`, `true`, `["CRM","Chat"]`,
//     `{"name":"Acme"}`.
//
// A Record is immutable once built: merging and encoding never modify it,
// so records may share Value bytes.
type Record []RecordField

// RecordField is one field of a Record.
type RecordField struct {
	// Name is the field API name, case-sensitive as Zoho's.
	Name string
	// Value is the field's JSON value, exactly as it is sent.
	Value []byte
}

// Get returns the JSON value of field name, nil when the record has none.
func (r Record) Get(name string) []byte {
	for _, f := range r {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

// AppendJSON appends r as a JSON object, {"Name":Value,...} in field order,
// to dst. It is the one encoding of records: the upsert body's data[] items
// and the dead letters' zoho.record, byte for byte.
func (r Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i, f := range r {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = gjson.AppendJSONString(dst, f.Name)
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	return append(dst, '}')
}

// JSON returns AppendJSON(nil).
func (r Record) JSON() []byte { return r.AppendJSON(nil) }

// jsonSize is the length of AppendJSON's output when names need no escapes.
func (r Record) jsonSize() int {
	n := 2
	for _, f := range r {
		n += len(f.Name) + len(f.Value) + 4
	}
	return n
}

// Merge returns the fields of recs in one record: each name at the place it
// first appears, with the value of the last record that has it (a later
// record's field wins). A single record is returned as it is; otherwise the
// result is a new Record sharing the Value bytes of recs.
func Merge(recs ...Record) Record {
	if len(recs) == 1 {
		return recs[0]
	}
	n := 0
	for _, r := range recs {
		n = max(n, len(r))
	}
	out := make(Record, 0, n+2)
	for _, r := range recs {
	fields:
		for _, f := range r {
			for i := range out {
				if out[i].Name == f.Name {
					out[i].Value = f.Value
					continue fields
				}
			}
			out = append(out, f)
		}
	}
	return out
}
