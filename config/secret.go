package config

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Redacted is what a set Secret shows instead of its value.
const Redacted = "[redacted]"

// Secret is a string that never shows its value: fmt (every verb, including %#v),
// JSON, YAML and encoding.TextMarshaler all give Redacted when it is set and ""
// when it is empty. Value returns the real string; call it only where the secret
// is used (the OAuth request).
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) redacted() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// String returns Redacted, or "" when the secret is empty.
func (s Secret) String() string { return s.redacted() }

// GoString returns the quoted redacted form, for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.redacted()) }

// Format implements fmt.Formatter so that no verb (%s, %v, %x, %q, %#v …)
// prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q' || (verb == 'v' && f.Flag('#')):
		fmt.Fprint(f, strconv.Quote(s.redacted()))
	default:
		fmt.Fprint(f, s.redacted())
	}
}

// MarshalJSON encodes the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.redacted()) }

// MarshalYAML encodes the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.redacted(), nil }

// MarshalText encodes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }
