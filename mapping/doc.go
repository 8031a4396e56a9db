// Package mapping decides what happens to one Kafka record value: drop it,
// reject it (dead-letter it with a local code) or deliver a Zoho record built
// by the module's preset (presets: the Lead Capture preset of DESIGN.md
// "Mapping" for Leads, a Contacts preset, Email alone for other modules)
// plus the configured field mappings and constants. It knows nothing of Kafka, offsets, batches or Zoho calls: the
// pipeline hands it a record value and acts on the Mapped it gets back.
//
// The flow (first match wins):
//
//	value ──▶ empty ─────────────────────────────────▶ drop tombstone
//	  │       first non-blank byte is not '{' ───────▶ reject DECODE_ERROR
//	  │       not valid JSON (encoding/json) or UTF-8 ▶ reject DECODE_ERROR
//	  │       type/event: not a CRM event ───────────▶ drop not_crm_event
//	  │       required consent not granted ──────────▶ drop no_consent
//	  ▼
//	identity traits (context.traits, traits on top), properties
//	  │       no usable email in the traits ─────────▶ reject MISSING_EMAIL
//	  │       email malformed or over 100 characters ▶ reject INVALID_DATA (Email)
//	  ▼
//	fields collected (preset, then mapping.fields; a later one of a name wins)
//	  │       converted by the field's data type (Fields metadata, mapping/fieldvalue):
//	  │       a value that does not convert ─────────▶ left out (Mapped.Omitted), or
//	  │                                                reject INVALID_DATA naming every such field
//	  │                                                (mapping.invalid_values: dead_letter)
//	  ▼
//	deliver: Mapped.Record (zohoapi.Record: field API name + JSON value, in order), Mapped.Key (the email, lower case)
//
// Guarantees:
//
//   - Pure: Map is a function of the record value, the MapperConfig and the
//     module's current Fields metadata (MapperConfig.Metadata); a Mapper is
//     safe for concurrent use, and swaps in the converters of a new metadata
//     generation atomically (no locks on the hot path). The result shares no
//     memory with the value (Kafka clients reuse fetch buffers).
//   - Typed values: with metadata, every mapped value is sent as its field's
//     data type takes it, or not at all (never an empty string); without
//     metadata (not read yet, unreachable) values are sent untyped: texts,
//     numbers as decimal strings, booleans, and the record says so
//     (Mapped.Untyped) so that delivery can map it again once the metadata
//     is read. Email is always sent as the text checkEmail accepted.
//   - Total: every value ends as a drop, a rejection or a record; Map never
//     fails or panics.
//   - Validation: every value that encoding/json's Valid rejects (syntax, or
//     objects and arrays nested deeper than 10,000 levels) or that is not
//     valid UTF-8 (RFC 8259 section 8.1; a Latin-1 "M\xfcller") is
//     DECODE_ERROR, whatever its type says (Kafka Connect's converter rule,
//     DESIGN.md "Decisions on edge cases"): a broken producer shows in the
//     dead-letter topic instead of being dropped as a page view or reaching
//     Zoho with U+FFFD. The message names the offset of the first invalid
//     byte. Every value both accept is read, none is DECODE_ERROR.
//     FuzzMapAgainstEncodingJSON checks this.
//   - Repeated keys: wherever the same key occurs twice in one object of the
//     envelope (the top level, context, context.consent and its categories,
//     traits, context.traits, properties and the objects inside them), its
//     first occurrence counts and the later ones are ignored, as with
//     gjson.Get. Keys compare after unescaping ("tr\u0061its" is traits).
//   - Forgiving names: event names and trait, property and path keys compare
//     case-insensitively with white space, '_' and '-' ignored ("Lead
//     Generated" = "lead_generated"; first_name = FirstName). Where several
//     spellings of one key are present, the choice never depends on member
//     order: the exact spelling first, then one equal ignoring case, then the
//     others in byte order, each until one has a usable value.
//   - Configuration: NewMapper is the one validator of the mapping
//     configuration (consent.required, mapping.events, mapping.fields, and
//     whether the module needs zoho.duplicate_check_fields);
//     config.Validate reports its ConfigErrors under their keys.
//
// Cost: JSON is read with gjson straight from the record value, without
// decoding or copying it. Dropping a page view takes one validating pass
// (validJSON, eight bytes at a time) and the reading of type, event and action, and allocates
// nothing; a CRM event's traits and properties are then walked in place and
// its record's values encoded into one buffer (two allocations: the values
// and the field list). See BenchmarkMapPageView and
// BenchmarkMapLead.
package mapping
