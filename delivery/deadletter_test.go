package delivery

import (
	"encoding/json"
	"testing"

	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/mapping/fieldvalue"
)

// TestWithOmitted: the values a mapping left out are added to any details
// Zoho sent (an object, none, or something else, kept under "zoho"), as
// valid JSON, and to the message.
func TestWithOmitted(t *testing.T) {
	om := []mapping.Omission{{Field: "Last_Name", Reason: fieldvalue.ReasonTooLong}, {Field: "Phone", Reason: fieldvalue.ReasonWrongType}}
	const list = `"omitted":[{"field":"Last_Name","reason":"too_long"},{"field":"Phone","reason":"wrong_type"}]`
	for in, want := range map[string]string{
		`{"api_name":"Last_Name"}`: `{"api_name":"Last_Name",` + list + `}`,
		` { } `:                    `{` + list + `}`,
		``:                         `{` + list + `}`,
		`[1]`:                      `{"zoho":[1],` + list + `}`,
		`not json`:                 `{"zoho":"not json",` + list + `}`,
	} {
		msg, got := withOmitted("required field not found", []byte(in), om)
		if string(got) != want || !json.Valid(got) {
			t.Errorf("details %q: got %s, want %s", in, got, want)
		}
		if want := "required field not found; values given but left out (mapping.invalid_values omit): Last_Name (too_long), Phone (wrong_type)"; msg != want {
			t.Errorf("message %q, want %q", msg, want)
		}
	}
}
