package mapping

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// This file is the drop path's validating pass: every event, CRM or not, is
// checked to be JSON before it is dropped (DESIGN.md "Decisions on edge
// cases": an invalid page view is DECODE_ERROR). It is most of the CPU an
// event of the 95%-noise mix costs, and most of that is the inside of
// strings (user agents, URLs, titles), which validJSON scans eight bytes at
// a time. gjson.Valid and encoding/json.Valid look at one byte per step
// (BenchmarkMapPageView, BenchmarkMapLeadStages/valid). The rule is RFC 8259
// with its UTF-8 requirement (section 8.1; Kafka Connect's JsonConverter
// rejects invalid UTF-8 too): encoding/json.Valid && utf8.Valid.
// TestMapMatchesEncodingJSON and FuzzMapAgainstEncodingJSON check that
// validJSON agrees with it. The string scan ORs every word it reads into one
// accumulator, so utf8.Valid runs only over a value that has a byte ≥ 0x80.

// maxNestingDepth is encoding/json's limit on nested objects and arrays
// (counting the outermost one): deeper input is a syntax error.
const maxNestingDepth = 10000

// validJSON reports whether value is valid JSON: RFC 8259 as encoding/json's
// Valid judges it (at most maxNestingDepth levels of objects and arrays),
// and valid UTF-8 throughout (utf8.Valid). It does not recurse and allocates
// only for values nested deeper than 256 levels.
func validJSON(s []byte) bool {
	var high uint64 // every string byte scanned, ORed: lanes80 bits say a byte ≥ 0x80 was seen
	if !validSyntax(s, &high) {
		return false
	}
	// Outside strings a byte ≥ 0x80 is a syntax error: only strings can
	// hold one.
	return high&lanes80 == 0 || utf8.Valid(s)
}

// invalidJSONMessage says why validJSON refused value, for a DECODE_ERROR:
// its syntax, or the byte offset of its first byte that is not UTF-8 (the
// offset, not the bytes: they may be personal data).
func invalidJSONMessage(value []byte) string {
	var high uint64
	if validSyntax(value, &high) {
		for i := 0; i < len(value); {
			r, size := utf8.DecodeRune(value[i:])
			if r == utf8.RuneError && size == 1 {
				return "the value is not valid UTF-8: invalid byte at offset " + strconv.Itoa(i) + " (RFC 8259 requires UTF-8)"
			}
			i += size
		}
	}
	return "the value is not valid JSON"
}

// validSyntax is validJSON without the UTF-8 check: encoding/json.Valid. It
// ORs the string bytes it reads into *high (see scanString).
func validSyntax(s []byte, high *uint64) bool {
	// One bit per open level, 1 for an object and 0 for an array; the first
	// 256 levels on the stack.
	var inline [4]uint64
	open, depth := inline[:], 0
	push := func(object bool) bool {
		if depth == maxNestingDepth {
			return false
		}
		w, b := depth>>6, uint(depth&63)
		if w == len(open) {
			open = append(open, 0)
		}
		if object {
			open[w] |= 1 << b
		} else {
			open[w] &^= 1 << b
		}
		depth++
		return true
	}
	i := skipSpace(s, 0)
	for {
		// A value starts at i.
		if i >= len(s) {
			return false
		}
		switch c := s[i]; c {
		case '{':
			if !push(true) {
				return false
			}
			i = skipSpace(s, i+1)
			if i < len(s) && s[i] == '}' {
				i++
				depth--
				break
			}
			var ok bool
			if i, ok = objectKey(s, i, high); !ok {
				return false
			}
			continue
		case '[':
			if !push(false) {
				return false
			}
			i = skipSpace(s, i+1)
			if i < len(s) && s[i] == ']' {
				i++
				depth--
				break
			}
			continue
		case '"':
			var ok bool
			if i, ok = scanString(s, i+1, high); !ok {
				return false
			}
		case 't':
			if !hasLiteral(s, i, "true") {
				return false
			}
			i += 4
		case 'f':
			if !hasLiteral(s, i, "false") {
				return false
			}
			i += 5
		case 'n':
			if !hasLiteral(s, i, "null") {
				return false
			}
			i += 4
		default:
			var ok bool
			if i, ok = scanNumber(s, i); !ok {
				return false
			}
		}
		// A value ended at i: close levels until the next value starts.
		for {
			i = skipSpace(s, i)
			if depth == 0 {
				return i == len(s)
			}
			if i >= len(s) {
				return false
			}
			d := depth - 1
			c, obj := s[i], open[d>>6]&(1<<uint(d&63)) != 0
			if c == ',' {
				i = skipSpace(s, i+1)
				if obj {
					var ok bool
					if i, ok = objectKey(s, i, high); !ok {
						return false
					}
				}
				break
			}
			if (obj && c == '}') || (!obj && c == ']') {
				i++
				depth--
				continue
			}
			return false
		}
	}
}

// objectKey checks `"key" :` at i (white space allowed before the colon and
// after it) and returns where the member's value starts.
func objectKey(s []byte, i int, high *uint64) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return i, false
	}
	i, ok := scanString(s, i+1, high)
	if !ok {
		return i, false
	}
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != ':' {
		return i, false
	}
	return skipSpace(s, i+1), true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	return i
}

func hasLiteral(s []byte, i int, lit string) bool {
	return len(s)-i >= len(lit) && string(s[i:i+len(lit)]) == lit
}

// Bytes repeated in every lane of a uint64, for the eight-at-a-time scan.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// special returns a word with the high bit set in every byte of x that
// needs a closer look inside a string: '"', '\\' or a control character
// (< 0x20). Bytes ≥ 0x80 are plain here; their UTF-8 is checked once for
// the whole value (validJSON).
func special(x uint64) uint64 {
	quote := x ^ (lanes01 * '"')
	backslash := x ^ (lanes01 * '\\')
	return (((quote - lanes01) &^ quote) | ((backslash - lanes01) &^ backslash) | ((x - lanes01*0x20) &^ x)) & lanes80
}

// scanString checks a string whose opening quote is just before i and
// returns the index after its closing quote. It ORs every byte it reads into
// *high (whole words, so perhaps a few bytes past the string too: a byte ≥
// 0x80 there only costs validJSON a utf8.Valid it did not need).
func scanString(s []byte, i int, high *uint64) (int, bool) {
	for {
		for len(s)-i >= 8 {
			x := binary.LittleEndian.Uint64(s[i:])
			*high |= x
			m := special(x)
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			return i, false
		}
		switch c := s[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i >= len(s) {
				return i, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(s)-i < 5 || !isHex(s[i+1]) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) {
					return i, false
				}
				i += 5
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			*high |= uint64(c)
			i++ // the tail shorter than eight bytes, one at a time
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// scanNumber checks a number starting at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// and returns the index after it.
func scanNumber(s []byte, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return i, false
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		i = skipDigits(s, i+1)
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(s []byte, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
