// Package fieldvalue converts one JSON value from an event into the value a
// Zoho CRM field of a given data type takes, by the field's metadata
// ([zohoapi.Field] from the Fields metadata API: data_type, length,
// decimal_place, pick_list_values, read_only).
//
// Its part of the flow:
//
//	mapping: trait value (gjson.Result) ──▶ Converter (one per mapped field, built by New
//	                                        from the field's metadata at start)
//	                                             │ Append(record, value)
//	                                             ▼
//	         the record's JSON gets Zoho's encoding of the value ──▶ upsert
//	         or *Error{Field, Reason, ExpectedDataType}: the caller leaves the field
//	         out (or dead-letters the record) and counts Reason
//
// Conversions, by Zoho data type (Zoho "Fields Metadata" v8 and crm-oas
// v8.0/fields.json for the types and their length / decimal_place; formats as
// in the team's digest zoho-crm-api.md "Fields metadata"; limits of the field
// types as in Zoho CRM's "Custom field types": integer up to 9 digits, long
// integer (bigint) up to 18, decimal and currency up to 16 digits including
// the decimal places; Zoho's SDKs send integer and bigint as JSON numbers,
// double/currency/percent as JSON numbers, multiselectpicklist as a JSON
// array):
//
//	text, textarea, email, phone, website  string, trimmed; numbers as their exact decimal
//	                                       text (DecimalText: 1e21 → "1000000000000000000000"),
//	                                       booleans as their JSON text; at most length
//	                                       characters
//	picklist                               as text; a value outside pick_list_values is
//	                                       sent and flagged (Note.OutsidePicklist)
//	multiselectpicklist                    JSON array of strings, from an array of strings
//	                                       or a comma-separated string, items trimmed, empty
//	                                       items dropped; an item that is not a string is
//	                                       ReasonWrongType
//	integer, bigint                        JSON number from a JSON number with an integral
//	                                       value or a string of digits; at most length
//	                                       digits (9 / 18 by default) and within 32-bit /
//	                                       64-bit signed range
//	double, decimal, currency, percent     JSON number from a number or a decimal string
//	                                       ("12.5%" for percent), rounded half away from zero
//	                                       to decimal_place; at most length−decimal_place
//	                                       integer digits
//	boolean                                true / false, and the strings true/false, yes/no,
//	                                       1/0 (any case) and the numbers 1/0
//	date                                   "yyyy-MM-dd" from an ISO date, the date part of an
//	                                       RFC 3339 date-time as written, or epoch seconds /
//	                                       milliseconds (UTC)
//	datetime                               "yyyy-MM-ddTHH:mm:ss±HH:mm" from RFC 3339 with or
//	                                       without fraction (dropped) and "Z" (as +00:00), or
//	                                       epoch seconds / milliseconds (UTC)
//
// Epoch numbers are read by their magnitude |n|, negative ones (before 1970)
// alike: |n| of 10^10 or more is milliseconds (10^10 ms is 1970-04-26; 10^10
// seconds would be 2286), 10^8 up to 10^10 is seconds (1973-03-03 to 2286,
// before 1966-10-31 when negative), and |n| under 10^8 is refused as
// ReasonAmbiguousNumber: it could be seconds within three years of 1970,
// milliseconds within 28 hours of it, or a yyyymmdd date (20261128).
//
// Every other data type (lookup, ownerlookup, userlookup, fileupload,
// imageupload, formula, autonumber, subform, …) and every read-only field is
// refused by [New] and [Supported] with ReasonUnsupportedType or
// ReasonReadOnly: zohosink does not write them.
//
// Guarantees:
//   - A value is never sent empty: null, a missing value, an empty or blank
//     string, an empty array are ReasonEmpty (the caller leaves the field out).
//   - Errors never contain the value (it may be personal data): only the
//     field's API name, the reason and Zoho's expected_data_type.
//   - Append writes valid JSON or nothing: on error dst is returned unchanged.
//   - Converters are immutable and safe for concurrent use. Append does not
//     allocate for values without JSON escapes and numbers in plain decimal
//     form (no exponent, no trailing fraction zeros) (BenchmarkAppend:
//     text, integer, datetime, currency, multiselect).
package fieldvalue
