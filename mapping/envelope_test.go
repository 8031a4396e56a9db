package mapping

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// These tests pin how the envelope's objects are read in corner cases that
// real producers do hit (duplicate keys, escapes, pretty-printed JSON, deep
// nesting), so that the reading code can be changed without changing what
// a record maps to.

// consented wraps traits, context.traits and properties members into a
// consented identify event.
func consented(traits, ctxTraits, props string) []byte {
	v := `{"type":"identify"`
	if traits != "" {
		v += `,"traits":` + traits
	}
	if props != "" {
		v += `,"properties":` + props
	}
	v += `,"context":{"consent":{"canonical":["marketing"]}`
	if ctxTraits != "" {
		v += `,"traits":` + ctxTraits
	}
	return []byte(v + `}}`)
}

// nested returns inner wrapped in depth JSON arrays.
func nested(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

func TestMapObjectReading(t *testing.T) {
	m, err := NewMapper(MapperConfig{
		ConsentRequired: []string{"marketing"},
		Fields: []FieldMapping{
			{From: "traits.address.city", To: "City"},
			{From: "properties.plan", To: "Plan"},
			{From: "context.traits.opt_in", To: "Opt_In"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const a = `"email":"a@example.com"`
	tests := []struct {
		name  string
		value []byte
		want  map[string]any // nil: rejected with code
		code  string
	}{
		// One rule for repeated keys in the whole envelope: the first
		// occurrence counts, in traits, context.traits and properties (and
		// the objects inside them) as at the top level and in context.
		{"repeated trait key: first wins", consented(`{"email":"a@example.com","email":"b@example.com"}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		{"repeated trait key: first wins even if empty", consented(`{"email":"","email":"b@example.com"}`, "", ""),
			nil, CodeMissingEmail},
		{"repeated trait key: first empty, other spelling usable", consented(`{"email":"","email":"b@example.com","Email":"c@example.com"}`, "", ""),
			map[string]any{"Email": "c@example.com"}, ""},
		{"repeated company name", consented(`{`+a+`,"company":{"name":"Old","name":"New"}}`, "", ""),
			map[string]any{"Email": "a@example.com", "Company": "Old"}, ""},
		{"repeated property", consented(`{`+a+`}`, "", `{"plan":"free","plan":"pro"}`),
			map[string]any{"Email": "a@example.com", "Plan": "free"}, ""},
		{"repeated context trait", consented(``, `{`+a+`,"opt_in":true,"opt_in":false}`, ""),
			map[string]any{"Email": "a@example.com", "Opt_In": true}, ""},
		{"repeated key in a nested path", consented(`{`+a+`,"address":{"city":"Oslo","city":"Bergen"}}`, "", ""),
			map[string]any{"Email": "a@example.com", "City": "Oslo"}, ""},
		{"repeated traits member: first wins", []byte(`{"type":"identify","traits":{"email":"a@example.com"},"traits":{"email":"b@example.com"},"context":{"consent":{"canonical":["marketing"]}}}`),
			map[string]any{"Email": "a@example.com"}, ""},
		{"repeated context.traits member: first wins", []byte(`{"type":"identify","context":{"traits":{"email":"a@example.com"},"traits":{"email":"b@example.com"},"consent":{"canonical":["marketing"]}}}`),
			map[string]any{"Email": "a@example.com"}, ""},
		{"escaped top-level and context member names", []byte(`{"type":"identify","tr\u0061its":{"email":"a@example.com"},"properties":{},"context":{"con\u0073ent":{"canonical":["marketing"]},"tr\u0061its":{"phone":"1"}}}`),
			map[string]any{"Email": "a@example.com", "Phone": "1"}, ""},
		{"repeated consent member: first wins", []byte(`{"type":"identify","traits":{"email":"a@example.com"},"context":{"consent":{"canonical":["marketing"]},"consent":{}}}`),
			map[string]any{"Email": "a@example.com"}, ""},
		{"repeated context member: first wins", []byte(`{"type":"identify","traits":{"email":"a@example.com"},"context":{"consent":{"canonical":["marketing"]}},"context":{}}`),
			map[string]any{"Email": "a@example.com"}, ""},
		{"members after nested look-alikes", []byte(`{"type":"identify","x":{"traits":{"email":"x@example.com"},"context":{}},"y":["traits",{"context":1}],"traits":{"email":"a@example.com"},"context":{"x":{"consent":{},"traits":{}},"consent":{"canonical":["marketing"]}}}`),
			map[string]any{"Email": "a@example.com"}, ""},
		// Keys are compared unescaped; over-long keys never match.
		{"escaped key", consented(`{"e\u006dail":"a@example.com","first\u005fname":"Ann"}`, "", ""),
			map[string]any{"Email": "a@example.com", "First_Name": "Ann"}, ""},
		{"escaped and plain spelling of one key: first wins", consented(`{"email":"a@example.com","e\u006dail":"b@example.com"}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		{"key of 128 bytes matches", consented(`{"e`+strings.Repeat("_", 123)+`mail":"a@example.com"}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		{"key over 128 bytes never matches", consented(`{"e`+strings.Repeat("_", 124)+`mail":"a@example.com"}`, "", ""),
			nil, CodeMissingEmail},
		{"escaped key of 128 bytes unescaped matches", consented(`{"\u0065`+strings.Repeat("_", 123)+`mail":"a@example.com"}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		// Values.
		{"escaped values", consented(`{"email":"a\u0040example.com","firstName":"J\u00e9r\u00f4me \"Jo\"","lastName":"\ud83d\ude00\t"}`, "", ""),
			map[string]any{"Email": "a@example.com", "First_Name": `Jérôme "Jo"`, "Last_Name": "😀"}, ""},
		{"lone surrogate is left out (invalid_unicode)", consented(`{`+a+`,"firstName":"x\ud800"}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		{"invalid UTF-8 is DECODE_ERROR", consented(`{`+a+`,"firstName":"x`+"\xff"+`y"}`, "", ""),
			nil, CodeDecodeError},
		{"unicode white space trimmed", consented(`{`+a+`,"firstName":"\u00a0Ann\u2003"}`, "", ""),
			map[string]any{"Email": "a@example.com", "First_Name": "Ann"}, ""},
		{"pretty-printed", []byte("{\n  \"type\" : \"identify\" ,\n  \"traits\" : {\n    \"email\" : \"a@example.com\" ,\n    \"company\" : { \"name\" : \" Acme \" } ,\n    \"phone\" : 12 \n  } ,\n  \"context\" : { \"consent\" : { \"canonical\" : [ \"marketing\" ] } }\n}\n"),
			map[string]any{"Email": "a@example.com", "Company": "Acme", "Phone": "12"}, ""},
		// Company: spellings in preference order; an object without a name
		// is skipped, a text after it is used; traits before context.traits.
		{"company object without name, then a text spelling", consented(`{`+a+`,"company":{"id":1},"Company":"Acme"}`, "", ""),
			map[string]any{"Email": "a@example.com", "Company": "Acme"}, ""},
		{"company object without name, then context.traits", consented(`{`+a+`,"company":{"id":1}}`, `{"company":{"Name":"Ctx"}}`, ""),
			map[string]any{"Email": "a@example.com", "Company": "Ctx"}, ""},
		{"company empty object", consented(`{`+a+`,"company":{}}`, `{"company":"Ctx"}`, ""),
			map[string]any{"Email": "a@example.com", "Company": "Ctx"}, ""},
		// Configured nested paths: every matching spelling, in preference
		// order, until one yields a usable value.
		{"nested path: preferred spelling unusable, next one used", consented(`{`+a+`,"ADDRESS":{"city":"Bergen"},"address":{"city":""}}`, "", ""),
			map[string]any{"Email": "a@example.com", "City": "Bergen"}, ""},
		{"nested path through a non-object", consented(`{`+a+`,"address":"Oslo","Address":{"City":"Bergen"}}`, "", ""),
			map[string]any{"Email": "a@example.com", "City": "Bergen"}, ""},
		{"nested path falls back to context.traits", consented(`{`+a+`,"address":{"city":null}}`, `{"address":{"city":"Oslo"}}`, ""),
			map[string]any{"Email": "a@example.com", "City": "Oslo"}, ""},
		{"configured number and boolean", consented(`{`+a+`}`, `{"opt_in":true}`, `{"plan":1e2}`),
			map[string]any{"Email": "a@example.com", "Plan": "100", "Opt_In": true}, ""},
		// Nesting: the value as a whole nests at most 10000 levels
		// (encoding/json's limit), counted from the value itself, in any
		// member; deeper is DECODE_ERROR, whatever the member.
		{"10000 levels deep in traits", consented(`{`+a+`,"x":`+nested(9998, "1")+`}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		{"10001 levels deep in traits", consented(`{`+a+`,"x":`+nested(9999, "1")+`}`, "", ""),
			nil, CodeDecodeError},
		{"10001 levels deep in context.traits", consented(`{`+a+`}`, `{"x":`+nested(9998, "1")+`}`, ""),
			nil, CodeDecodeError},
		{"10001 levels deep in properties", consented(`{`+a+`}`, "", `{"x":`+nested(9998, "{}")+`}`),
			nil, CodeDecodeError},
		{"deep strings do not count", consented(`{`+a+`,"x":"`+strings.Repeat("[{", 10001)+`"}`, "", ""),
			map[string]any{"Email": "a@example.com"}, ""},
		{"traits a deep array, not an object", consented(nested(9999, "1"), "", ""),
			nil, CodeMissingEmail},
		{"10001 levels deep in another context member", []byte(`{"type":"identify","traits":{` + a + `},"context":{"page":` + nested(9999, "1") + `,"consent":{"canonical":["marketing"]}}}`),
			nil, CodeDecodeError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Map(tt.value)
			if tt.want == nil {
				if got.Outcome != OutcomeReject || got.Reject.Code != tt.code {
					t.Fatalf("got %s %q %q, want reject %s", got.Outcome, got.Drop, got.Reject.Code, tt.code)
				}
				return
			}
			if got.Outcome != OutcomeDeliver {
				t.Fatalf("got %s %q %q (%s)", got.Outcome, got.Drop, got.Reject.Code, got.Reject.Message)
			}
			if !reflect.DeepEqual(asMap(got.Record), tt.want) {
				t.Errorf("record\n got  %#v\n want %#v", got.Record, tt.want)
			}
		})
	}
}

func TestMapConsentShapes(t *testing.T) {
	m := leadPreset(t)
	const traits = `"type":"identify","traits":{"email":"a@example.com"}`
	for _, tt := range []struct {
		name  string
		value string
		want  Outcome
	}{
		{"context an array", `{` + traits + `,"context":[{"consent":{"canonical":["marketing"]}}]}`, OutcomeDrop},
		{"context a string", `{` + traits + `,"context":"consent"}`, OutcomeDrop},
		{"consent an array", `{` + traits + `,"context":{"consent":["marketing"]}}`, OutcomeDrop},
		{"repeated consent: second ignored", `{` + traits + `,"context":{"consent":{},"consent":{"canonical":["marketing"]}}}`, OutcomeDrop},
		{"escaped category", `{` + traits + `,"context":{"consent":{"categories":{"m\u0061rketing":true}}}}`, OutcomeDeliver},
		{"spaced category", `{` + traits + `,"context":{"consent":{"categories":{" Marketing ":true}}}}`, OutcomeDeliver},
		{"repeated category: first wins", `{` + traits + `,"context":{"consent":{"categories":{"marketing":false,"marketing":true}}}}`, OutcomeDrop},
		{"repeated categories member: first wins", `{` + traits + `,"context":{"consent":{"categories":{"marketing":true},"categories":{}}}}`, OutcomeDeliver},
		{"categories an array, canonical decides", `{` + traits + `,"context":{"consent":{"categories":["marketing"],"canonical":[" MARKETING "]}}}`, OutcomeDeliver},
		{"repeated canonical member: first wins", `{` + traits + `,"context":{"consent":{"canonical":[],"canonical":["marketing"]}}}`, OutcomeDrop},
		{"consent after traits", `{` + traits + `,"context":{"traits":{},"consent":{"categories":{"marketing":true}}}}`, OutcomeDeliver},
	} {
		if got := m.Map([]byte(tt.value)); got.Outcome != tt.want {
			t.Errorf("%s: got %s %q %q, want %s", tt.name, got.Outcome, got.Drop, got.Reject.Code, tt.want)
		}
	}
}

func TestMapRecordDoesNotAliasValue(t *testing.T) {
	// Every string of a delivered Mapped must survive the value's buffer
	// being reused (Kafka clients reuse fetch buffers).
	m, err := NewMapper(MapperConfig{
		ConsentRequired: []string{"marketing"},
		Fields:          []FieldMapping{{From: "properties.plan", To: "Plan"}, {From: "traits.address.city", To: "City"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := []byte(`{"type":"track","event":"Lead Generated","properties":{"source":"Web","form_name":"Demo","plan":" pro "},` +
		`"traits":{"email":"a@example.com","address":{"city":"Oslo"}},` +
		`"context":{"traits":{"firstName":"Ann","lastName":"Lee","phone":"1","company":{"name":"Acme"}},"consent":{"canonical":["marketing"]}}}`)
	got := m.Map(v)
	want := map[string]any{"Email": "a@example.com", "First_Name": "Ann", "Last_Name": "Lee", "Phone": "1", "Company": "Acme",
		"Lead_Source": "Web", "Description": "Demo", "Plan": "pro", "City": "Oslo"}
	if !reflect.DeepEqual(asMap(got.Record), want) {
		t.Fatalf("record %v, want %v", got.Record, want)
	}
	for i := range v {
		v[i] = 'x'
	}
	if !reflect.DeepEqual(asMap(got.Record), want) || got.Key != "a@example.com" || got.Event != "lead_generated" {
		t.Fatalf("record changed with the value: %v %q %q", got.Record, got.Key, got.Event)
	}
}

// scanCorpus returns JSON-ish inputs for comparing Map with encoding/json:
// the sample and demo events, hand-written corner cases, and every prefix of
// a few of them (truncation hits every grammar state).
func scanCorpus(t testing.TB) []string {
	var c []string
	for _, f := range []string{"../testdata/samples.ndjson", "../testdata/demo-events.ndjson"} {
		for _, l := range ndjsonLines(t, f) {
			c = append(c, string(l))
		}
	}
	c = append(c, string(leadEvent), string(pageView),
		`{}`, ` { } `, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":}`, `{"a":1 "b":2}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`,
		`{"a":01}`, `{"a":-}`, `{"a":-0}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":1e+}`, `{"a":1E-7}`, `{"a":-0.0e0}`, `{"a":+1}`,
		`{"a":tru}`, `{"a":true}`, `{"a":truex}`, `{"a":nul}`, `{"a":null}`, `{"a":fals}`, `{"a":false}`, `{"a":NaN}`,
		`{"a":"\u12"}`, `{"a":"\u12g4"}`, `{"a":"\uD800"}`, `{"a":"\x"}`, `{"a":"\/\b\f\n\r\t\\\""}`, "{\"a\":\"\x01\"}", "{\"a\":\"\x7f\xff\"}",
		"{\"a\":1}\x00", "{\"a\":1}\n\t\r ", "\n{\"a\":1}", "{\"a\":1}\v", "{\"a\":1} {}", `{"a":"b"}}`, `{"a":{"b":[{"c":[]}]}}`,
		`{"a":"\\"}`, `{"a":"\\\"}`, `{"a":"x\\\\"}`, `{"k\"ey":1}`, `{"context":1,"context":{"consent":{}}}`,
		`{"context":{"traits":1,"traits":2,"consent":3,"consent":4},"traits":[],"properties":"p","traits":{}}`,
		`{"con\u0074ext":{"tr\u0061its":{"a":1},"c\u006fnsent":{}},"tr\u0061its":{}}`, `{"x":{"context":{"consent":{}}}}`,
		`[{"context":{}}]`, `"context"`,
		`{"type":page}`, `{"type":identify,"traits":{}}`, `{"type":"page","properties":{"url":`, `{"type":"page"} x`,
		`{"type":"page","x":"`+"\x01"+`"}`, `{"event":"Product Viewed",}`, `{"type":"track","event":"Lead Generated"`,
		`{"type":"page","x":`+nested(10000, "1")+`}`, `{"type":"page","x":`+nested(9999, "1")+`}`,
		`{"type":"identify","context":{"traits":`+nested(9998, "1")+`}}`, `{"type":"identify","context":{"traits":`+nested(9999, "1")+`}}`, `{"a":[[[[[[[[[[]]]]]]]]]]}`, `{"a":[[[[[[[[[[]]]]]]]]]}`, ``, ` `, `{`, `}`,
	)
	// Every kind of byte that ends a run of plain string bytes, at every
	// offset within and around an 8-byte word.
	for _, special := range []string{"\x00", "\x01", "\x1f", " ", "\x7f", "\x80", "\xff", "\xfc", "ü", "€", "😀", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", `"`, `\`, `\"`, `\\`, `\n`, `\u0041`, `\u004`, `\x`} {
		for k := range 18 {
			c = append(c, `{"a":"`+strings.Repeat("b", k)+special+strings.Repeat("c", 9)+`"}`)
			c = append(c, `{"`+strings.Repeat("k", k)+special+`":1}`)
		}
	}
	for _, s := range []string{string(leadEvent), `{"type":"identify","traits":{"email":"a\u0040b.c","n":-1.5e+3,"t":true,"f":false,"z":null,"a":[1,{"b":"\"x\\\\"}]},"context":{"consent":{"categories":{"m":true}},"traits":{}}}`} {
		for i := range len(s) {
			c = append(c, s[:i])
		}
	}
	return c
}

func TestMapMatchesEncodingJSON(t *testing.T) {
	m := leadPreset(t)
	for _, s := range scanCorpus(t) {
		checkAgainstEncodingJSON(t, m, s)
	}
}

// FuzzMapAgainstEncodingJSON compares Map with encoding/json and
// unicode/utf8: a value encoding/json rejects or that is not valid UTF-8 is
// DECODE_ERROR whatever it says it is, one both accept never is, and an
// empty value is a tombstone.
func FuzzMapAgainstEncodingJSON(f *testing.F) {
	for _, s := range scanCorpus(f) {
		f.Add(s)
	}
	m := leadPreset(f)
	f.Fuzz(func(t *testing.T, s string) { checkAgainstEncodingJSON(t, m, s) })
}

func checkAgainstEncodingJSON(t *testing.T, m *Mapper, s string) {
	t.Helper()
	mp := m.Map([]byte(s))
	if s == "" {
		if mp.Outcome != OutcomeDrop || mp.Drop != DropTombstone {
			t.Errorf("empty value: %s %q, want a tombstone drop", mp.Outcome, mp.Drop)
		}
		return
	}
	rule := json.Valid([]byte(s)) && utf8.ValidString(s)
	valid := rule && firstNonSpace([]byte(s)) == '{'
	if (mp.Reject.Code == CodeDecodeError) == valid {
		t.Errorf("%.200q: encoding/json valid UTF-8 object %v, Map: %s %q %q", s, valid, mp.Outcome, mp.Drop, mp.Reject.Code)
	}
	if got := validJSON([]byte(s)); got != rule {
		t.Errorf("%.200q: validJSON %v, encoding/json.Valid && utf8.Valid %v", s, got, !got)
	}
}

// BenchmarkMapLeadStages times the stages of mapping leadEvent.
func BenchmarkMapLeadStages(b *testing.B) {
	m := leadPreset(b)
	s := view(leadEvent)
	b.Run("peek", func(b *testing.B) {
		for b.Loop() {
			m.crmEvent(peekHead(s))
		}
	})
	b.Run("valid", func(b *testing.B) {
		for b.Loop() {
			validJSON(leadEvent)
		}
	})
	p := partsOf(s)
	b.Run("consent", func(b *testing.B) {
		for b.Loop() {
			consentGranted(partsOf(s).consent, m.consent)
		}
	})
	body := p.body()
	b.Run("body", func(b *testing.B) {
		for b.Loop() {
			p.body()
		}
	})
	b.Run("record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.mapCRM(eventLeadGenerated, body)
		}
	})
}

// TestMapRejectsInvalidUTF8 pins RFC 8259's UTF-8 rule: a Latin-1 byte in a
// CRM event's trait or in a page view is DECODE_ERROR with the byte's offset,
// not a record with U+FFFD nor a silent drop; valid UTF-8 is mapped as is.
func TestMapRejectsInvalidUTF8(t *testing.T) {
	m := leadPreset(t)
	identify := `{"type":"identify","traits":{"email":"a@b.co","lastName":"M%sller"},"context":{"consent":{"categories":{"marketing":true}}}}`
	for _, tc := range []struct{ name, value string }{
		{"identify", strings.Replace(identify, "%s", "\xfc", 1)},
		{"page", `{"type":"page","properties":{"title":"M` + "\xfc" + `ller"}}`},
		{"key", `{"type":"page","properties":{"t` + "\xfc" + `":"x"}}`},
	} {
		mp := m.Map([]byte(tc.value))
		if mp.Outcome != OutcomeReject || mp.Reject.Code != CodeDecodeError {
			t.Errorf("%s: %s %q %+v, want DECODE_ERROR", tc.name, mp.Outcome, mp.Drop, mp.Record)
			continue
		}
		at := strings.IndexByte(tc.value, 0xfc)
		if want := "offset " + strconv.Itoa(at); !strings.Contains(mp.Reject.Message, want) || !strings.Contains(mp.Reject.Message, "UTF-8") {
			t.Errorf("%s: message %q, want it to name UTF-8 and %q", tc.name, mp.Reject.Message, want)
		}
	}
	mp := m.Map([]byte(strings.Replace(identify, "%s", "ü", 1)))
	if mp.Outcome != OutcomeDeliver || string(mp.Record.Get("Last_Name")) != `"Müller"` {
		t.Errorf("valid UTF-8: %s %s, want Last_Name \"Müller\"", mp.Outcome, mp.Record.Get("Last_Name"))
	}
}
