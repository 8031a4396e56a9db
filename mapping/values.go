package mapping

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
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
		if d, ok := decimalString(raw); ok {
			return d
		}
	}
	return ""
}

// maxDecimalDigits bounds the digits decimalString writes, so that a number
// like 1e1000000 cannot blow up memory; such numbers are not mapped.
const maxDecimalDigits = 400

// decimalString converts a JSON number literal to its exact plain decimal
// form: "99.0" → "99", "1e3" → "1000", "1.50" → "1.5", "-0" → "0",
// "2.5E-3" → "0.0025". It reports false for a malformed literal or one that
// would need more than maxDecimalDigits digits.
func decimalString(lit string) (string, bool) {
	neg := false
	i := 0
	if i < len(lit) && lit[i] == '-' {
		neg = true
		i++
	}
	var digits []byte
	point := -1
	for ; i < len(lit); i++ {
		c := lit[i]
		if c >= '0' && c <= '9' {
			digits = append(digits, c)
			continue
		}
		if c == '.' && point < 0 {
			point = len(digits)
			continue
		}
		break
	}
	if len(digits) == 0 {
		return "", false
	}
	if point < 0 {
		point = len(digits)
	}
	if i < len(lit) {
		if lit[i] != 'e' && lit[i] != 'E' {
			return "", false
		}
		i++
		expNeg := false
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			expNeg = lit[i] == '-'
			i++
		}
		if i == len(lit) {
			return "", false
		}
		exp := 0
		for ; i < len(lit); i++ {
			c := lit[i]
			if c < '0' || c > '9' {
				return "", false
			}
			exp = exp*10 + int(c-'0')
			if exp > maxDecimalDigits*2 {
				return "", false
			}
		}
		if expNeg {
			exp = -exp
		}
		point += exp
	}
	// Strip leading zeros (moving the point) and trailing fraction zeros.
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	digits = digits[lead:]
	point -= lead
	if len(digits) == 0 {
		return "0", true
	}
	for len(digits) > point && len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	size := len(digits)
	if point > size {
		size = point
	} else if point <= 0 {
		size += 1 - point
	}
	if size > maxDecimalDigits {
		return "", false
	}
	var b strings.Builder
	b.Grow(size + 2)
	if neg {
		b.WriteByte('-')
	}
	switch {
	case point <= 0:
		b.WriteString("0.")
		for range -point {
			b.WriteByte('0')
		}
		b.Write(digits)
	case point >= len(digits):
		b.Write(digits)
		for range point - len(digits) {
			b.WriteByte('0')
		}
	default:
		b.Write(digits[:point])
		b.WriteByte('.')
		b.Write(digits[point:])
	}
	return b.String(), true
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
