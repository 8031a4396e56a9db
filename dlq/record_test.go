package dlq

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

func sampleRecord() Record {
	return Record{
		Key:             []byte("user-123"),
		Value:           []byte(`{"type":"identify","traits":{"email":"jane.doe@example.com"}}` + "\n\xff"),
		Code:            "MANDATORY_NOT_FOUND",
		Message:         "required field not found",
		Field:           "Last_Name",
		Details:         json.RawMessage(`{"api_name":"Last_Name","json_path":"$.data[0].Last_Name"}`),
		SourceTopic:     "events",
		SourcePartition: 2,
		SourceOffset:    41,
		SourceTimestamp: time.Date(2026, 11, 28, 10, 0, 0, 123_000_000, time.UTC),
		Module:          "Leads",
		ZohoRecord:      json.RawMessage(`{"Email":"jane.doe@example.com"}`),
		FailedAt:        time.Date(2026, 11, 28, 10, 0, 5, 0, time.UTC),
	}
}

func headerMap(t *testing.T, kr *kgo.Record) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range kr.Headers {
		if _, dup := m[h.Key]; dup {
			t.Errorf("header %s written twice", h.Key)
		}
		if !utf8.Valid(h.Value) {
			t.Errorf("header %s is not UTF-8: %q", h.Key, h.Value)
		}
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestKafkaRecordFollowsContract(t *testing.T) {
	r := sampleRecord()
	kr := r.KafkaRecord("events.zoho-dlq")
	if kr.Topic != "events.zoho-dlq" {
		t.Errorf("topic = %q", kr.Topic)
	}
	if string(kr.Key) != string(r.Key) || string(kr.Value) != string(r.Value) {
		t.Errorf("key/value changed: %q %q", kr.Key, kr.Value)
	}
	want := map[string]string{
		"error.code":       "MANDATORY_NOT_FOUND",
		"error.message":    "required field not found",
		"error.details":    `{"api_name":"Last_Name","json_path":"$.data[0].Last_Name"}`,
		"error.field":      "Last_Name",
		"source.topic":     "events",
		"source.partition": "2",
		"source.offset":    "41",
		"source.timestamp": "2026-11-28T10:00:00.123Z",
		"zoho.module":      "Leads",
		"zoho.record":      `{"Email":"jane.doe@example.com"}`,
		"failed.at":        "2026-11-28T10:00:05Z",
	}
	if got := headerMap(t, kr); !reflect.DeepEqual(got, want) {
		t.Errorf("headers =\n%v\nwant\n%v", got, want)
	}
	var names []string
	for _, h := range kr.Headers {
		names = append(names, h.Key)
	}
	if !reflect.DeepEqual(names, Headers) {
		t.Errorf("header order = %v, want %v", names, Headers)
	}
}

func TestKafkaRecordNormalisesHeaders(t *testing.T) {
	r := Record{
		Code:       "DECODE_ERROR",
		Message:    "  invalid character 'x'\r\n\tlooking for\u2028value \xff ",
		Details:    json.RawMessage(" {\n \"a\" : 1 }\n"),
		ZohoRecord: json.RawMessage("{ \"Email\" :\n \"x@y.z\" }"),
		Module:     "Leads",
	}
	h := headerMap(t, r.KafkaRecord("dlq"))
	if got, want := h["error.message"], "invalid character 'x' looking for value \uFFFD"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if got := h["error.details"]; got != `{"a":1}` {
		t.Errorf("details = %q", got)
	}
	if got := h["zoho.record"]; got != `{"Email":"x@y.z"}` {
		t.Errorf("zoho.record = %q", got)
	}
	for _, d := range []json.RawMessage{nil, json.RawMessage(""), json.RawMessage("null")} {
		r.Details = d
		if got := headerMap(t, r.KafkaRecord("dlq"))["error.details"]; got != "{}" {
			t.Errorf("details %q → %q, want {}", d, got)
		}
	}
	r.Details = json.RawMessage("not json")
	if got := headerMap(t, r.KafkaRecord("dlq"))["error.details"]; got != `{"raw":"not json"}` {
		t.Errorf("invalid details → %q", got)
	}
	h = headerMap(t, Record{}.KafkaRecord("dlq"))
	if h["zoho.record"] != "" || h["failed.at"] != "" || h["source.timestamp"] != "" || h["error.field"] != "" {
		t.Errorf("empty fields should give empty headers: %v", h)
	}
	if len(h) != len(Headers) {
		t.Errorf("every header is always written: %v", h)
	}
}

func TestParseInvertsKafkaRecord(t *testing.T) {
	r := sampleRecord()
	kr := r.KafkaRecord("dlq")
	kr.Partition, kr.Offset, kr.Timestamp = 1, 99, time.Now()
	got, err := Parse(kr)
	if err != nil {
		t.Fatal(err)
	}
	r.DLQPartition, r.DLQOffset = 1, 99
	if !reflect.DeepEqual(got, r) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, r)
	}
}

func TestParseToleratesMissingHeaders(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	kr := &kgo.Record{Key: []byte("k"), Value: []byte("v"), Timestamp: ts, Offset: 7,
		Headers: []kgo.RecordHeader{{Key: "error.code", Value: []byte("INVALID_DATA")}, {Key: "x-other", Value: []byte("?")}}}
	got, err := Parse(kr)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{Key: []byte("k"), Value: []byte("v"), Code: "INVALID_DATA", FailedAt: ts, DLQOffset: 7,
		Extra: []kgo.RecordHeader{{Key: "x-other", Value: []byte("?")}}} // other headers are kept, in order
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestParseReportsMalformedHeaders(t *testing.T) {
	kr := &kgo.Record{Headers: []kgo.RecordHeader{
		{Key: "error.code", Value: []byte("INVALID_DATA")},
		{Key: "source.partition", Value: []byte("two")},
		{Key: "source.offset", Value: []byte("12")},
		{Key: "failed.at", Value: []byte("yesterday")},
	}}
	got, err := Parse(kr)
	var he *HeaderError
	if !errors.As(err, &he) || he.Header != "source.partition" {
		t.Fatalf("err = %v, want a *HeaderError for source.partition", err)
	}
	if !strings.Contains(err.Error(), "failed.at") {
		t.Errorf("both bad headers should be reported: %v", err)
	}
	if got.Code != "INVALID_DATA" || got.SourceOffset != 12 {
		t.Errorf("other fields not kept: %+v", got)
	}
}

func TestLatestBySource(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	dl := func(topic string, srcOff int64, part int32, off int64, failed time.Time) Record {
		return Record{SourceTopic: topic, SourcePartition: 0, SourceOffset: srcOff, DLQPartition: part, DLQOffset: off, FailedAt: failed}
	}
	first, second := dl("events", 7, 0, 1, at.Add(time.Minute)), dl("events", 7, 0, 5, at) // same partition: offset order wins over clocks
	other := dl("events", 8, 0, 2, at)
	crossOld, crossNew := dl("events", 9, 1, 9, at), dl("events", 9, 0, 3, at.Add(time.Second)) // partitions: failed.at
	noSource1, noSource2 := dl("", 0, 0, 6, at), dl("", 0, 0, 7, at)
	var l LatestBySource
	for _, r := range []Record{second, first, other, crossNew, crossOld, noSource1, noSource2} {
		l.Add(r)
	}
	for _, tt := range []struct {
		r    Record
		want bool
	}{{first, true}, {second, false}, {other, false}, {crossOld, true}, {crossNew, false}, {noSource1, false}, {noSource2, false}} {
		if got := l.Superseded(tt.r); got != tt.want {
			t.Errorf("Superseded(%+v) = %v, want %v", tt.r, got, tt.want)
		}
	}
	if l.Len() != 5 {
		t.Errorf("Len() = %d, want 5 (three source records, two without a source)", l.Len())
	}
}
