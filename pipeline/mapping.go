package pipeline

// This file turns one Kafka record value into a decision: drop it, reject it
// (dead-letter with a local code) or deliver a Zoho record (the Lead Capture
// preset of DESIGN.md "Mapping", plus configured field mappings).
//
// Decision order (first match wins):
//
//	empty value                               → drop tombstone
//	first non-blank byte is not '{'           → reject DECODE_ERROR
//	not valid JSON (encoding/json's Valid)    → reject DECODE_ERROR
//	type/event say it is not a CRM event      → drop not_crm_event   (gjson, no decode)
//	required consent not granted              → drop no_consent      (no decode)
//	traits/context.traits/properties read     (in place, see envelopeBody)
//	no usable email in the traits             → reject MISSING_EMAIL
//	email over 100 characters or malformed    → reject INVALID_DATA (field Email)
//	otherwise                                 → deliver
//
// Every value is validated in full, whatever it claims to be (Kafka
// Connect's converter rule, DESIGN.md "Decisions on edge cases"): a broken
// producer upstream shows in the dead-letter topic, even when its events are
// page views. Validation is the one pass of scanEnvelope, which also finds
// the members a CRM event needs. not_crm_event is decided before consent: it
// needs only type and event, and "this is a page view" says more on a
// dashboard than "no consent" would.
//
// Identity traits are context.traits with the top-level traits on top, for
// every CRM event type (some sources put a track's user traits at the top
// level; they are the user's traits all the same).

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldMapping maps one event value to one Zoho field, on top of the Lead
// Capture preset (config key mapping.fields).
type FieldMapping struct {
	// From names the source: "traits.X" (the identity traits: context.traits
	// with traits on top), "context.traits.X" (context.traits only) or
	// "properties.X". X may be a dotted path into nested objects
	// ("traits.address.city"); each segment matches keys like trait keys do
	// (case-insensitively, ignoring spaces, '_' and '-').
	From string
	// To is the Zoho field API name, e.g. "Lead_Status" or a custom field
	// such as "Plan". Zoho's Fields metadata API lists valid names; an
	// unknown name makes Zoho reject the record with INVALID_DATA.
	To string
}

// MapperConfig configures a Mapper. The zero value is the Lead Capture preset
// without a consent check.
type MapperConfig struct {
	// ConsentRequired lists the consent categories (e.g. "marketing") that a
	// CRM event must grant; empty means no consent check.
	ConsentRequired []string
	// Fields are extra field mappings applied after the preset, in order;
	// a mapping that yields a usable value overrides what came before.
	Fields []FieldMapping
	// Events are extra event names treated as CRM events (plain upsert like
	// "Signed Up"), e.g. "Signup". They compare like the preset names.
	Events []string
}

// Outcome is what the pipeline does with one record.
type Outcome int

// Outcomes. The zero value is not an outcome: a Mapped that was never
// filled in is a bug, not a silent drop.
const (
	// OutcomeDrop: the record needs nothing from Zoho; it is done at once
	// and counted by Mapped.Drop.
	OutcomeDrop Outcome = iota + 1
	// OutcomeReject: the record cannot be used; it goes to the dead-letter
	// topic with Mapped.Reject.
	OutcomeReject
	// OutcomeDeliver: Mapped.Record is to be upserted, deduplicated by
	// Mapped.Key.
	OutcomeDeliver
)

// String returns "drop", "reject" or "deliver" ("unknown" otherwise).
func (o Outcome) String() string {
	switch o {
	case OutcomeDrop:
		return "drop"
	case OutcomeReject:
		return "reject"
	case OutcomeDeliver:
		return "deliver"
	}
	return "unknown"
}

// DropReason says why a record was dropped; it is the `reason` label of the
// dropped-records metric.
type DropReason string

// Drop reasons (DESIGN.md "Decisions on edge cases").
const (
	// DropTombstone: the record value is empty (a Kafka tombstone).
	DropTombstone DropReason = "tombstone"
	// DropNotCRM: a page view, screen, group, alias or a track that is not
	// one of the CRM events.
	DropNotCRM DropReason = "not_crm_event"
	// DropNoConsent: consent is required and the event has no consent
	// information, or a required category is missing or not true.
	DropNoConsent DropReason = "no_consent"
)

// Local rejection codes, written to the dead-letter header error.code.
const (
	// CodeDecodeError: the value is not a JSON object (or, for a CRM event,
	// not valid JSON).
	CodeDecodeError = "DECODE_ERROR"
	// CodeMissingEmail: a CRM event without a usable email in traits or
	// context.traits. Emails in properties, userId or the top level are not
	// identity.
	CodeMissingEmail = "MISSING_EMAIL"
	// CodeInvalidData is Zoho's own code for a bad field value, used locally
	// for an Email that Zoho would certainly reject: over EmailMaxLength
	// characters or malformed. Zoho once silently truncated over-long
	// emails, which broke dedupe (zoho-crm-api.md, Fields metadata).
	CodeInvalidData = "INVALID_DATA"
)

// FieldEmail is the Zoho field API name of the email, the Leads module's
// system duplicate-check field.
const FieldEmail = "Email"

// EmailMaxLength is the length of Zoho's Email field in characters
// (Fields metadata: Email, data type email, length 100).
const EmailMaxLength = 100

// Rejection describes why a record is dead-lettered locally; the fields feed
// the dead-letter headers error.code, error.message, error.details and
// error.field.
type Rejection struct {
	// Code is CodeDecodeError, CodeMissingEmail or CodeInvalidData.
	Code string
	// Message is a one-line explanation. It never contains the email or
	// other personal data (the dead-letter value holds the event itself).
	Message string
	// Field is the Zoho field API name at fault ("Email"), empty if none.
	Field string
	// Details is a Zoho-shaped details object for error.details, e.g.
	// {"api_name":"Email","maximum_length":100}; empty means "{}".
	Details string
}

// Mapped is the decision for one record value.
type Mapped struct {
	// Outcome says which of the fields below apply.
	Outcome Outcome
	// Drop is set when Outcome is OutcomeDrop.
	Drop DropReason
	// Reject is set when Outcome is OutcomeReject.
	Reject Rejection
	// Key is the dedupe key of a delivered record: the email, trimmed and
	// lower-cased (Zoho matches Email case-insensitively). Empty unless
	// Outcome is OutcomeDeliver.
	Key string
	// Record is the Zoho record of a delivered event: field API name →
	// value (strings, or booleans from configured mappings). Email keeps
	// its case. Nil unless Outcome is OutcomeDeliver.
	Record map[string]any
	// Event is a bounded label for logs and metrics: for CRM events the
	// normalised name ("identify", "lead_generated", "signed_up", or a
	// configured name in snake case); for other events their type ("page",
	// "track", "screen", "group", "alias", or "other"), also when the
	// object is not valid JSON (what its type seems to say); empty for
	// tombstones and values that are not JSON objects.
	Event string
}

// Normalised CRM event labels of the Lead Capture preset.
const (
	eventIdentify      = "identify"
	eventLeadGenerated = "lead_generated"
	eventSignedUp      = "signed_up"
)

// ErrInvalidMapperConfig is wrapped by every error NewMapper returns.
var ErrInvalidMapperConfig = errors.New("invalid mapper configuration")

// Mapper decides and maps record values. It is immutable after NewMapper and
// safe for concurrent use.
type Mapper struct {
	consent []string
	// events: folded track name → label.
	events map[string]string
	fields []fieldRule
}

// fieldRule is a validated FieldMapping.
type fieldRule struct {
	source fieldSource
	path   []string // trait/property path segments, as configured
	folded []string // path segments folded (foldName), for matching keys
	to     string
}

type fieldSource int

const (
	fromTraits fieldSource = iota + 1
	fromContextTraits
	fromProperties
)

// NewMapper validates c and returns a Mapper. Every problem is reported at
// once (errors.Join), each wrapping ErrInvalidMapperConfig: an empty consent
// category, an empty or over-long event name, a mapping whose From lacks a
// "traits.", "context.traits." or "properties." prefix or has an empty path
// segment, and a To that is empty, not a field API name (letters, digits,
// '_'), or Email (the email comes only from the traits).
func NewMapper(c MapperConfig) (*Mapper, error) {
	m := &Mapper{
		events: map[string]string{
			"identified":    eventIdentify,
			"leadgenerated": eventLeadGenerated,
			"signedup":      eventSignedUp,
		},
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidMapperConfig}, args...)...))
	}
	for i, cat := range c.ConsentRequired {
		cat = strings.TrimSpace(cat)
		if cat == "" {
			bad("consent.required[%d] is empty", i)
			continue
		}
		m.consent = append(m.consent, cat)
	}
	for i, name := range c.Events {
		folded := foldName(name)
		switch {
		case folded == "":
			bad("mapping.events[%d] is empty", i)
		case len(folded) > maxFoldedName:
			bad("mapping.events[%d] is longer than %d bytes", i, maxFoldedName)
		default:
			if _, ok := m.events[folded]; !ok {
				m.events[folded] = snakeName(name)
			}
		}
	}
	for i, f := range c.Fields {
		r, err := parseFieldMapping(f)
		if err != nil {
			bad("mapping.fields[%d]: %v", i, err)
			continue
		}
		m.fields = append(m.fields, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

func parseFieldMapping(f FieldMapping) (fieldRule, error) {
	var r fieldRule
	from := strings.TrimSpace(f.From)
	var rest string
	switch {
	case strings.HasPrefix(from, "context.traits."):
		r.source, rest = fromContextTraits, strings.TrimPrefix(from, "context.traits.")
	case strings.HasPrefix(from, "traits."):
		r.source, rest = fromTraits, strings.TrimPrefix(from, "traits.")
	case strings.HasPrefix(from, "properties."):
		r.source, rest = fromProperties, strings.TrimPrefix(from, "properties.")
	default:
		return r, fmt.Errorf("from %q must start with traits., context.traits. or properties.", f.From)
	}
	r.path = strings.Split(rest, ".")
	for _, seg := range r.path {
		folded := foldName(seg)
		if folded == "" {
			return r, fmt.Errorf("from %q has an empty key", f.From)
		}
		r.folded = append(r.folded, folded)
	}
	r.to = strings.TrimSpace(f.To)
	if r.to == "" {
		return r, errors.New("to is empty")
	}
	for _, c := range r.to {
		if !(c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return r, fmt.Errorf("to %q is not a field API name (letters, digits and _ only)", f.To)
		}
	}
	if strings.EqualFold(r.to, FieldEmail) {
		return r, errors.New("to Email is not allowed: the email comes only from traits.email")
	}
	return r, nil
}

// Map decides what happens to one Kafka record value (see the decision order
// at the top of this file). It never fails: every value ends as a drop, a
// rejection or a record. Dropping a non-CRM event takes one validating pass
// over the value and the reading of type, event and action, and allocates
// nothing. value is only read during the call and
// not retained: the result shares no memory with it.
func (m *Mapper) Map(value []byte) Mapped {
	if len(value) == 0 {
		return Mapped{Outcome: OutcomeDrop, Drop: DropTombstone}
	}
	if firstNonSpace(value) != '{' {
		return decodeError("the value is not a JSON object")
	}
	s := view(value)
	head := peekHead(s)
	label, crm := m.crmEvent(head)
	parts, valid := scanEnvelope(s)
	if !valid {
		r := decodeError("the value is not valid JSON")
		r.Event = label
		return r
	}
	if !crm {
		return Mapped{Outcome: OutcomeDrop, Drop: DropNotCRM, Event: label}
	}
	if !consentGranted(parts.consent, m.consent) {
		return Mapped{Outcome: OutcomeDrop, Drop: DropNoConsent, Event: label}
	}
	body := bodyOf(parts)
	return m.mapCRM(label, body)
}

func decodeError(msg string) Mapped {
	return Mapped{Outcome: OutcomeReject, Reject: Rejection{Code: CodeDecodeError, Message: msg}}
}

// crmEvent returns the event's label and whether it is a CRM event.
func (m *Mapper) crmEvent(h envelopeHead) (string, bool) {
	switch h.kind {
	case typeIdentify:
		return eventIdentify, true
	case typeTrack:
		if h.event == "" {
			return typeTrack, false
		}
		var buf [maxFoldedName]byte
		folded := appendFolded(buf[:0], h.event) // spills to the heap only for absurd names
		if len(folded) > maxFoldedName {
			return typeTrack, false
		}
		if label, ok := m.events[string(folded)]; ok {
			return label, true
		}
		return typeTrack, false
	case "", "?":
		return eventOther, false
	}
	return h.kind, false
}

// mapCRM builds the Zoho record of a consented CRM event.
func (m *Mapper) mapCRM(label string, b envelopeBody) Mapped {
	// Identity traits: context.traits first, then traits on top (per field:
	// a usable value in traits wins). The index buffers keep the usual case
	// (one spelling per slot) off the heap.
	var topBuf, baseBuf [numSlots]member
	top, base := indexKeys(b.traits, topBuf[:0]), indexKeys(b.contextTraits, baseBuf[:0])
	email := preferText(&top, &base, slotEmail)
	if email == "" {
		return Mapped{
			Outcome: OutcomeReject,
			Event:   label,
			Reject: Rejection{
				Code:    CodeMissingEmail,
				Message: "no email in traits or context.traits (emails in properties, userId or the top level are not identity)",
				Field:   FieldEmail,
				Details: `{"api_name":"Email"}`,
			},
		}
	}
	if rej, ok := checkEmail(email); !ok {
		return Mapped{Outcome: OutcomeReject, Event: label, Reject: rej}
	}
	var fieldsBuf [16]recordField
	fields := append(fieldsBuf[:0], recordField{name: FieldEmail, text: email})
	first := preferText(&top, &base, slotFirstName)
	last := preferText(&top, &base, slotLastName)
	if first == "" && last == "" {
		first, last = splitName(preferText(&top, &base, slotName))
	}
	fields = appendText(fields, "First_Name", first)
	fields = appendText(fields, "Last_Name", last)
	fields = appendText(fields, "Phone", preferText(&top, &base, slotPhone))
	company := top.company()
	if company == "" {
		company = base.company()
	}
	fields = appendText(fields, "Company", company)
	if label == eventLeadGenerated {
		var propsBuf [numSlots]member
		props := indexKeys(b.properties, propsBuf[:0])
		fields = appendText(fields, "Lead_Source", props.text(slotSource))
		fields = appendText(fields, "Description", props.text(slotFormName))
	}
	for _, f := range m.fields {
		if v, ok := f.value(b); ok {
			fields = append(fields, v)
		}
	}
	rec := buildRecord(fields)
	// Email is the first field and no configured mapping may write it
	// (NewMapper), so this is the record's own copy of the email.
	email = rec[FieldEmail].(string)
	return Mapped{Outcome: OutcomeDeliver, Event: label, Key: strings.ToLower(email), Record: rec}
}

// recordField is one field of a record being built. text may point into the
// record value until buildRecord copies it.
type recordField struct {
	name   string
	text   string
	flag   bool
	isFlag bool // the value is flag (a JSON boolean), not text
}

// appendText appends a text field unless v is empty.
func appendText(fields []recordField, name, v string) []recordField {
	if v == "" {
		return fields
	}
	return append(fields, recordField{name: name, text: v})
}

// buildRecord returns the record of fields; a later field overrides an
// earlier one of the same name. The texts are copied into one new string
// (one allocation instead of one per field) so that the record never shares
// memory with the record value, whose buffer the Kafka client reuses.
func buildRecord(fields []recordField) map[string]any {
	size := 0
	for _, f := range fields {
		size += len(f.text)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, f := range fields {
		sb.WriteString(f.text)
	}
	all := sb.String()
	rec := make(map[string]any, len(fields))
	for _, f := range fields {
		if f.isFlag {
			rec[f.name] = f.flag
			continue
		}
		rec[f.name] = all[:len(f.text)]
		all = all[len(f.text):]
	}
	return rec
}

// slot is a trait or property key that the preset reads.
type slot int

const (
	slotEmail slot = iota
	slotFirstName
	slotLastName
	slotPhone
	slotCompany
	slotName
	slotSource   // properties.source (Lead Generated)
	slotFormName // properties.form_name (Lead Generated)
	numSlots
)

// slotExact gives each slot's preferred exact spelling (see keyRank).
var slotExact = [numSlots]string{
	slotEmail:     "email",
	slotFirstName: "firstName",
	slotLastName:  "lastName",
	slotPhone:     "phone",
	slotCompany:   "company",
	slotName:      "name",
	slotSource:    "source",
	slotFormName:  "form_name",
}

// slotOf returns the slot whose key folds to folded.
func slotOf(folded []byte) (slot, bool) {
	switch string(folded) { // no allocation: the compiler compares in place
	case "email":
		return slotEmail, true
	case "firstname":
		return slotFirstName, true
	case "lastname":
		return slotLastName, true
	case "phone":
		return slotPhone, true
	case "company":
		return slotCompany, true
	case "name":
		return slotName, true
	case "source":
		return slotSource, true
	case "formname":
		return slotFormName, true
	}
	return 0, false
}

// member is one member of a JSON object, filed under the slot (or the
// configured path segment) its key matches. key is the unescaped key; key
// and raw may point into the record value.
type member struct {
	slot slot
	rank int // preference of key (see keyRank)
	key  string
	raw  string
}

// members is a list of matched members, ordered by slot and then preference
// (see keyRank) once sorted.
type members []member

// add files a member and returns the list. A key seen before replaces the
// earlier occurrence's value: a repeated key means its last occurrence, as
// when the object is decoded into a map. (It returns the list rather than
// appending through a pointer so that a list backed by a caller's array
// stays on the stack.)
func (ms members) add(m member) members {
	for i := range ms {
		if ms[i].slot == m.slot && ms[i].key == m.key {
			ms[i].raw = m.raw
			return ms
		}
	}
	return append(ms, m)
}

// sort orders the members by slot, then keyRank and byte order. Lists are tiny
// (one member per slot is usual), so an insertion sort does.
func (ms members) sort() {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].before(ms[j-1]); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

func (m member) before(o member) bool {
	if m.slot != o.slot {
		return m.slot < o.slot
	}
	if m.rank != o.rank {
		return m.rank < o.rank
	}
	return m.key < o.key
}

// keyRank ranks a spelling of a key so that the choice among several never
// depends on member order: the exact spelling first, then spellings equal to
// it ignoring case, then the others (in byte order, see member.before).
func keyRank(key, exact string) int {
	switch {
	case key == exact:
		return 0
	case strings.EqualFold(key, exact):
		return 1
	}
	return 2
}

// memberKey returns the unescaped key of a member and whether it may match
// anything: keys longer than maxFoldedName bytes never do.
func memberKey(quoted string) (string, bool) {
	k := unquote(quoted)
	return k, len(k) <= maxFoldedName
}

// keyIndex lists the members of one object whose keys fold to a slot's key,
// by slot, most preferred first.
type keyIndex struct {
	ms members
}

// indexKeys reads the keys of the raw JSON object obj once and files those
// the preset uses, appending to buf.
func indexKeys(obj string, buf []member) keyIndex {
	ix := keyIndex{ms: buf}
	forEachMember(obj, func(quoted, raw string) bool {
		k, ok := memberKey(quoted)
		if !ok {
			return true
		}
		var fb [maxFoldedName]byte
		if s, ok := slotOf(appendFolded(fb[:0], k)); ok {
			ix.ms = ix.ms.add(member{slot: s, rank: keyRank(k, slotExact[s]), key: k, raw: raw})
		}
		return true
	})
	ix.ms.sort()
	return ix
}

// text returns the first usable text among the slot's members.
func (ix *keyIndex) text(s slot) string {
	for _, m := range ix.ms {
		if m.slot != s {
			continue
		}
		if t := textOf(m.raw); t != "" {
			return t
		}
	}
	return ""
}

// company returns the company: a text, or the name of a company object.
func (ix *keyIndex) company() string {
	for _, m := range ix.ms {
		if m.slot != slotCompany {
			continue
		}
		if strings.HasPrefix(m.raw, "{") {
			var buf [numSlots]member
			n := indexKeys(m.raw, buf[:0])
			if t := n.text(slotName); t != "" {
				return t
			}
			continue
		}
		if t := textOf(m.raw); t != "" {
			return t
		}
	}
	return ""
}

// preferText returns a slot's text from top, else from base.
func preferText(top, base *keyIndex, s slot) string {
	if t := top.text(s); t != "" {
		return t
	}
	return base.text(s)
}

// value evaluates a configured mapping: text as for the preset, and JSON
// booleans passed through (for checkbox fields; Zoho rejects them on a text
// field with INVALID_DATA, which is visible in the dead-letter topic).
func (f fieldRule) value(b envelopeBody) (recordField, bool) {
	var v recordField
	var ok bool
	switch f.source {
	case fromTraits:
		// traits on top of context.traits: the first usable one wins.
		if v, ok = usableAt(b.traits, f.path, f.folded); !ok {
			v, ok = usableAt(b.contextTraits, f.path, f.folded)
		}
	case fromContextTraits:
		v, ok = usableAt(b.contextTraits, f.path, f.folded)
	case fromProperties:
		v, ok = usableAt(b.properties, f.path, f.folded)
	}
	v.name = f.to
	return v, ok
}

// usableAt follows path (folded: its segments folded) through nested raw
// JSON objects, each segment matched like a trait key, and returns the first
// usable value at its end: a non-empty text (see textOf) or a boolean. The
// returned field has no name.
func usableAt(obj string, path, folded []string) (recordField, bool) {
	if len(path) == 0 || obj == "" {
		return recordField{}, false
	}
	var buf [4]member
	for _, m := range matchingMembers(obj, path[0], folded[0], buf[:0]) {
		if len(path) > 1 {
			if strings.HasPrefix(m.raw, "{") {
				if out, ok := usableAt(m.raw, path[1:], folded[1:]); ok {
					return out, true
				}
			}
			continue
		}
		if b, ok := boolOf(m.raw); ok {
			return recordField{flag: b, isFlag: true}, true
		}
		if t := textOf(m.raw); t != "" {
			return recordField{text: t}, true
		}
	}
	return recordField{}, false
}

// matchingMembers returns the members of the raw JSON object obj whose keys
// fold to folded (the folded form of key), most preferred first (keyRank
// with key as the exact spelling), appended to buf.
func matchingMembers(obj, key, folded string, buf []member) members {
	ms := members(buf)
	forEachMember(obj, func(quoted, raw string) bool {
		k, ok := memberKey(quoted)
		if !ok {
			return true
		}
		var fb [maxFoldedName]byte
		if string(appendFolded(fb[:0], k)) == folded {
			ms = ms.add(member{rank: keyRank(k, key), key: k, raw: raw})
		}
		return true
	})
	ms.sort()
	return ms
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

// checkEmail rejects, with Zoho's code INVALID_DATA, an email that Zoho
// would certainly reject or mangle: longer than EmailMaxLength characters,
// or clearly malformed — not exactly one '@', an empty local part or domain,
// white space, control characters or unquoted specials (",;:<>()[]\ and
// quotes), a dot at either end of a part or two dots in a row, a domain
// without a dot or with a label starting or ending with '-'. It does not try
// to be a full RFC 5322 parser: anything subtler is left to Zoho.
func checkEmail(email string) (Rejection, bool) {
	if n := utf8.RuneCountInString(email); n > EmailMaxLength {
		return Rejection{
			Code:    CodeInvalidData,
			Message: fmt.Sprintf("email is %d characters long; Zoho's Email field holds at most %d", n, EmailMaxLength),
			Field:   FieldEmail,
			Details: fmt.Sprintf(`{"api_name":"Email","maximum_length":%d}`, EmailMaxLength),
		}, false
	}
	if why := emailProblem(email); why != "" {
		return Rejection{
			Code:    CodeInvalidData,
			Message: "email is not a valid address: " + why,
			Field:   FieldEmail,
			Details: `{"api_name":"Email","expected_data_type":"email"}`,
		}, false
	}
	return Rejection{}, true
}

// isEmailSpecial reports whether r is one of ",;:<>()[]\ and the double
// quote: characters allowed in an address only inside a quoted local part.
func isEmailSpecial(r rune) bool {
	switch r {
	case '"', ',', ';', ':', '<', '>', '(', ')', '[', ']', '\\':
		return true
	}
	return false
}

// emailProblem returns why email is clearly malformed, or "".
func emailProblem(email string) string {
	at := strings.IndexByte(email, '@')
	if at < 0 {
		return "no @"
	}
	if strings.IndexByte(email[at+1:], '@') >= 0 {
		return "more than one @"
	}
	local, domain := email[:at], email[at+1:]
	if local == "" {
		return "empty local part"
	}
	if domain == "" {
		return "empty domain"
	}
	for _, r := range email {
		switch {
		case r == utf8.RuneError:
			return "invalid UTF-8"
		case unicode.IsSpace(r):
			return "contains white space"
		case unicode.IsControl(r):
			return "contains a control character"
		case isEmailSpecial(r):
			return "contains a character not allowed unquoted"
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "misplaced dot in the local part"
	}
	if !strings.Contains(domain, ".") {
		return "domain has no dot"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return "empty domain label"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "domain label starts or ends with -"
		}
		for _, r := range label {
			if r < utf8.RuneSelf && !(r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
				return "domain contains a character not allowed in host names"
			}
		}
	}
	return ""
}
