package fieldvalue

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/zohoapi"
)

// FuzzAppend: for every supported type and any JSON value, Append never
// panics, appends valid JSON of the type's JSON kind or nothing, and fails
// only with an *Error naming the field.
func FuzzAppend(f *testing.F) {
	for _, seed := range []string{`"Acme"`, `42`, `-1.005`, `"1,2, 3"`, `["a",1,null]`, `true`, `"yes"`,
		`"2026-11-28T10:31:43.5+05:30"`, `1764325903999`, `"12.5%"`, `1e308`, `"\u0000"`, `{}`, `null`, `"2026-11-28"`} {
		f.Add(seed)
	}
	var convs []*Converter
	for dt := range kinds {
		c, err := New(zohoapi.Field{APIName: "F", DataType: dt, Length: 16, DecimalPlace: 2, PicklistValues: []string{"a"}})
		if err != nil {
			f.Fatal(err)
		}
		convs = append(convs, c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !gjson.Valid(in) {
			return
		}
		v := gjson.Parse(in)
		for _, c := range convs {
			out, _, err := c.Append([]byte("x"), v)
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) || fe.Field != "F" || string(out) != "x" {
					t.Fatalf("%s %q: %v, dst %q", c.dataType, in, err, out)
				}
				continue
			}
			got := out[1:]
			var decoded any
			if err := json.Unmarshal(got, &decoded); err != nil {
				t.Fatalf("%s %q: appended %q is not JSON", c.dataType, in, got)
			}
			ok := false
			switch decoded.(type) {
			case string:
				ok = c.kind == kindText || c.kind == kindPicklist || c.kind == kindDate || c.kind == kindDatetime
			case float64:
				ok = c.kind == kindInteger || c.kind == kindBigint || c.kind == kindDecimal
			case bool:
				ok = c.kind == kindBoolean
			case []any:
				ok = c.kind == kindMultiPicklist
			}
			if !ok {
				t.Fatalf("%s %q: appended %s", c.dataType, in, got)
			}
		}
	})
}
