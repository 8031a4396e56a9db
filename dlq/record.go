package dlq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names of a dead-letter record (DESIGN.md, "Contract: dead-letter
// records"). Values are UTF-8 strings.
const (
	// HeaderErrorCode is Zoho's error code (MANDATORY_NOT_FOUND, INVALID_DATA, …)
	// or a local one (mapping.CodeDecodeError, …).
	HeaderErrorCode = "error.code"
	// HeaderErrorMessage is a one-line human explanation.
	HeaderErrorMessage = "error.message"
	// HeaderErrorDetails is Zoho's details object as JSON, "{}" if none.
	HeaderErrorDetails = "error.details"
	// HeaderErrorField is the field API name at fault; empty when unknown.
	// For MULTIPLE_OR_MULTI_ERRORS it names every field, comma-separated.
	HeaderErrorField = "error.field"
	// HeaderSourceTopic is the topic of the source record.
	HeaderSourceTopic = "source.topic"
	// HeaderSourcePartition is the partition of the source record, decimal.
	HeaderSourcePartition = "source.partition"
	// HeaderSourceOffset is the offset of the source record, decimal.
	HeaderSourceOffset = "source.offset"
	// HeaderSourceTimestamp is the source record's Kafka timestamp, RFC 3339 (UTC).
	HeaderSourceTimestamp = "source.timestamp"
	// HeaderZohoModule is the module the record was meant for (on every record).
	HeaderZohoModule = "zoho.module"
	// HeaderZohoRecord is the JSON record sent to Zoho; empty when none was sent.
	HeaderZohoRecord = "zoho.record"
	// HeaderFailedAt is the time of the rejection, RFC 3339 (UTC).
	HeaderFailedAt = "failed.at"
)

// Headers lists the header names in the order KafkaRecord writes them.
var Headers = []string{
	HeaderErrorCode, HeaderErrorMessage, HeaderErrorDetails, HeaderErrorField,
	HeaderSourceTopic, HeaderSourcePartition, HeaderSourceOffset, HeaderSourceTimestamp,
	HeaderZohoModule, HeaderZohoRecord, HeaderFailedAt,
}

// Record is the Go form of one dead-letter record.
type Record struct {
	// Key and Value are the source record's, byte for byte (nil stays nil).
	Key, Value []byte
	// Code is the error code: Zoho's, or a local one of package mapping
	// (mapping.CodeDecodeError, mapping.CodeMissingEmail, …).
	Code string
	// Message is a human explanation; KafkaRecord folds it onto one line.
	Message string
	// Field is the field API name at fault, "" when unknown; several
	// comma-separated for MULTIPLE_OR_MULTI_ERRORS (see Fields).
	Field string
	// Details is Zoho's details object; nil or empty is written as "{}".
	Details json.RawMessage
	// SourceTopic, SourcePartition and SourceOffset locate the source record.
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	// SourceTimestamp is the source record's Kafka timestamp.
	SourceTimestamp time.Time
	// Module is the Zoho module the record was meant for.
	Module string
	// ZohoRecord is the JSON record sent to Zoho, nil when none was sent.
	ZohoRecord json.RawMessage
	// FailedAt is the time of the rejection; Writer.Write sets it to the time
	// of the write when zero.
	FailedAt time.Time
	// Extra are further headers written after the contract's, as given: the
	// pipeline carries the source record's own headers in them
	// (CarryHeaders), a replayed record's replay marks among them.
	Extra []kgo.RecordHeader

	// DLQPartition and DLQOffset locate the dead-letter record itself. Parse
	// sets them; KafkaRecord ignores them.
	DLQPartition int32
	DLQOffset    int64
}

// KafkaRecord returns the dead-letter record for topic: the source key and
// value unchanged, and every header of Headers, in that order, then Extra. Header values
// are valid UTF-8 (invalid bytes become U+FFFD); error.message is folded onto
// one line; error.details is compact JSON, "{}" when Details is empty (details
// that are not valid JSON are kept as {"raw": "<text>"}); zoho.record is
// compact JSON when valid; times are RFC 3339 in UTC with sub-second digits
// when present, "" when zero. Partition and timestamp are left to the
// producer (the key's partition under the default partitioner).
func (r Record) KafkaRecord(topic string) *kgo.Record {
	hv := []string{
		text(r.Code),
		oneLine(r.Message),
		details(r.Details),
		text(r.Field),
		text(r.SourceTopic),
		strconv.FormatInt(int64(r.SourcePartition), 10),
		strconv.FormatInt(r.SourceOffset, 10),
		formatTime(r.SourceTimestamp),
		text(r.Module),
		jsonText(r.ZohoRecord),
		formatTime(r.FailedAt),
	}
	headers := make([]kgo.RecordHeader, len(Headers), len(Headers)+len(r.Extra))
	for i, name := range Headers {
		headers[i] = kgo.RecordHeader{Key: name, Value: []byte(hv[i])}
	}
	headers = append(headers, r.Extra...)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: headers}
}

// Codes returns the error codes r stands for: Code, then the codes of the
// inner errors in Details.errors[] (Zoho's MULTIPLE_OR_MULTI_ERRORS), each
// once, in that order.
func (r Record) Codes() []string {
	codes := []string{r.Code}
	for _, e := range innerErrors(r.Details) {
		codes = appendNew(codes, e.Get("code").String())
	}
	return codes
}

// Fields returns the fields at fault: the comma-separated names of Field
// (several for MULTIPLE_OR_MULTI_ERRORS), then the api_names of the inner
// errors in Details.errors[], each once, in that order; none when unknown.
func (r Record) Fields() []string {
	var fields []string
	for _, f := range strings.Split(r.Field, ",") {
		fields = appendNew(fields, strings.TrimSpace(f))
	}
	for _, e := range innerErrors(r.Details) {
		f := e.Get("details.api_name").String()
		if f == "" {
			f = e.Get("api_name").String()
		}
		fields = appendNew(fields, f)
	}
	return fields
}

// innerErrors returns the items of details.errors[], nil when there are none.
func innerErrors(details json.RawMessage) []gjson.Result {
	if !bytes.Contains(details, []byte(`"errors"`)) {
		return nil // the usual case: no parse
	}
	errs := gjson.GetBytes(details, "errors")
	if !errs.IsArray() {
		return nil
	}
	return errs.Array()
}

// appendNew appends s to list unless it is empty or already there.
func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// HeaderError reports a header whose value cannot be read (a partition that is
// not a number, a time that is not RFC 3339).
type HeaderError struct {
	// Header is the header name, e.g. "source.offset".
	Header string
	// Value is the header's value as found.
	Value string
	// Err is the parse error.
	Err error
}

// Error names the header, its value and the parse error.
func (e *HeaderError) Error() string {
	return fmt.Sprintf("dlq: header %s=%q: %v", e.Header, e.Value, e.Err)
}

// Unwrap returns the parse error.
func (e *HeaderError) Unwrap() error { return e.Err }

// Parse reads a dead-letter record back: the inverse of KafkaRecord. Missing
// headers leave their fields zero (a missing failed.at falls back to the
// record's own timestamp); unknown headers are ignored; when a header appears
// twice the last wins. Headers that cannot be parsed are reported together as
// errors.Join of *HeaderError, with every other field still filled in.
func Parse(kr *kgo.Record) (Record, error) {
	r := Record{Key: kr.Key, Value: kr.Value, DLQPartition: kr.Partition, DLQOffset: kr.Offset}
	var errs []error
	bad := func(h, v string, err error) { errs = append(errs, &HeaderError{Header: h, Value: v, Err: err}) }
	haveFailedAt := false
	for _, h := range kr.Headers {
		v := string(h.Value)
		switch h.Key {
		case HeaderErrorCode:
			r.Code = v
		case HeaderErrorMessage:
			r.Message = v
		case HeaderErrorDetails:
			r.Details = nil
			if v != "" {
				r.Details = json.RawMessage(v)
			}
		case HeaderErrorField:
			r.Field = v
		case HeaderSourceTopic:
			r.SourceTopic = v
		case HeaderSourcePartition:
			if v == "" {
				continue
			}
			p, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				bad(h.Key, v, err)
				continue
			}
			r.SourcePartition = int32(p)
		case HeaderSourceOffset:
			if v == "" {
				continue
			}
			o, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				bad(h.Key, v, err)
				continue
			}
			r.SourceOffset = o
		case HeaderSourceTimestamp:
			t, err := parseTime(v)
			if err != nil {
				bad(h.Key, v, err)
				continue
			}
			r.SourceTimestamp = t
		case HeaderZohoModule:
			r.Module = v
		case HeaderZohoRecord:
			r.ZohoRecord = nil
			if v != "" {
				r.ZohoRecord = json.RawMessage(v)
			}
		case HeaderFailedAt:
			t, err := parseTime(v)
			if err != nil {
				bad(h.Key, v, err)
				continue
			}
			r.FailedAt, haveFailedAt = t, !t.IsZero()
		default:
			r.Extra = append(r.Extra, h)
		}
	}
	if !haveFailedAt && !kr.Timestamp.IsZero() {
		r.FailedAt = kr.Timestamp.UTC()
	}
	return r, errors.Join(errs...)
}

// text makes s valid UTF-8.
func text(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// oneLine folds every run of whitespace containing a line or paragraph break
// (and other control characters) into one space, and trims the ends.
func oneLine(s string) string {
	s = text(s)
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// details returns Zoho's details object as compact JSON, "{}" when empty.
func details(d json.RawMessage) string {
	if len(bytes.TrimSpace(d)) == 0 || string(bytes.TrimSpace(d)) == "null" {
		return "{}"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d); err != nil || !utf8.Valid(buf.Bytes()) {
		raw, _ := json.Marshal(map[string]string{"raw": text(string(d))})
		return string(raw)
	}
	return buf.String()
}

// jsonText returns compact JSON when j is valid, else j as valid UTF-8.
func jsonText(j json.RawMessage) string {
	if len(j) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, j); err != nil {
		return text(string(j))
	}
	return text(buf.String())
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
