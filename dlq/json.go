package dlq

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// RecordJSON is a dead-letter record as one line of `consumer dlq inspect -o
// json` (for jq): every header, the original key and value, and the
// record's place in the dead-letter topic. Times are RFC 3339 with
// nanoseconds in UTC ("" when unknown). Key and Value are the bytes as a
// string when they are UTF-8, else null with KeyBase64/ValueBase64 holding
// them (standard base64); a nil key or value is null without base64.
// Details is Zoho's details object ({} when none), ZohoRecord the JSON record
// sent (null when none); either, when not valid JSON, is a JSON string.
// ExtraHeaders are the record's headers beyond the contract's (Record.Extra:
// replay.group and replay.count of a replayed record, anything a producer
// added), in the record's order; [] when none.
type RecordJSON struct {
	FailedAt        string          `json:"failed_at"`
	Code            string          `json:"code"`
	Message         string          `json:"message"`
	Field           string          `json:"field"`
	Details         json.RawMessage `json:"details"`
	SourceTopic     string          `json:"source_topic"`
	SourcePartition int32           `json:"source_partition"`
	SourceOffset    int64           `json:"source_offset"`
	SourceTimestamp string          `json:"source_timestamp"`
	Module          string          `json:"module"`
	Key             *string         `json:"key"`
	KeyBase64       string          `json:"key_base64,omitempty"`
	Value           *string         `json:"value"`
	ValueBase64     string          `json:"value_base64,omitempty"`
	ZohoRecord      json.RawMessage `json:"zoho_record"`
	ExtraHeaders    []HeaderJSON    `json:"extra_headers"`
	DLQPartition    int32           `json:"dlq_partition"`
	DLQOffset       int64           `json:"dlq_offset"`
}

// NewRecordJSON is r as RecordJSON.
func NewRecordJSON(r Record) RecordJSON {
	j := RecordJSON{
		FailedAt: timeNano(r.FailedAt), Code: r.Code, Message: r.Message, Field: r.Field,
		Details:     rawOr(r.Details, `{}`),
		SourceTopic: r.SourceTopic, SourcePartition: r.SourcePartition, SourceOffset: r.SourceOffset,
		SourceTimestamp: timeNano(r.SourceTimestamp), Module: r.Module,
		ZohoRecord:   rawOr(r.ZohoRecord, `null`),
		DLQPartition: r.DLQPartition, DLQOffset: r.DLQOffset,
	}
	j.Key, j.KeyBase64 = bytesJSON(r.Key)
	j.Value, j.ValueBase64 = bytesJSON(r.Value)
	j.ExtraHeaders = make([]HeaderJSON, 0, len(r.Extra))
	for _, h := range r.Extra {
		hj := HeaderJSON{Key: h.Key}
		hj.Value, hj.ValueBase64 = bytesJSON(h.Value)
		j.ExtraHeaders = append(j.ExtraHeaders, hj)
	}
	return j
}

// HeaderJSON is one Kafka record header of RecordJSON: its value as a string
// when it is UTF-8, else null with ValueBase64 holding it (standard base64);
// a nil value is null without base64.
type HeaderJSON struct {
	Key         string  `json:"key"`
	Value       *string `json:"value"`
	ValueBase64 string  `json:"value_base64,omitempty"`
}

// bytesJSON is b as a JSON string when it is UTF-8, else as base64; nil is null.
func bytesJSON(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	return nil, base64.StdEncoding.EncodeToString(b)
}

// rawOr returns raw when it is valid JSON, empty as def, and anything else as a JSON string.
func rawOr(raw json.RawMessage, def string) json.RawMessage {
	switch {
	case len(raw) == 0:
		return json.RawMessage(def)
	case json.Valid(raw):
		return raw
	}
	s, _ := json.Marshal(string(raw))
	return s
}

// timeNano is t in UTC as RFC 3339 with nanoseconds, "" when zero.
func timeNano(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
