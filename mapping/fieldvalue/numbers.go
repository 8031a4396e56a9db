package fieldvalue

import (
	"math"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// maxExactFloat is 2^53: integral float64 values up to it are exact.
const maxExactFloat = 1 << 53

// appendInteger appends an integer or bigint: a JSON number with an
// integral value, or a string of digits with an optional sign; at most
// c.length digits and within 32 / 64 bits.
func (c *Converter) appendInteger(dst []byte, v gjson.Result) ([]byte, Reason) {
	var lit string
	switch v.Type {
	case gjson.Number:
		lit = v.Raw
		if !isDigits(strings.TrimPrefix(lit, "-")) {
			// 12.0, 1e3: integral values are taken when exact.
			if v.Num != math.Trunc(v.Num) {
				return dst, ReasonNotAnInteger
			}
			if math.Abs(v.Num) > maxExactFloat {
				return dst, ReasonOutOfRange
			}
			lit = strconv.FormatInt(int64(v.Num), 10)
		}
	case gjson.String:
		lit = strings.TrimPrefix(strings.TrimSpace(v.Str), "+")
		if !isDigits(strings.TrimPrefix(lit, "-")) {
			return dst, ReasonNotANumber
		}
	case gjson.True, gjson.False:
		return dst, ReasonNotANumber
	default:
		return dst, ReasonWrongType
	}
	bits := 32
	if c.kind == kindBigint {
		bits = 64
	}
	n, err := strconv.ParseInt(lit, 10, bits)
	if err != nil || digitCount(n) > c.length {
		return dst, ReasonOutOfRange
	}
	return strconv.AppendInt(dst, n, 10), ""
}

// isDigits: one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// digitCount is the number of decimal digits of |n| (1 for 0).
func digitCount(n int64) int {
	d := 1
	for n <= -10 || n >= 10 {
		n /= 10
		d++
	}
	return d
}

// appendDecimal appends a double, decimal, currency or percent: a JSON
// number or a decimal string (a trailing "%" allowed for percent), rounded
// half away from zero to c.decimals places (as sent when -1), trailing zeros
// dropped; at most c.length−c.decimals integer digits.
func (c *Converter) appendDecimal(dst []byte, v gjson.Result) ([]byte, Reason) {
	var lit string
	switch v.Type {
	case gjson.Number:
		lit = v.Raw
	case gjson.String:
		lit = strings.TrimSpace(v.Str)
		if c.percent {
			lit = strings.TrimSpace(strings.TrimSuffix(lit, "%"))
		}
		lit = strings.TrimPrefix(lit, "+")
	case gjson.True, gjson.False:
		return dst, ReasonNotANumber
	default:
		return dst, ReasonWrongType
	}
	neg, intPart, frac, ok := splitDecimal(lit)
	if !ok {
		// Exponent forms (1.5e3) go through float64; ParseFloat's other
		// forms (hex, Inf, NaN, underscores) are not numbers here.
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil || strings.Trim(lit, "0123456789.eE+-") != "" || math.IsInf(f, 0) {
			return dst, ReasonNotANumber
		}
		neg, intPart, frac, _ = splitDecimal(strconv.FormatFloat(f, 'f', -1, 64))
	}
	limit := c.length - max(c.decimals, 0)
	if c.decimals < 0 || len(frac) <= c.decimals {
		return appendNumber(dst, neg, intPart, frac, limit)
	}
	if len(strings.TrimLeft(intPart, "0")) > limit {
		return dst, ReasonOutOfRange // before rounding copies the digits
	}
	var buf [48]byte
	digits, split := roundHalfUp(buf[:0], intPart, frac, c.decimals)
	return appendNumber(dst, neg, digits[:split], digits[split:], limit)
}

// appendNumber appends the JSON number [-]intPart[.frac], leading zeros of
// intPart and trailing zeros of frac dropped ("-0" as 0), or refuses more
// than limit integer digits.
func appendNumber[T ~string | ~[]byte](dst []byte, neg bool, intPart, frac T, limit int) ([]byte, Reason) {
	for len(intPart) > 0 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(intPart) > limit {
		return dst, ReasonOutOfRange
	}
	if neg && (len(intPart) > 0 || len(frac) > 0) {
		dst = append(dst, '-')
	}
	if len(intPart) == 0 {
		dst = append(dst, '0')
	}
	dst = append(dst, intPart...)
	if len(frac) > 0 {
		dst = append(append(dst, '.'), frac...)
	}
	return dst, ""
}

// splitDecimal splits "-12.50" into sign, "12" and "50"; ok is false unless
// s is [-]digits[.digits] or [-].digits.
func splitDecimal(s string) (neg bool, intPart, frac string, ok bool) {
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	intPart, frac, dot := strings.Cut(s, ".")
	if (intPart == "" && frac == "") || (intPart != "" && !isDigits(intPart)) || (dot && !isDigits(frac)) {
		return false, "", "", false
	}
	return neg, intPart, frac, true
}

// roundHalfUp appends the digits of intPart.frac rounded to places decimal
// places, half away from zero, to buf, and returns them with the index where
// the fraction starts (the rounding may carry into a new leading digit).
func roundHalfUp(buf []byte, intPart, frac string, places int) ([]byte, int) {
	up := frac[places] >= '5'
	digits := append(append(buf, intPart...), frac[:places]...)
	if up {
		i := len(digits) - 1
		for ; i >= 0 && digits[i] == '9'; i-- {
			digits[i] = '0'
		}
		if i >= 0 {
			digits[i]++
		} else {
			digits = append(digits, 0)
			copy(digits[1:], digits)
			digits[0] = '1'
		}
	}
	return digits, len(digits) - places
}

// appendBoolean appends true or false from a JSON boolean, the strings
// true/false, yes/no, 1/0 in any case, or the numbers 1 and 0.
func appendBoolean(dst []byte, v gjson.Result) ([]byte, Reason) {
	var s string
	switch v.Type {
	case gjson.True:
		return append(dst, "true"...), ""
	case gjson.False:
		return append(dst, "false"...), ""
	case gjson.String:
		s = strings.TrimSpace(v.Str)
	case gjson.Number:
		s = v.Raw
	default:
		return dst, ReasonWrongType
	}
	switch {
	case strings.EqualFold(s, "true"), strings.EqualFold(s, "yes"), s == "1":
		return append(dst, "true"...), ""
	case strings.EqualFold(s, "false"), strings.EqualFold(s, "no"), s == "0":
		return append(dst, "false"...), ""
	}
	return dst, ReasonNotABoolean
}

// maxDecimalDigits bounds the digits DecimalText writes, so that a number
// like 1e1000000 cannot blow up memory; such numbers are not mapped.
const maxDecimalDigits = 400

// DecimalText converts a JSON number literal to its exact plain decimal
// text, the text of a number sent to a text field whatever way the
// producer wrote it: "99.0" → "99", "1e3" → "1000", "1e21" and "1E+21" →
// "1000000000000000000000", "1.50" → "1.5", "-0" → "0", "2.5E-3" →
// "0.0025". A literal already in that form is returned as is (no
// allocation). It reports false for a malformed literal or one that would
// need more than 400 digits (1e1000).
func DecimalText(lit string) (string, bool) {
	if plainDecimal(lit) {
		return lit, true
	}
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

// plainDecimal reports whether lit is a number in DecimalText's form:
// -?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?, not "-0".
func plainDecimal(lit string) bool {
	s := strings.TrimPrefix(lit, "-")
	intPart, frac, dot := strings.Cut(s, ".")
	switch {
	case !isDigits(intPart), len(intPart) > 1 && intPart[0] == '0',
		dot && (!isDigits(frac) || frac[len(frac)-1] == '0'),
		s != lit && intPart == "0" && !dot:
		return false
	}
	return true
}
