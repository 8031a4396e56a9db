package pipeline

// This file reads the event envelope (DESIGN.md "Input: the event envelope").
//
// Reading happens in two stages so that the common case stays cheap:
//
//  1. peek: only `type`, `event` (or the legacy `action`) are read, with gjson,
//     straight from the record value without copying it. Page views and other
//     non-CRM events are decided here, once the value is known to be valid
//     JSON (stage 2's pass): no decode, no allocation.
//  2. One pass validates the whole value (exactly as encoding/json's Valid
//     would, see scanEnvelope) and locates `traits`, `properties`,
//     `context`, `context.consent` and `context.traits`, with no
//     allocation. For CRM events only, consent is read from
//     `context.consent`, and only for consented events are `traits`,
//     `context.traits` and `properties` read:
//     in place, without decoding them (see envelopeBody), converting only the
//     members the preset and the configured mappings ask for. Member values
//     stay raw JSON until the mapping converts one (numbers keep their exact
//     literal), and the record's texts are copied out in one allocation.

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Normalised envelope types (the `type` field, folded with foldName).
const (
	typeIdentify = "identify"
	typeTrack    = "track"
)

// typeLabels maps a folded `type` value to the label reported in
// Mapped.Event for a non-CRM event. The set is closed so that the label is
// safe as a metrics label (bounded cardinality).
var typeLabels = map[string]string{
	"identify": "identify",
	"track":    "track",
	"page":     "page",
	"screen":   "screen",
	"group":    "group",
	"alias":    "alias",
}

// eventOther is Mapped.Event for a non-CRM event whose type is missing or not
// one of the spec's types.
const eventOther = "other"

// maxFoldedName bounds the folded length of a name looked up on the hot path
// (fold buffers live on the stack up to this size). Longer folded names never
// match: NewMapper rejects longer configured names.
const maxFoldedName = 128

// view returns value as a string without copying it. The string must not
// outlive the call that received value; everything kept past Map is copied
// (see buildRecord).
func view(value []byte) string {
	if len(value) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(value), len(value))
}

// isSeparator reports whether r is ignored when names are compared: white
// space, underscores and hyphens ("Lead Generated" = "lead_generated" =
// "LEAD-GENERATED").
func isSeparator(r rune) bool {
	return r == '_' || r == '-' || unicode.IsSpace(r)
}

// appendFolded appends the folded form of s to dst: lower-cased
// (unicode.ToLower), with white space, '_' and '-' removed (isSeparator). It
// is the comparison key for event names, types and trait keys.
func appendFolded(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case ' ', '_', '-', '\t', '\n', '\v', '\f', '\r':
				continue
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if isSeparator(r) {
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// foldName returns the folded form of s (see appendFolded). It allocates; the
// hot path uses appendFolded with a stack buffer instead.
func foldName(s string) string {
	return string(appendFolded(make([]byte, 0, len(s)), s))
}

// snakeName turns a configured event name into its label for logs and
// metrics: lower case, runs of separators replaced by one '_'
// ("Trial Started" → "trial_started").
func snakeName(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range strings.TrimSpace(s) {
		if isSeparator(r) {
			pendingSep = b.Len() > 0
			continue
		}
		if pendingSep {
			b.WriteByte('_')
			pendingSep = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// envelopeHead is what stage 1 reads: enough to decide whether the event is a
// CRM event. Its strings point into the record value.
type envelopeHead struct {
	// kind is the folded type ("identify", "track", "page", …), after the
	// fallbacks: legacy `action` when `type` is missing, "track" when both are
	// missing but `event` is present. Empty when nothing says what it is.
	kind string
	// event is the raw track name (`event`, or `event.name` when `event` is an
	// object). Empty when absent or not a string.
	event string
	// found reports whether any of type, action or event was present.
	found bool
}

// peekHead reads type, event and action from a JSON object without decoding
// it. s must start (after white space) with '{'.
func peekHead(s string) envelopeHead {
	var h envelopeHead
	t := gjson.Get(s, "type")
	typ := ""
	if t.Type == gjson.String {
		typ = strings.TrimSpace(t.Str)
	} else if t.Exists() && t.Type != gjson.Null {
		// A non-string type (a number, an object) is present but unusable:
		// the event is of an unknown type.
		h.found = true
		h.kind = "?"
		return h
	}
	if typ == "" {
		if a := gjson.Get(s, "action"); a.Type == gjson.String {
			typ = strings.TrimSpace(a.Str)
		}
	}
	var buf [32]byte
	if typ != "" {
		h.found = true
		if len(typ) <= len(buf) {
			h.kind = kindOf(appendFolded(buf[:0], typ))
		} else {
			h.kind = "?"
		}
		if h.kind != typeTrack {
			// Only a track needs its name; identify is CRM whatever its
			// `event` says, and page/screen/group/alias never are.
			return h
		}
	}
	e := gjson.Get(s, "event")
	switch {
	case e.Type == gjson.String:
		h.event = e.Str
	case e.IsObject():
		if n := e.Get("name"); n.Type == gjson.String {
			h.event = n.Str
		}
	}
	if h.kind == "" && e.Exists() && e.Type != gjson.Null {
		// No type and no action, but an event: a track call (the HTTP API
		// lets callers omit type on /track).
		h.found = true
		h.kind = typeTrack
	}
	return h
}

// kindOf returns the canonical constant for a folded type, so that the
// result does not point into the scratch buffer; "?" for an unknown type.
func kindOf(folded []byte) string {
	if label, ok := typeLabels[string(folded)]; ok {
		return label
	}
	return "?"
}

// firstNonSpace returns the first byte of value that is not JSON white space,
// or 0 if there is none.
func firstNonSpace(value []byte) byte {
	for _, c := range value {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// envelopeParts are the raw members a CRM event needs (see scanEnvelope).
// They point into the record value; each is empty when absent.
type envelopeParts struct {
	traits, properties, context string
	// consent and contextTraits are members of context (when it is an
	// object).
	consent, contextTraits string
}

// scanEnvelope validates s and finds the envelopeParts in the same pass: it
// reports false exactly when encoding/json's Valid(s) does (the grammar of
// RFC 8259: white space is space, tab, CR and LF; strings hold no raw
// control characters and only the standard escapes, bytes of invalid UTF-8
// are allowed; objects and arrays nest at most maxNestingDepth levels).
// Among repeated names the first occurrence wins and names compare
// unescaped, as with gjson.Get. One pass instead of a validation plus a pass
// per object matters: scanning bytes is most of the cost of an event.
func scanEnvelope(s string) (envelopeParts, bool) {
	sc := envelopeScanner{s: s}
	end, ok := sc.value(skipSpace(s, 0), roleTop)
	if !ok || skipSpace(s, end) != len(s) {
		return envelopeParts{}, false
	}
	return sc.parts, true
}

// envelopeScanner is the state of scanEnvelope.
type envelopeScanner struct {
	s     string
	parts envelopeParts
	depth int // objects and arrays open around the current position
}

// objectRole says which members of an object scanEnvelope records.
type objectRole int

const (
	roleNone    objectRole = iota
	roleTop                // the value itself: traits, properties, context
	roleContext            // its first context member: consent, traits
)

// value scans the JSON value at s[i] (not white space) and returns the index
// just after it.
func (sc *envelopeScanner) value(i int, role objectRole) (int, bool) {
	s := sc.s
	if i >= len(s) {
		return i, false
	}
	switch c := s[i]; {
	case c == '{', c == '[':
		if sc.depth == maxNestingDepth {
			return i, false
		}
		sc.depth++
		var end int
		var ok bool
		if c == '{' {
			end, ok = sc.object(i+1, role)
		} else {
			end, ok = sc.array(i + 1)
		}
		sc.depth--
		return end, ok
	case c == '"':
		return validString(s, i)
	case c == '-' || ('0' <= c && c <= '9'):
		return validNumber(s, i)
	case c == 't':
		return i + 4, strings.HasPrefix(s[i:], "true")
	case c == 'f':
		return i + 5, strings.HasPrefix(s[i:], "false")
	case c == 'n':
		return i + 4, strings.HasPrefix(s[i:], "null")
	}
	return i, false
}

// object scans the members of an object from just after its '{'.
func (sc *envelopeScanner) object(i int, role objectRole) (int, bool) {
	s := sc.s
	i = skipSpace(s, i)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return i, false
		}
		kEnd, ok := validString(s, i)
		if !ok {
			return kEnd, false
		}
		var name string // the unescaped key, only where members are recorded
		if role != roleNone {
			name = gjsonKey(s[i:kEnd])
		}
		i = skipSpace(s, kEnd)
		if i >= len(s) || s[i] != ':' {
			return i, false
		}
		i = skipSpace(s, i+1)
		start := i
		child := roleNone
		if role == roleTop && name == "context" && sc.parts.context == "" {
			child = roleContext
		}
		if i, ok = sc.value(i, child); !ok {
			return i, false
		}
		sc.record(role, name, s[start:i])
		i = skipSpace(s, i)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case '}':
			return i + 1, true
		case ',':
			i = skipSpace(s, i+1)
		default:
			return i, false
		}
	}
}

// record keeps a member that a role asks for, unless one of the same name
// came first.
func (sc *envelopeScanner) record(role objectRole, name, raw string) {
	var dst *string
	switch p := &sc.parts; role {
	case roleTop:
		switch name {
		case "traits":
			dst = &p.traits
		case "properties":
			dst = &p.properties
		case "context":
			dst = &p.context
		}
	case roleContext:
		switch name {
		case "consent":
			dst = &p.consent
		case "traits":
			dst = &p.contextTraits
		}
	}
	if dst != nil && *dst == "" {
		*dst = raw
	}
}

// array scans the elements of an array from just after its '['.
func (sc *envelopeScanner) array(i int) (int, bool) {
	s := sc.s
	i = skipSpace(s, i)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = sc.value(i, roleNone); !ok {
			return i, false
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case ']':
			return i + 1, true
		case ',':
			i = skipSpace(s, i+1)
		default:
			return i, false
		}
	}
}

// validString scans the string starting at s[i] == '"' and returns the
// index just after it: no raw control characters, and only the escapes
// \" \\ \/ \b \f \n \r \t and \u with four hex digits.
func validString(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		// Most bytes are plain: skip them eight at a time, then one table
		// look-up each (a byte indexes a [256] array without a bounds
		// check) up to the byte that ends the run.
		i = skipPlainWords(s, i)
		for i < len(s) && plainStringByte[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '"':
			return i + 1, true
		case '\\':
			i++
			if i >= len(s) {
				return i, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) {
					return i, false
				}
				i += 4
			default:
				return i, false
			}
		default: // a control character
			return i, false
		}
	}
	return i, false
}

// plainStringByte tells the bytes that stand for themselves inside a JSON
// string: all but control characters, '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= ' ' && c != '"' && c != '\\'
	}
	return t
}()

// skipPlainWords skips 8-byte words of s from i on while none of their
// bytes is a control character, '"' or '\\' (plainStringByte for eight bytes
// at once), and returns the index of the first word that has one (or of the
// last, incomplete word).
//
// Each word is read as one little-endian uint64 x and checked with the
// classic bit trick (Hacker's Delight 6-1; "Bit Twiddling Hacks": determine
// if a word has a byte less than n): (x - 0x0101…01*n) & ^x & 0x8080…80 is
// non-zero exactly when some byte of x is less than n (for n ≤ 128). A byte
// equal to c is a zero byte of x ^ 0x0101…01*c, that is a byte less than 1.
func skipPlainWords(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		// The compiler merges these eight loads into one.
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		if (x-ones*' ')&^x&highs|(quote-ones)&^quote&highs|(backslash-ones)&^backslash&highs != 0 {
			break
		}
	}
	return i
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// validNumber scans the number starting at s[i] ('-' or a digit) and
// returns the index just after it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string, i int) (int, bool) {
	if s[i] == '-' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
	}
	if s[i] == '0' {
		i++
	} else {
		i = skipDigits(s, i)
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		i = skipDigits(s, i)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return i, false
		}
		i = skipDigits(s, i)
	}
	return i, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// memberIs reports whether the quoted key of a member is name once
// unescaped as gjson unescapes it.
func memberIs(quoted, name string) bool {
	if len(quoted) == len(name)+2 && quoted[1:len(quoted)-1] == name {
		return true
	}
	return gjsonKey(quoted) == name
}

// gjsonKey returns the quoted key unescaped as gjson does (gjson keeps
// invalid UTF-8 as it is): what gjson.Get compares paths to and what
// gjson's ForEach passes as the key.
func gjsonKey(quoted string) string {
	for i := 1; i < len(quoted)-1; i++ { // keys are short: no IndexByte call
		if quoted[i] == '\\' {
			return gjson.Parse(quoted).Str
		}
	}
	return quoted[1 : len(quoted)-1]
}

// consentGranted reports whether every category in required is granted by
// consent (the raw context.consent member, "" if absent). A category is
// granted when context.consent.categories has it set to JSON true, or — when
// categories does not mention it at all — when context.consent.canonical
// lists it. An explicit categories entry therefore wins over the list (false
// denies even if the list names it). Category names compare
// case-insensitively. With required empty, everything is granted.
func consentGranted(consent string, required []string) bool {
	if len(required) == 0 {
		return true
	}
	if !strings.HasPrefix(consent, "{") {
		return false
	}
	// The first categories and canonical members count, as with gjson.Get.
	var cats, canon string
	forEachMember(consent, func(key, raw string) bool {
		switch {
		case cats == "" && memberIs(key, "categories"):
			cats = raw
		case canon == "" && memberIs(key, "canonical"):
			canon = raw
		}
		return true
	})
	for _, want := range required {
		decided, granted := false, false
		forEachMember(cats, func(key, raw string) bool { // no members unless an object
			if strings.EqualFold(strings.TrimSpace(gjsonKey(key)), want) {
				decided = true
				granted = raw == "true"
				return false
			}
			return true
		})
		if !decided && strings.HasPrefix(canon, "[") {
			gjson.Parse(canon).ForEach(func(_, v gjson.Result) bool {
				if v.Type == gjson.String && strings.EqualFold(strings.TrimSpace(v.Str), want) {
					granted = true
					return false
				}
				return true
			})
		}
		if !granted {
			return false
		}
	}
	return true
}

// envelopeBody is the part of a CRM event that mapping uses: the raw JSON of
// traits, context.traits and properties, pointing into the record value.
// Each is empty when absent, null or not a JSON object.
//
// The objects are read in place (see forEachMember) rather than decoded,
// with the semantics encoding/json would give them when decoded into a
// map[string]json.RawMessage, which is what this package did before and what
// its tests pin: keys are compared unescaped (invalid UTF-8 and lone
// surrogates read as U+FFFD) and a repeated key means its last occurrence.
// They lie in a value scanEnvelope accepted, so encoding/json would decode
// them (no deeper than maxNestingDepth).
type envelopeBody struct {
	traits, contextTraits, properties string
}

// bodyOf returns the parts that mapping uses.
func bodyOf(p envelopeParts) envelopeBody {
	return envelopeBody{
		traits:        objectRaw(p.traits),
		contextTraits: objectRaw(p.contextTraits),
		properties:    objectRaw(p.properties),
	}
}

// objectRaw returns raw if it is a JSON object, "" otherwise.
func objectRaw(raw string) string {
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	return raw
}

// maxNestingDepth is encoding/json's limit on nested objects and arrays
// (counting the outermost one): deeper input is a syntax error.
const maxNestingDepth = 10000

// The functions below walk JSON that scanEnvelope accepted; on other input
// they return garbage but never panic or loop forever.

// forEachMember calls fn with each member of obj, in order, if obj is a
// JSON object (after white space): key is the key with its quotes (see
// unquote), raw the value's JSON. Both point into obj. It stops when fn
// returns false.
func forEachMember(obj string, fn func(key, raw string) bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return // '}'
		}
		kEnd := stringEnd(obj, i)
		key := obj[i:kEnd]
		i = skipSpace(obj, kEnd) + 1 // ':'
		i = skipSpace(obj, i)
		vEnd := valueEnd(obj, i)
		if !fn(key, obj[i:vEnd]) {
			return
		}
		i = skipSpace(obj, vEnd)
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(s string, i int) int {
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

// stringEnd returns the index just after the string starting at s[i] == '"'.
// A quote ends the string unless an odd number of backslashes precedes it
// (then the last of them escapes it). Short strings (most keys and values)
// are scanned byte by byte; past shortString bytes strings.IndexByte finds
// candidate quotes much faster (long user agents and URLs), but its call
// costs more than a short loop.
func stringEnd(s string, i int) int {
	i++
	for n := min(len(s), i+shortString); i < n; i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped byte (for \uXXXX the hex digits are plain bytes)
		case '"':
			return i + 1
		}
	}
	if i > len(s) {
		return len(s) // unterminated, after a final backslash
	}
	for {
		q := strings.IndexByte(s[i:], '"')
		if q < 0 {
			return len(s)
		}
		i += q
		backslashes := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			backslashes++
		}
		i++
		if backslashes%2 == 0 {
			return i
		}
	}
}

// shortString is how many bytes of a string stringEnd scans byte by byte.
const shortString = 24

// valueEnd returns the index just after the JSON value starting at s[i].
func valueEnd(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '"':
				i = stringEnd(s, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(s)
	}
	// A number, true, false or null: up to the next delimiter.
	for ; i < len(s); i++ {
		switch s[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

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
// surrogates become U+FFFD). The result is a view into quoted when the
// literal is plain (see plainText), a new string otherwise.
func unquote(quoted string) string {
	if len(quoted) < 2 {
		return ""
	}
	if body := quoted[1 : len(quoted)-1]; plainText(body) {
		return body
	}
	var s string
	if json.Unmarshal(unsafe.Slice(unsafe.StringData(quoted), len(quoted)), &s) != nil {
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

// boolOf returns the value of a raw JSON boolean.
func boolOf(raw string) (value, ok bool) {
	switch raw {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
