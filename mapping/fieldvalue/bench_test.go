package fieldvalue

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/zohoapi"
)

// BenchmarkAppend is the cost of converting one value on the hot path (run
// with -benchmem): text, integer from a string, datetime with "Z" and with an
// offset, currency from a string, multiselect from a comma string.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    zohoapi.Field
		in   string
	}{
		{"text", zohoapi.Field{APIName: "Company", DataType: "text", Length: 200}, `"  Acme Ltd  "`},
		{"integer", zohoapi.Field{APIName: "No_of_Employees", DataType: "integer", Length: 9}, `"250"`},
		{"datetime_Z", zohoapi.Field{APIName: "Signed_Up_At", DataType: "datetime", Length: 120}, `"2026-11-28T10:31:43.123Z"`},
		{"datetime_offset", zohoapi.Field{APIName: "Signed_Up_At", DataType: "datetime", Length: 120}, `"2026-11-28T10:31:43+05:30"`},
		{"currency", zohoapi.Field{APIName: "Annual_Revenue", DataType: "currency", Length: 16, DecimalPlace: 2}, `"1999.999"`},
		{"multiselect", zohoapi.Field{APIName: "Interests", DataType: "multiselectpicklist", PicklistValues: []string{"CRM", "Email", "Chat"}}, `"CRM, Chat"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(bc.f)
			if err != nil {
				b.Fatal(err)
			}
			v := gjson.Parse(bc.in)
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				if buf, _, err = c.Append(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
