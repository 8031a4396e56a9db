package pipeline

// This file reads the event envelope (DESIGN.md "Input: the event envelope").
//
// Reading happens in two stages so that the common case stays cheap:
//
//  1. peek: only `type`, `event` (or the legacy `action`) are read, with gjson,
//     straight from the record value without copying it. Page views and other
//     non-CRM events are decided here: no decode, no allocation.
//  2. For CRM events only: the whole value is validated (gjson.Valid, no
//     allocation), `traits`, `properties` and `context` are located in one
//     pass, `context.consent` is read (still with gjson), and only for
//     consented events are `traits`, `context.traits` and `properties` decoded
//     with encoding/json (into objects whose member values stay raw JSON until
//     the mapping reads them: numbers keep their exact literal, and members
//     the preset does not use are never converted).

import (
	"bytes"
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
// (encoding/json copies what it decodes).
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

// envelopeParts are the raw top-level members a CRM event needs, found in
// one pass over the value. They point into the record value.
type envelopeParts struct {
	traits, properties, context string
}

// splitParts finds traits, properties and context in one pass over the
// top-level object (the first occurrence of a repeated key wins, as with
// gjson.Get elsewhere).
func splitParts(s string) envelopeParts {
	var p envelopeParts
	gjson.Parse(s).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "traits":
			if p.traits == "" {
				p.traits = v.Raw
			}
		case "properties":
			if p.properties == "" {
				p.properties = v.Raw
			}
		case "context":
			if p.context == "" {
				p.context = v.Raw
			}
		}
		return true
	})
	return p
}

// consentGranted reports whether every category in required is granted by
// the consent object of context (the raw `context` member). A category is
// granted when context.consent.categories has it set to JSON true, or — when
// categories does not mention it at all — when context.consent.canonical
// lists it. An explicit categories entry therefore wins over the list (false
// denies even if the list names it). Category names compare
// case-insensitively. With required empty, everything is granted.
func consentGranted(context string, required []string) bool {
	if len(required) == 0 {
		return true
	}
	c := gjson.Get(context, "consent")
	if !c.IsObject() {
		return false
	}
	cats := c.Get("categories")
	canon := c.Get("canonical")
	for _, want := range required {
		decided, granted := false, false
		if cats.IsObject() {
			cats.ForEach(func(k, v gjson.Result) bool {
				if strings.EqualFold(strings.TrimSpace(k.Str), want) {
					decided = true
					granted = v.Type == gjson.True
					return false
				}
				return true
			})
		}
		if !decided && canon.IsArray() {
			canon.ForEach(func(_, v gjson.Result) bool {
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

// object is a decoded JSON object whose member values are kept raw: each is
// converted only if the mapping reads it (see textOf).
type object = map[string]json.RawMessage

// envelopeBody is the part of a CRM event that mapping uses, decoded.
// Objects are nil when absent, null or not JSON objects.
type envelopeBody struct {
	traits        object
	contextTraits object
	properties    object
}

// decodeBody decodes traits, context.traits and properties of a value that
// gjson.Valid accepted. Members that are not objects are treated as absent.
func decodeBody(p envelopeParts) (envelopeBody, error) {
	var b envelopeBody
	var err error
	if b.traits, err = decodeObject(p.traits); err != nil {
		return b, err
	}
	if strings.HasPrefix(p.context, "{") {
		if b.contextTraits, err = decodeObject(gjson.Get(p.context, "traits").Raw); err != nil {
			return b, err
		}
	}
	if b.properties, err = decodeObject(p.properties); err != nil {
		return b, err
	}
	return b, nil
}

// decodeObject decodes raw with encoding/json if it is a JSON object; nil
// otherwise. The result does not alias raw (encoding/json copies
// RawMessage values), so raw may point into the record value.
func decodeObject(raw string) (object, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil
	}
	var o object
	if err := json.Unmarshal(unsafe.Slice(unsafe.StringData(raw), len(raw)), &o); err != nil {
		return nil, err
	}
	return o, nil
}

// textOf converts a raw JSON value for a text field: strings trimmed,
// numbers as their exact decimal string (no exponent, no trailing ".0").
// Booleans, arrays, objects and null give "" (not mapped).
func textOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		if body := raw[1 : len(raw)-1]; bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			return strings.TrimSpace(string(body))
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case c == '-' || ('0' <= c && c <= '9'):
		if d, ok := decimalString(string(raw)); ok {
			return d
		}
	}
	return ""
}

// boolOf returns the value of a raw JSON boolean.
func boolOf(raw json.RawMessage) (value, ok bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// objectOf decodes a raw JSON object; nil if raw is not one.
func objectOf(raw json.RawMessage) object {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var o object
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}
