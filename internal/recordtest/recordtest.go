// Package recordtest builds zohoapi.Record values from JSON literals for
// tests.
package recordtest

import (
	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/zohoapi"
)

// Of is the record of the members of the JSON object obj, in order, each
// value as written (obj must be a valid JSON object).
func Of(obj string) zohoapi.Record {
	var r zohoapi.Record
	gjson.Parse(obj).ForEach(func(k, v gjson.Result) bool {
		r = append(r, zohoapi.RecordField{Name: k.Str, Value: []byte(v.Raw)})
		return true
	})
	return r
}
