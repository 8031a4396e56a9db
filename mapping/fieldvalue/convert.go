package fieldvalue

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/zohoapi"
)

// kind is the conversion a data type takes.
type kind uint8

const (
	kindText kind = iota + 1
	kindPicklist
	kindMultiPicklist
	kindInteger
	kindBigint
	kindDecimal
	kindBoolean
	kindDate
	kindDatetime
)

// kinds maps every data type zohosink writes to its conversion.
var kinds = map[string]kind{
	"text": kindText, "textarea": kindText, "email": kindText, "phone": kindText, "website": kindText,
	"picklist": kindPicklist, "multiselectpicklist": kindMultiPicklist,
	"integer": kindInteger, "bigint": kindBigint,
	"double": kindDecimal, "decimal": kindDecimal, "currency": kindDecimal, "percent": kindDecimal,
	"boolean": kindBoolean, "date": kindDate, "datetime": kindDatetime,
}

// supportedList names the supported data types, for messages.
const supportedList = "text, textarea, email, phone, website, picklist, multiselectpicklist, integer, bigint, double, decimal, currency, percent, boolean, date, datetime"

// Default maximum digits when a number field reports no length (Zoho's
// limits of the field types).
const (
	integerDigits = 9
	bigintDigits  = 18
	decimalDigits = 16
)

// Converter converts values for one field. Build it with [New]; it is
// immutable and safe for concurrent use.
type Converter struct {
	field    string
	dataType string
	kind     kind
	length   int      // characters (text kinds) or digits (numbers); 0: unchecked
	decimals int      // decimal places of a decimal kind; -1: as sent
	percent  bool     // accepts a trailing "%" in strings
	picks    []string // picklist values, sorted, for OutsidePicklist
}

// Note reports facts about a converted value that are not errors.
type Note struct {
	// OutsidePicklist: a picklist value (or an item of a multiselectpicklist)
	// is not among the field's pick_list_values. Zoho accepts such values
	// (zoho-crm-api.md: v7 docs; unconfirmed for v8); `config validate
	// --online` warns about constants that are.
	OutsidePicklist bool
}

// New returns the Converter for field f, or an *Error with
// ReasonUnsupportedType (a data type outside the package doc's table) or
// ReasonReadOnly.
func New(f zohoapi.Field) (*Converter, error) {
	k, ok := kinds[f.DataType]
	if !ok {
		return nil, &Error{Field: f.APIName, DataType: f.DataType, Reason: ReasonUnsupportedType, ExpectedDataType: f.DataType}
	}
	if f.ReadOnly {
		return nil, &Error{Field: f.APIName, DataType: f.DataType, Reason: ReasonReadOnly, ExpectedDataType: f.DataType}
	}
	c := &Converter{field: f.APIName, dataType: f.DataType, kind: k, length: f.Length, decimals: f.DecimalPlace, percent: f.DataType == "percent"}
	switch k {
	case kindInteger:
		c.length = digitLimit(f.Length, integerDigits)
	case kindBigint:
		c.length = digitLimit(f.Length, bigintDigits)
	case kindDecimal:
		c.length = digitLimit(f.Length, decimalDigits)
	case kindPicklist, kindMultiPicklist:
		c.picks = slices.Clone(f.PicklistValues)
		slices.Sort(c.picks)
	}
	if k != kindDecimal {
		c.decimals = -1
	}
	return c, nil
}

// Supported reports whether zohosink can write field f: nil, or the *Error
// of [New] (ReasonUnsupportedType or ReasonReadOnly). It is the check for
// configuration validation.
func Supported(f zohoapi.Field) error {
	_, err := New(f)
	return err
}

// digitLimit is the field's length capped by the type's maximum digits.
func digitLimit(length, maxDigits int) int {
	if length <= 0 || length > maxDigits {
		return maxDigits
	}
	return length
}

// Field is the API name of the converter's field.
func (c *Converter) Field() string { return c.field }

// Append appends Zoho's JSON encoding of v, converted for the field, to dst.
// On error it returns dst unchanged and an *Error (see the package doc for
// what converts and the reasons).
func (c *Converter) Append(dst []byte, v gjson.Result) ([]byte, Note, error) {
	var note Note
	if isEmpty(v) {
		return dst, note, c.fail(ReasonEmpty)
	}
	if lostText(v) {
		return dst, note, c.fail(ReasonInvalidUnicode)
	}
	var out []byte
	var reason Reason
	switch c.kind {
	case kindText, kindPicklist:
		var s string
		if s, reason = c.text(v); reason == "" {
			out = gjson.AppendJSONString(dst, s)
			note.OutsidePicklist = c.kind == kindPicklist && c.outside(s)
		}
	case kindMultiPicklist:
		out, note.OutsidePicklist, reason = c.appendMulti(dst, v)
	case kindInteger, kindBigint:
		out, reason = c.appendInteger(dst, v)
	case kindDecimal:
		out, reason = c.appendDecimal(dst, v)
	case kindBoolean:
		out, reason = appendBoolean(dst, v)
	case kindDate:
		out, reason = appendDate(dst, v)
	case kindDatetime:
		out, reason = appendDatetime(dst, v)
	}
	if reason != "" {
		return dst, Note{}, c.fail(reason)
	}
	return out, note, nil
}

// fail is the *Error for reason.
func (c *Converter) fail(r Reason) error {
	e := &Error{Field: c.field, DataType: c.dataType, Reason: r, ExpectedDataType: c.dataType}
	if c.kind == kindMultiPicklist {
		e.ExpectedDataType = "jsonarray"
	}
	if r == ReasonTooLong || r == ReasonOutOfRange {
		e.MaximumLength = c.length
	}
	return e
}

// InvalidText is the *Error of a text sent without metadata (no converter:
// sent as the JSON string it is) that would reach Zoho with U+FFFD
// (ReasonInvalidUnicode), nil for every other value. DataType and
// ExpectedDataType are "text".
func InvalidText(field string, v gjson.Result) *Error {
	if !lostText(v) {
		return nil
	}
	return &Error{Field: field, DataType: "text", Reason: ReasonInvalidUnicode, ExpectedDataType: "text"}
}

// lostText reports whether v is a string whose decoded text holds U+FFFD
// (see ReasonInvalidUnicode). gjson decodes an unpaired surrogate escape to
// U+FFFD; the check costs one search of the text, no allocation.
func lostText(v gjson.Result) bool {
	return v.Type == gjson.String && strings.Contains(v.Str, "\uFFFD")
}

// isEmpty: missing, null, a blank string or an empty array.
func isEmpty(v gjson.Result) bool {
	switch v.Type {
	case gjson.Null:
		return true
	case gjson.String:
		return strings.TrimSpace(v.Str) == ""
	case gjson.JSON:
		return v.IsArray() && strings.TrimSpace(v.Raw[1:len(v.Raw)-1]) == ""
	}
	return false
}

// text is the scalar text of v checked against the field's length in
// characters.
func (c *Converter) text(v gjson.Result) (string, Reason) {
	s, r := scalarText(v)
	if r == "" && c.length > 0 && len(s) > c.length && utf8.RuneCountInString(s) > c.length {
		return "", ReasonTooLong
	}
	return s, r
}

// scalarText is the trimmed text of a string, the exact decimal text of a
// number (DecimalText: 1e21 and 1E+21 alike, as the preset's fields and
// untyped values are sent) or the JSON text of a boolean. A number of more
// than 400 digits is ReasonTooLong.
func scalarText(v gjson.Result) (string, Reason) {
	var s string
	switch v.Type {
	case gjson.String:
		s = strings.TrimSpace(v.Str)
	case gjson.Number:
		var ok bool
		if s, ok = DecimalText(v.Raw); !ok {
			return "", ReasonTooLong
		}
	case gjson.True, gjson.False:
		s = v.Raw
	default:
		return "", ReasonWrongType
	}
	if s == "" {
		return "", ReasonEmpty
	}
	return s, ""
}

// outside reports whether s is not among the field's picklist values (false
// when the field lists none).
func (c *Converter) outside(s string) bool {
	if len(c.picks) == 0 {
		return false
	}
	_, found := slices.BinarySearch(c.picks, s)
	return !found
}

// appendMulti appends a JSON array of strings from an array of strings or a
// comma-separated string; items are trimmed and empty ones dropped, and each
// is looked up in the picklist. An item that is not a string (a number, a
// boolean, an object) is ReasonWrongType: multi-select values are the
// picklist's option texts (zoho-crm-api.md "Fields metadata": JSON arrays),
// and a number in an array is more likely an option's index or id than its
// text, so it is not guessed into one.
func (c *Converter) appendMulti(dst []byte, v gjson.Result) ([]byte, bool, Reason) {
	out := append(dst, '[')
	n, outside := 0, false
	add := func(s string) {
		if n > 0 {
			out = append(out, ',')
		}
		out = gjson.AppendJSONString(out, s)
		outside = outside || c.outside(s)
		n++
	}
	switch {
	case v.Type == gjson.String:
		for item := range strings.SplitSeq(v.Str, ",") {
			if item = strings.TrimSpace(item); item != "" {
				add(item)
			}
		}
	case v.IsArray():
		reason := Reason("")
		v.ForEach(func(_, e gjson.Result) bool {
			if isEmpty(e) {
				return true
			}
			if e.Type != gjson.String {
				reason = ReasonWrongType
				return false
			}
			if lostText(e) {
				reason = ReasonInvalidUnicode
				return false
			}
			add(strings.TrimSpace(e.Str))
			return true
		})
		if reason != "" {
			return dst, false, reason
		}
	default:
		return dst, false, ReasonWrongType
	}
	if n == 0 {
		return dst, false, ReasonEmpty
	}
	return append(out, ']'), outside, ""
}

// kindReasons are the reasons Append may report for a kind, beyond
// ReasonEmpty, ReasonWrongType and ReasonInvalidUnicode, which every kind
// may report.
var kindReasons = map[kind][]Reason{
	kindText:          {ReasonTooLong},
	kindPicklist:      {ReasonTooLong},
	kindInteger:       {ReasonNotANumber, ReasonNotAnInteger, ReasonOutOfRange},
	kindBigint:        {ReasonNotANumber, ReasonNotAnInteger, ReasonOutOfRange},
	kindDecimal:       {ReasonNotANumber, ReasonOutOfRange},
	kindBoolean:       {ReasonNotABoolean},
	kindDate:          {ReasonBadDate, ReasonAmbiguousNumber},
	kindDatetime:      {ReasonBadDate, ReasonAmbiguousNumber},
	kindMultiPicklist: nil,
}

// Reasons lists every Reason Append may report for the field's data type
// (for metrics whose series exist before the first omission).
func (c *Converter) Reasons() []Reason {
	return append([]Reason{ReasonEmpty, ReasonWrongType, ReasonInvalidUnicode}, kindReasons[c.kind]...)
}
