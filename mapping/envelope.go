package mapping

// This file reads the event envelope (DESIGN.md "Input: the event envelope")
// with gjson, straight from the record value without copying it:
//
//  1. peekHead: only `type`, `event` (or the legacy `action`) are read.
//     Page views and other non-CRM events are decided here, once the value
//     is known to be valid JSON (validJSON): no decode, no allocation.
//  2. For CRM events only, context.consent is read, and only for consented
//     events traits, context.traits and properties: in place, without
//     decoding them, converting only the members the preset and the
//     configured mappings ask for (see traits.go).
//
// Among repeated keys the first occurrence counts, everywhere: gjson.Get's
// rule, which the walks over traits and consent follow too.

import (
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

// view returns value as a string without copying it, for gjson. The string
// must not outlive the call that received value; everything kept past Map is
// copied (see encode). gjson.GetBytes would copy every result instead,
// an allocation per look-up on the drop path.
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
	// missing but `event` is present. Empty when nothing says what it is; "?"
	// for a type that is not one of the spec's.
	kind string
	// event is the raw track name (`event`, or `event.name` when `event` is an
	// object). Empty when absent or not a string.
	event string
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

// envelopeBody is the part of a consented CRM event that mapping uses: the
// raw JSON of traits, context.traits and properties, pointing into the record
// value. Each is empty when absent, null or not a JSON object.
type envelopeBody struct {
	traits, contextTraits, properties string
}

// envelopeParts are the members of a valid JSON object s that a CRM event
// needs, found in one pass over the top level and one over context (the first
// occurrence of each, as gjson.Get would find it; Type gjson.Null when
// absent): consent decides, and body gives the rest.
type envelopeParts struct {
	traits, properties, contextTraits gjson.Result
	consent                           gjson.Result
}

func partsOf(s string) envelopeParts {
	var p envelopeParts
	var context gjson.Result
	var seen [3]bool // traits, properties, context
	gjson.Parse(s).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "traits":
			if !seen[0] {
				seen[0], p.traits = true, v
			}
		case "properties":
			if !seen[1] {
				seen[1], p.properties = true, v
			}
		case "context":
			if !seen[2] {
				seen[2], context = true, v
			}
		}
		return true
	})
	if context.IsObject() {
		var consentSeen, traitsSeen bool
		context.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "consent":
				if !consentSeen {
					consentSeen, p.consent = true, v
				}
			case "traits":
				if !traitsSeen {
					traitsSeen, p.contextTraits = true, v
				}
			}
			return !consentSeen || !traitsSeen
		})
	}
	return p
}

// body returns traits, context.traits and properties.
func (p envelopeParts) body() envelopeBody {
	return envelopeBody{
		traits:        objectRaw(p.traits),
		contextTraits: objectRaw(p.contextTraits),
		properties:    objectRaw(p.properties),
	}
}

// objectRaw returns the raw JSON of r if it is an object, "" otherwise.
func objectRaw(r gjson.Result) string {
	if !r.IsObject() {
		return ""
	}
	return r.Raw
}
