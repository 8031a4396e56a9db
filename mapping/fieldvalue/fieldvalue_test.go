package fieldvalue

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/zohoapi"
)

// tc is one conversion: in is the event's JSON value; want is the JSON
// appended, or reason the refusal.
type tc struct {
	in, want string
	reason   Reason
	outside  bool
}

func field(dataType string, length int) zohoapi.Field {
	return zohoapi.Field{APIName: "F", DataType: dataType, Length: length, DecimalPlace: -1}
}

func run(t *testing.T, f zohoapi.Field, cases []tc) {
	t.Helper()
	c, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cases {
		v := gjson.Parse(k.in)
		if k.in == "" {
			v = gjson.Result{} // missing
		}
		prefix := []byte(`{"F":`)
		out, note, err := c.Append(prefix, v)
		if k.reason != "" {
			var fe *Error
			if !errors.As(err, &fe) || fe.Reason != k.reason || fe.Field != "F" || string(out) != string(prefix) {
				t.Errorf("%s %s: got %q %v, want reason %s and dst unchanged", f.DataType, k.in, out, err, k.reason)
			}
			continue
		}
		got := strings.TrimPrefix(string(out), string(prefix))
		if err != nil || got != k.want || note.OutsidePicklist != k.outside {
			t.Errorf("%s %s: got %s %+v %v, want %s outside=%v", f.DataType, k.in, got, note, err, k.want, k.outside)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s %s: not JSON: %s", f.DataType, k.in, got)
		}
	}
}

// TestConvertByType is the table per data type: valid values, values that
// convert, and values that cannot be converted, with their reasons.
func TestConvertByType(t *testing.T) {
	text := []tc{
		// valid
		{in: `"Acme Ltd"`, want: `"Acme Ltd"`},
		{in: `"Zoë \"Q\" \\"`, want: `"Zoë \"Q\" \\"`},
		{in: `"ünïcödé10"`, want: `"ünïcödé10"`}, // 10 characters, 14 bytes
		// convertible
		{in: `"  padded  "`, want: `"padded"`},
		{in: `5551234`, want: `"5551234"`},
		{in: `true`, want: `"true"`},
		{in: `"a\nb"`, want: `"a\nb"`},
		// invalid
		{in: `"eleven char"`, reason: ReasonTooLong},
		{in: `""`, reason: ReasonEmpty},
		{in: `"   "`, reason: ReasonEmpty},
		{in: `null`, reason: ReasonEmpty},
		{in: ``, reason: ReasonEmpty},
		{in: `{"a":1}`, reason: ReasonWrongType},
		{in: `["a"]`, reason: ReasonWrongType},
	}
	for _, dt := range []string{"text", "textarea", "email", "phone", "website"} {
		t.Run(dt, func(t *testing.T) { run(t, field(dt, 10), text) })
	}
	// A number's text is its exact decimal text, whatever way the producer
	// wrote it (as the preset's fields are sent).
	t.Run("number as text", func(t *testing.T) {
		run(t, field("textarea", 100), []tc{
			{in: `1e21`, want: `"1000000000000000000000"`},
			{in: `1E+21`, want: `"1000000000000000000000"`},
			{in: `12.50`, want: `"12.5"`},
			{in: `-0`, want: `"0"`},
			{in: `1e500`, reason: ReasonTooLong},
		})
	})

	t.Run("picklist", func(t *testing.T) {
		f := field("picklist", 20)
		f.PicklistValues = []string{"Web Download", "Partner"}
		run(t, f, []tc{
			{in: `"Partner"`, want: `"Partner"`},
			{in: `" Web Download "`, want: `"Web Download"`},
			{in: `"Website"`, want: `"Website"`, outside: true},
			{in: `3`, want: `"3"`, outside: true},
			{in: `"partner"`, want: `"partner"`, outside: true}, // Zoho's values are case-sensitive
			{in: `"a value over twenty chars"`, reason: ReasonTooLong},
			{in: `["Partner"]`, reason: ReasonWrongType},
			{in: `""`, reason: ReasonEmpty},
		})
	})

	t.Run("multiselectpicklist", func(t *testing.T) {
		f := field("multiselectpicklist", 2000)
		f.PicklistValues = []string{"Red", "Green", "Blue"}
		run(t, f, []tc{
			{in: `["Red","Blue"]`, want: `["Red","Blue"]`},
			{in: `"Red, Green ,Blue"`, want: `["Red","Green","Blue"]`},
			{in: `"Red"`, want: `["Red"]`},
			{in: `[" Red ","",null,"Pink"]`, want: `["Red","Pink"]`, outside: true},
			{in: `"Red,,"`, want: `["Red"]`},
			{in: `["Red",5]`, reason: ReasonWrongType}, // items are option texts: a number is not guessed into one
			{in: `[true]`, reason: ReasonWrongType},
			{in: `["Red",["Blue"]]`, reason: ReasonWrongType},
			{in: `[]`, reason: ReasonEmpty},
			{in: `" , "`, reason: ReasonEmpty},
			{in: `[""]`, reason: ReasonEmpty},
			{in: `[{"a":1}]`, reason: ReasonWrongType},
			{in: `{"a":1}`, reason: ReasonWrongType},
			{in: `42`, reason: ReasonWrongType},
		})
	})

	t.Run("integer", func(t *testing.T) {
		run(t, field("integer", 9), []tc{
			{in: `42`, want: `42`},
			{in: `-999999999`, want: `-999999999`},
			{in: `0`, want: `0`},
			{in: `"42"`, want: `42`},
			{in: `" +007 "`, want: `7`},
			{in: `12.0`, want: `12`},
			{in: `1e3`, want: `1000`},
			{in: `"-0"`, want: `0`},
			{in: `1000000000`, reason: ReasonOutOfRange},
			{in: `"2147483648"`, reason: ReasonOutOfRange},
			{in: `1e300`, reason: ReasonOutOfRange},
			{in: `1.5`, reason: ReasonNotAnInteger},
			{in: `"1-2 People"`, reason: ReasonNotANumber},
			{in: `"1.5"`, reason: ReasonNotANumber},
			{in: `"12abc"`, reason: ReasonNotANumber},
			{in: `true`, reason: ReasonNotANumber},
			{in: `[1]`, reason: ReasonWrongType},
			{in: `" "`, reason: ReasonEmpty},
		})
		run(t, field("integer", 0), []tc{ // no length: Zoho's 9 digits
			{in: `999999999`, want: `999999999`},
			{in: `1000000000`, reason: ReasonOutOfRange},
		})
		run(t, field("integer", 3), []tc{
			{in: `-999`, want: `-999`},
			{in: `1000`, reason: ReasonOutOfRange},
		})
	})

	t.Run("bigint", func(t *testing.T) {
		run(t, field("bigint", 18), []tc{
			{in: `123456789012345678`, want: `123456789012345678`}, // beyond 2^53, exact
			{in: `"-123456789012345678"`, want: `-123456789012345678`},
			{in: `2147483648`, want: `2147483648`},
			{in: `1234567890123456789`, reason: ReasonOutOfRange},
			{in: `"9223372036854775808"`, reason: ReasonOutOfRange},
			{in: `1.25`, reason: ReasonNotAnInteger},
			{in: `"n/a"`, reason: ReasonNotANumber},
		})
	})

	t.Run("currency", func(t *testing.T) {
		f := field("currency", 16)
		f.DecimalPlace = 2
		run(t, f, []tc{
			{in: `1999.99`, want: `1999.99`},
			{in: `12`, want: `12`},
			{in: `1.005`, want: `1.01`}, // decimal rounding, half away from zero
			{in: `-1.005`, want: `-1.01`},
			{in: `9.999`, want: `10`},
			{in: `"1999.50"`, want: `1999.5`},
			{in: `"+.5"`, want: `0.5`},
			{in: `-0.001`, want: `0`},
			{in: `1.5e3`, want: `1500`},
			{in: `"0012.30"`, want: `12.3`},
			{in: `12345678901234`, want: `12345678901234`},
			{in: `123456789012345`, reason: ReasonOutOfRange}, // 15 integer digits > 16-2
			{in: `"$12"`, reason: ReasonNotANumber},
			{in: `"1,5"`, reason: ReasonNotANumber},
			{in: `"0x10"`, reason: ReasonNotANumber},
			{in: `"Inf"`, reason: ReasonNotANumber},
			{in: `"12%"`, reason: ReasonNotANumber},
			{in: `false`, reason: ReasonNotANumber},
			{in: `{}`, reason: ReasonWrongType},
		})
	})

	t.Run("decimal and double", func(t *testing.T) {
		f := field("decimal", 16)
		f.DecimalPlace = 3
		run(t, f, []tc{
			{in: `3.14159`, want: `3.142`},
			{in: `"2.5"`, want: `2.5`},
			{in: `"abc"`, reason: ReasonNotANumber},
		})
		run(t, field("double", 16), []tc{ // decimal_place null: as sent
			{in: `3.14159`, want: `3.14159`},
			{in: `1e-3`, want: `0.001`},
		})
	})

	t.Run("percent", func(t *testing.T) {
		f := field("percent", 5)
		f.DecimalPlace = 2
		run(t, f, []tc{
			{in: `12.5`, want: `12.5`},
			{in: `"12.5%"`, want: `12.5`},
			{in: `" 100 % "`, want: `100`},
			{in: `33.333`, want: `33.33`},
			{in: `1000`, reason: ReasonOutOfRange},
			{in: `"%"`, reason: ReasonNotANumber},
		})
	})

	t.Run("boolean", func(t *testing.T) {
		run(t, field("boolean", 5), []tc{
			{in: `true`, want: `true`},
			{in: `false`, want: `false`},
			{in: `"TRUE"`, want: `true`},
			{in: `"yes"`, want: `true`},
			{in: `" No "`, want: `false`},
			{in: `"1"`, want: `true`},
			{in: `"0"`, want: `false`},
			{in: `1`, want: `true`},
			{in: `0`, want: `false`},
			{in: `"y"`, reason: ReasonNotABoolean},
			{in: `2`, reason: ReasonNotABoolean},
			{in: `"on"`, reason: ReasonNotABoolean},
			{in: `[true]`, reason: ReasonWrongType},
			{in: `""`, reason: ReasonEmpty},
		})
	})

	t.Run("date", func(t *testing.T) {
		run(t, field("date", 20), []tc{
			{in: `"2026-11-28"`, want: `"2026-11-28"`},
			{in: `"2026-11-28T23:30:00-05:00"`, want: `"2026-11-28"`}, // the date as written
			{in: `"2026-11-28T10:00:00.123Z"`, want: `"2026-11-28"`},
			{in: `1764324000`, want: `"2025-11-28"`},    // epoch seconds (UTC)
			{in: `1764324000123`, want: `"2025-11-28"`}, // epoch milliseconds
			// Epoch numbers by magnitude, negative ones alike (see the package doc).
			{in: `-2208988800`, want: `"1900-01-01"`},        // seconds before 1970
			{in: `-2208988800000`, want: `"1900-01-01"`},     // milliseconds before 1970
			{in: `45792000000`, want: `"1971-06-15"`},        // milliseconds of 1971, not seconds of 3421
			{in: `-86400000000`, want: `"1967-04-07"`},       // milliseconds
			{in: `20261128`, reason: ReasonAmbiguousNumber},  // yyyymmdd, or seconds of 1970-08-23
			{in: `-86400000`, reason: ReasonAmbiguousNumber}, // ms of 1969-12-31, or seconds of 1967-04-07
			{in: `0`, reason: ReasonAmbiguousNumber},
			{in: `99999999.5`, reason: ReasonAmbiguousNumber},
			{in: `" 2026-02-01 "`, want: `"2026-02-01"`},
			{in: `"2026-02-30"`, reason: ReasonBadDate},
			{in: `"28/11/2026"`, reason: ReasonBadDate},
			{in: `"2026-11-28 10:00"`, reason: ReasonBadDate},
			{in: `"yesterday"`, reason: ReasonBadDate},
			{in: `1e20`, reason: ReasonBadDate},
			{in: `true`, reason: ReasonBadDate},
			{in: `{}`, reason: ReasonWrongType},
		})
	})

	t.Run("datetime", func(t *testing.T) {
		run(t, field("datetime", 120), []tc{
			{in: `"2026-11-28T10:31:43+05:30"`, want: `"2026-11-28T10:31:43+05:30"`},
			{in: `"2026-11-28T10:31:43Z"`, want: `"2026-11-28T10:31:43+00:00"`},
			{in: `"2026-11-28T10:31:43.123456Z"`, want: `"2026-11-28T10:31:43+00:00"`},
			{in: `"2026-11-28T10:31:43.5-08:00"`, want: `"2026-11-28T10:31:43-08:00"`},
			{in: `1764325903`, want: `"2025-11-28T10:31:43+00:00"`},
			{in: `1764325903999`, want: `"2025-11-28T10:31:43+00:00"`},
			{in: `-86400000`, reason: ReasonAmbiguousNumber},
			{in: `-86399000`, reason: ReasonAmbiguousNumber},
			{in: `-1`, reason: ReasonAmbiguousNumber},
			{in: `20261128`, reason: ReasonAmbiguousNumber},
			{in: `-100000000`, want: `"1966-10-31T14:13:20+00:00"`},
			{in: `-10000000000`, want: `"1969-09-07T06:13:20+00:00"`},
			{in: `"2026-11-28"`, reason: ReasonBadDate}, // time and zone unknown
			{in: `"2026-11-28T10:31:43"`, reason: ReasonBadDate},
			{in: `"2026-11-28 10:31:43+00:00"`, reason: ReasonBadDate},
			{in: `"soon"`, reason: ReasonBadDate},
			{in: `"2026-11-28T10:31:43.+00:00"`, reason: ReasonBadDate},
			{in: `"2026-11-28T25:00:00Z"`, reason: ReasonBadDate},
			{in: `"2026-02-30T10:00:00Z"`, reason: ReasonBadDate},
			{in: `"2026-11-28T10:31:43+24:00"`, reason: ReasonBadDate},
			{in: `"2026-11-28T10:31:43+0530"`, reason: ReasonBadDate},
			{in: `"2026-11-28t10:31:43Z"`, reason: ReasonBadDate},
			{in: `["2026-11-28T10:31:43Z"]`, reason: ReasonWrongType},
		})
	})
}

func TestErrorDetails(t *testing.T) {
	c, err := New(zohoapi.Field{APIName: "No_of_Employees", DataType: "integer", Length: 9})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Append(nil, gjson.Parse(`"1-2 People"`))
	var fe *Error
	if !errors.As(err, &fe) || fe.ExpectedDataType != "integer" || fe.Details() != `{"api_name":"No_of_Employees","expected_data_type":"integer"}` {
		t.Fatalf("%v %s", err, fe.Details())
	}
	if strings.Contains(err.Error(), "1-2") {
		t.Fatalf("error carries the value: %v", err)
	}
	m, _ := New(zohoapi.Field{APIName: "Colours", DataType: "multiselectpicklist"})
	_, _, err = m.Append(nil, gjson.Parse(`{}`))
	if !errors.As(err, &fe) || fe.ExpectedDataType != "jsonarray" {
		t.Fatalf("%v", err)
	}
	s, _ := New(zohoapi.Field{APIName: "Code", DataType: "text", Length: 3})
	_, _, err = s.Append(nil, gjson.Parse(`"abcd"`))
	if !errors.As(err, &fe) || fe.Details() != `{"api_name":"Code","expected_data_type":"text","maximum_length":3}` {
		t.Fatalf("%v", err)
	}
}

func TestSupported(t *testing.T) {
	for _, dt := range []string{"text", "textarea", "email", "phone", "website", "picklist", "multiselectpicklist",
		"integer", "bigint", "double", "decimal", "currency", "percent", "boolean", "date", "datetime"} {
		if err := Supported(zohoapi.Field{APIName: "F", DataType: dt}); err != nil {
			t.Errorf("%s: %v", dt, err)
		}
	}
	for _, dt := range []string{"lookup", "ownerlookup", "userlookup", "multiselectlookup", "fileupload", "imageupload",
		"profileimage", "formula", "autonumber", "subform", "consent_lookup", ""} {
		err := Supported(zohoapi.Field{APIName: "Account_Name", DataType: dt})
		var fe *Error
		if !errors.As(err, &fe) || fe.Reason != ReasonUnsupportedType || !strings.Contains(err.Error(), "Account_Name") || !strings.Contains(err.Error(), "supported: text") {
			t.Errorf("%s: %v", dt, err)
		}
	}
	err := Supported(zohoapi.Field{APIName: "Lead_Owner_Code", DataType: "text", ReadOnly: true})
	var fe *Error
	if !errors.As(err, &fe) || fe.Reason != ReasonReadOnly || err.Error() != "field Lead_Owner_Code is read-only" {
		t.Errorf("read-only: %v", err)
	}
}

// TestReasonsCoverAppend: every reason Append reports for a field is among
// the converter's Reasons (metrics pre-create their series from them).
func TestReasonsCoverAppend(t *testing.T) {
	ins := []string{`"x"`, `" "`, `[]`, `{}`, `[{}]`, `1.5`, `"1-2"`, `1e30`, `"9999999999999999999999"`, `true`, `"maybe"`, `"28/11/2026"`,
		`"` + strings.Repeat("x", 300) + `"`, `"2026-11-28"`, `12`, `-1`}
	for dataType := range kinds {
		c, err := New(zohoapi.Field{APIName: "F", DataType: dataType, Length: 20, DecimalPlace: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			_, _, err := c.Append(nil, gjson.Parse(in))
			var fe *Error
			if errors.As(err, &fe) && !slices.Contains(c.Reasons(), fe.Reason) {
				t.Errorf("%s %s: reason %s not in Reasons %v", dataType, in, fe.Reason, c.Reasons())
			}
		}
	}
}

// TestUnpairedSurrogateIsInvalidUnicode: a text with an unpaired UTF-16
// surrogate escape, which gjson decodes to U+FFFD, is ReasonInvalidUnicode
// for every field that takes text (also an item of a multi-select, and
// without metadata through InvalidText), never sent as U+FFFD; a pair is the
// character it encodes.
func TestUnpairedSurrogateIsInvalidUnicode(t *testing.T) {
	cases := []tc{
		{in: `"\ud83d\ude00 ok"`, want: `"😀 ok"`},
		{in: `"x\ud800"`, reason: ReasonInvalidUnicode},
		{in: `"\udc00x"`, reason: ReasonInvalidUnicode},
		{in: `"\ud800\u0041"`, reason: ReasonInvalidUnicode},
	}
	for _, dt := range []string{"text", "textarea", "picklist", "phone"} {
		t.Run(dt, func(t *testing.T) { run(t, field(dt, 100), cases) })
	}
	t.Run("multiselectpicklist", func(t *testing.T) {
		run(t, field("multiselectpicklist", 100), []tc{
			{in: `["a","\ud83d\ude00"]`, want: `["a","😀"]`},
			{in: `["a","x\ud800"]`, reason: ReasonInvalidUnicode},
			{in: `"a,x\ud800"`, reason: ReasonInvalidUnicode},
		})
	})
	t.Run("untyped", func(t *testing.T) {
		if err := InvalidText("F", gjson.Parse(`"x\ud800"`)); err == nil || err.Reason != ReasonInvalidUnicode || err.Field != "F" {
			t.Errorf("InvalidText(unpaired) = %v, want %s", err, ReasonInvalidUnicode)
		}
		if err := InvalidText("F", gjson.Parse(`"\ud83d\ude00"`)); err != nil {
			t.Errorf("InvalidText(pair) = %v, want nil", err)
		}
	})
}

func TestDecimalText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"-0", "0"}, {"-0.0", "0"}, {"5", "5"}, {"-12", "-12"}, {"99.0", "99"}, {"99.50", "99.5"},
		{"1e3", "1000"}, {"1E+3", "1000"}, {"1.5e-7", "0.00000015"}, {"2.5E-3", "0.0025"}, {"0.8999999761581421", "0.8999999761581421"},
		{"1664533942262", "1664533942262"}, {"12345678901234567890123", "12345678901234567890123"}, {"1.23e2", "123"},
		{"0.00", "0"}, {"100", "100"}, {"1000e-3", "1"}, {"0e5", "0"}, {"123.456e1", "1234.56"},
		{"1e21", "1000000000000000000000"}, {"1E+21", "1000000000000000000000"}, {"-1e+21", "-1000000000000000000000"},
		{"0.5", "0.5"}, {"-0.5", "-0.5"}, {"10", "10"}, {"-7", "-7"}, {"-0.10", "-0.1"}, {"00", "0"},
	}
	for _, tt := range tests {
		if got, ok := DecimalText(tt.in); !ok || got != tt.want {
			t.Errorf("DecimalText(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	for _, in := range []string{"", "-", "1e", "1e+", "abc", "1x", "1e99999", "1e401", "--1"} {
		if got, ok := DecimalText(in); ok {
			t.Errorf("DecimalText(%q) = %q, want failure", in, got)
		}
	}
}
