package mapping

import "github.com/zohosink/zohosink/zohoapi"

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
	// CodeDecodeError: the value is not a JSON object, or not valid JSON
	// (as encoding/json's Valid judges it), whatever it claims to be.
	CodeDecodeError = "DECODE_ERROR"
	// CodeMissingEmail: a CRM event without a usable email in traits or
	// context.traits. Emails in properties, userId or the top level are not
	// identity.
	CodeMissingEmail = "MISSING_EMAIL"
	// CodeInvalidData is Zoho's own code for a bad field value, used locally
	// for an Email that Zoho would certainly reject (over EmailMaxLength
	// characters or malformed) and, with mapping.invalid_values dead_letter,
	// for a value that does not convert to its field's data type (Details
	// as Zoho's: api_name, expected_data_type). Zoho once silently truncated over-long
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
	// Record is the Zoho record of a delivered event: its fields in the
	// order the preset and the configured mappings wrote them (Email first,
	// keeping its case), each value converted by its field's data type when
	// the module's metadata is known (MapperConfig.Metadata). Nil unless
	// Outcome is OutcomeDeliver.
	Record zohoapi.Record
	// Untyped is set when Record's values were encoded untyped because
	// MapperConfig.Metadata is set but had no metadata yet (not read, or
	// unreadable): Zoho may reject them with INVALID_DATA although they
	// would convert, and mapping the event again once the metadata is read
	// fixes that. Never set without MapperConfig.Metadata.
	Untyped bool
	// Omitted lists the values left out of Record because they could not be
	// converted (MapperConfig.InvalidValues "omit"); nil when none were.
	Omitted []Omission
	// Event is a bounded label for logs and metrics: for CRM events the
	// normalised name ("identify", "lead_generated", "signed_up", or a
	// configured name in snake case); for other events their type ("page",
	// "track", "screen", "group", "alias", or "other"), also when the
	// object is not valid JSON (what its type seems to say); empty for
	// tombstones and values that are not JSON objects.
	Event string
}

func decodeError(msg string) Mapped {
	return Mapped{Outcome: OutcomeReject, Reject: Rejection{Code: CodeDecodeError, Message: msg}}
}
