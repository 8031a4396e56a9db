package fieldvalue

import (
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
)

// Reason is why a value could not be converted, short and stable for a
// metric label (zohosink_mapping_values_omitted_total{field,reason}).
type Reason string

// The reasons.
const (
	// ReasonEmpty: null, missing, "" or blank, [] — never sent as a value.
	ReasonEmpty Reason = "empty"
	// ReasonWrongType: a JSON type the field cannot take at all (an object
	// for a text field, an array for a number).
	ReasonWrongType Reason = "wrong_type"
	// ReasonNotANumber: not a number, nor a string of one ("1-2 People").
	ReasonNotANumber Reason = "not_a_number"
	// ReasonNotAnInteger: a number with a fraction for integer or bigint.
	ReasonNotAnInteger Reason = "not_an_integer"
	// ReasonOutOfRange: more digits than the field's length, or beyond the
	// 32-bit (integer) / 64-bit (bigint) range.
	ReasonOutOfRange Reason = "out_of_range"
	// ReasonTooLong: text longer than the field's length in characters.
	ReasonTooLong Reason = "too_long"
	// ReasonNotABoolean: not true/false, yes/no, 1/0.
	ReasonNotABoolean Reason = "not_a_boolean"
	// ReasonBadDate: not a date or date-time in a form listed in the package doc.
	ReasonBadDate Reason = "bad_date"
	// ReasonInvalidUnicode: a text holding U+FFFD, the replacement
	// character, which is what decoding an unpaired UTF-16 surrogate escape
	// ("\ud800") gives (RFC 8259 section 8.2: such a string's behaviour is
	// unpredictable); the record's bytes are valid UTF-8 (mapping refuses
	// anything else), so U+FFFD means text was lost before it reached Zoho.
	ReasonInvalidUnicode Reason = "invalid_unicode"
	// ReasonAmbiguousNumber: a number for a date or datetime field that is
	// under 10^8 in magnitude: it may be epoch seconds, epoch milliseconds
	// or a yyyymmdd date (20261128), each a different date.
	ReasonAmbiguousNumber Reason = "ambiguous_number"
	// ReasonUnsupportedType: a data type zohosink does not write (lookup,
	// ownerlookup, fileupload, formula, autonumber, …).
	ReasonUnsupportedType Reason = "unsupported_type"
	// ReasonReadOnly: the field is read-only in Zoho.
	ReasonReadOnly Reason = "read_only"
)

// Error is a value that could not be converted for a field, or a field that
// cannot be written at all (from [New]). It never holds the value.
type Error struct {
	// Field is the field's API name ("No_of_Employees").
	Field string
	// DataType is the field's data_type ("integer").
	DataType string
	// Reason is why.
	Reason Reason
	// ExpectedDataType is what Zoho's INVALID_DATA names in
	// details.expected_data_type for such a value: the data type, "jsonarray"
	// for a multiselectpicklist (zoho-crm-api.md "Upsert Records").
	ExpectedDataType string
	// MaximumLength is the field's length for ReasonTooLong and
	// ReasonOutOfRange (Zoho's details.maximum_length), else 0.
	MaximumLength int
}

func (e *Error) Error() string {
	switch e.Reason {
	case ReasonUnsupportedType:
		return fmt.Sprintf("field %s is of type %s, which zohosink does not write (supported: %s)", e.Field, e.DataType, supportedList)
	case ReasonReadOnly:
		return fmt.Sprintf("field %s is read-only", e.Field)
	case ReasonTooLong:
		return fmt.Sprintf("field %s (%s): value longer than %d characters", e.Field, e.DataType, e.MaximumLength)
	case ReasonOutOfRange:
		return fmt.Sprintf("field %s (%s): value out of range (at most %d digits)", e.Field, e.DataType, e.MaximumLength)
	}
	return fmt.Sprintf("field %s (%s): value is %s", e.Field, e.DataType, e.Reason)
}

// Details is the error as the details of Zoho's INVALID_DATA, for a
// dead-letter record: {"api_name":…,"expected_data_type":…} plus
// "maximum_length" when set.
func (e *Error) Details() string {
	b := []byte(`{"api_name":`)
	b = gjson.AppendJSONString(b, e.Field)
	b = append(b, `,"expected_data_type":`...)
	b = gjson.AppendJSONString(b, e.ExpectedDataType)
	if e.MaximumLength > 0 {
		b = append(b, `,"maximum_length":`...)
		b = strconv.AppendInt(b, int64(e.MaximumLength), 10)
	}
	return string(append(b, '}'))
}
