package mapping

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/zohosink/zohosink/mapping/fieldvalue"
)

// plainText reports whether the body of a JSON string (without its quotes)
// is its own value: no escapes and valid UTF-8.
func plainText(body string) bool {
	// Keys and most values are short ASCII: one loop is cheaper than the
	// two calls below, which only check the rest from the first byte that
	// needs them.
	for i := 0; i < len(body); i++ {
		if c := body[i]; c == '\\' || c >= utf8.RuneSelf {
			return strings.IndexByte(body[i:], '\\') < 0 && utf8.ValidString(body[i:])
		}
	}
	return true
}

// unquote returns the value of the JSON string literal quoted, as
// encoding/json decodes it (escapes resolved; invalid UTF-8 and lone
// surrogates become U+FFFD, so that a record's texts are valid UTF-8). The
// result is a view into quoted when the literal is plain (see plainText), a
// new string otherwise.
func unquote(quoted string) string {
	if len(quoted) < 2 {
		return ""
	}
	if body := quoted[1 : len(quoted)-1]; plainText(body) {
		return body
	}
	var s string
	if json.Unmarshal([]byte(quoted), &s) != nil {
		return ""
	}
	return s
}

// textOf converts a raw JSON value for a text field: strings trimmed,
// numbers as their exact decimal string (no exponent, no trailing ".0").
// Booleans, arrays, objects and null give "" (not mapped). The result may be
// a view into raw: copy it before keeping it past Map.
func textOf(raw string) string {
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		return strings.TrimSpace(unquote(raw))
	case c == '-' || ('0' <= c && c <= '9'):
		if d, ok := fieldvalue.DecimalText(raw); ok {
			return d
		}
	}
	return ""
}

// splitName splits a full name: the last word is the last name, the words
// before it the first name; one word is a last name only.
func splitName(name string) (first, last string) {
	words := strings.Fields(name)
	switch len(words) {
	case 0:
		return "", ""
	case 1:
		return "", words[0]
	}
	return strings.Join(words[:len(words)-1], " "), words[len(words)-1]
}
