package mapping

// Normalised CRM event labels of the Lead Capture preset.
const (
	eventIdentify      = "identify"
	eventLeadGenerated = "lead_generated"
	eventSignedUp      = "signed_up"
)

// Map decides what happens to one Kafka record value (see the flow in the
// package documentation). It never fails: every value ends as a drop, a
// rejection or a record. Dropping a non-CRM event takes one validating pass
// over the value and the reading of type, event and action, and allocates
// nothing. value is only read during the call and not retained: the result
// shares no memory with it.
//
// not_crm_event is decided before consent: it needs only type and event, and
// "this is a page view" says more on a dashboard than "no consent" would.
// Identity traits are context.traits with the top-level traits on top, for
// every CRM event type (some sources put a track's user traits at the top
// level; they are the user's traits all the same).
func (m *Mapper) Map(value []byte) Mapped {
	if len(value) == 0 {
		return Mapped{Outcome: OutcomeDrop, Drop: DropTombstone}
	}
	if firstNonSpace(value) != '{' {
		if validJSON(value) { // a string, number, array, true, false or null
			return decodeError("the value is JSON but not a JSON object")
		}
		return decodeError(invalidJSONMessage(value))
	}
	s := view(value)
	label, crm := m.crmEvent(peekHead(s))
	if !validJSON(value) {
		r := decodeError(invalidJSONMessage(value))
		r.Event = label
		return r
	}
	if !crm {
		return Mapped{Outcome: OutcomeDrop, Drop: DropNotCRM, Event: label}
	}
	parts := partsOf(s)
	if !consentGranted(parts.consent, m.consent) {
		return Mapped{Outcome: OutcomeDrop, Drop: DropNoConsent, Event: label}
	}
	return m.mapCRM(label, parts.body())
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

// mapCRM builds the Zoho record of a consented CRM event: Email, the
// module's preset fields (presets), then mapping.fields.
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
	fields := append(fieldsBuf[:0], textField(FieldEmail, email))
	first := preferText(&top, &base, slotFirstName)
	last := preferText(&top, &base, slotLastName)
	if first == "" && last == "" {
		first, last = splitName(preferText(&top, &base, slotName))
	}
	var propsBuf [numSlots]member
	var props keyIndex
	propsIndexed := false
	for _, p := range m.preset.fields {
		var v string
		switch p.source {
		case srcFirstName:
			v = first
		case srcLastName:
			v = last
		case srcPhone:
			v = preferText(&top, &base, slotPhone)
		case srcCompany:
			if v = top.company(); v == "" {
				v = base.company()
			}
		case srcSource, srcFormName:
			if label != eventLeadGenerated {
				continue
			}
			if !propsIndexed {
				props, propsIndexed = indexKeys(b.properties, propsBuf[:0]), true
			}
			if p.source == srcSource {
				v = props.text(slotSource)
			} else {
				v = props.text(slotFormName)
			}
		}
		if v != "" {
			f := textField(p.name, v)
			f.lookupByName = p.lookupByName
			fields = append(fields, f)
		}
	}
	for _, f := range m.fields {
		if v, ok := f.value(b); ok {
			fields = append(fields, v)
		}
	}
	cs := m.typed.converters()
	rec, omitted, invalid := encode(fields, cs, m.deadLetterInvalid)
	if invalid != nil {
		return Mapped{Outcome: OutcomeReject, Event: label, Reject: invalidData(invalid)}
	}
	return Mapped{Outcome: OutcomeDeliver, Event: label, Key: keyOf(rec, email), Record: rec, Omitted: omitted,
		Untyped: cs == nil && m.typed.metadata != nil}
}

// value evaluates a configured mapping: a constant (mapping.fields[].value,
// FieldMapping.Constant), otherwise the first usable value at its path (see usableAt);
// both are converted later by the target field's data type.
func (f fieldRule) value(b envelopeBody) (recordField, bool) {
	if f.constant.Exists() {
		return recordField{name: f.to, value: f.constant}, true
	}
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
