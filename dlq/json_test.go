package dlq

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestNewRecordJSON: text stays text, other bytes become base64, missing
// details and records get their documented defaults, and invalid JSON in a
// header is carried as a string, never breaking the line.
func TestNewRecordJSON(t *testing.T) {
	at := time.Date(2026, 11, 28, 10, 0, 0, 5, time.FixedZone("x", 3600))
	j := NewRecordJSON(Record{Key: []byte{0xff, 0x00}, Value: []byte(`{"a":1}`), Details: []byte(`not json`), FailedAt: at, DLQPartition: 1, DLQOffset: 7})
	if j.Key != nil || j.KeyBase64 != "/wA=" {
		t.Errorf("binary key: %v, %q", j.Key, j.KeyBase64)
	}
	if j.Value == nil || *j.Value != `{"a":1}` || j.ValueBase64 != "" {
		t.Errorf("text value: %v, %q", j.Value, j.ValueBase64)
	}
	if string(j.Details) != `"not json"` || string(j.ZohoRecord) != "null" {
		t.Errorf("details %s, zoho_record %s", j.Details, j.ZohoRecord)
	}
	if j.FailedAt != "2026-11-28T09:00:00.000000005Z" || j.SourceTimestamp != "" {
		t.Errorf("failed_at %q, source_timestamp %q", j.FailedAt, j.SourceTimestamp)
	}
	if _, err := json.Marshal(j); err != nil {
		t.Errorf("the line does not marshal: %v", err)
	}
	if j := NewRecordJSON(Record{}); j.Key != nil || j.KeyBase64 != "" || string(j.Details) != "{}" {
		t.Errorf("empty record: %+v", j)
	}
}

// TestSelection: --from wins over --since for the start, --since filters by
// failed.at, and nothing set reads everything from the beginning.
func TestSelection(t *testing.T) {
	now := time.Now()
	if got := (Selection{From: 5, Since: time.Hour}).Start(now); got != FromOffset(5) {
		t.Errorf("From and Since: start %+v, want offset 5", got)
	}
	if got := (Selection{From: -1, Since: time.Hour}).Start(now); got != FromTime(now.Add(-time.Hour)) {
		t.Errorf("Since: start %+v", got)
	}
	if got := (Selection{From: -1}).Start(now); got != FromStart() {
		t.Errorf("nothing set: start %+v", got)
	}
	f := (Selection{Code: "INVALID_DATA", Field: "Plan", Since: time.Minute, From: -1}).Filter(now)
	if f.Code != "INVALID_DATA" || f.Field != "Plan" || !f.Since.Equal(now.Add(-time.Minute)) {
		t.Errorf("filter %+v", f)
	}
	if !(Selection{}).SinceTime(now).IsZero() {
		t.Error("no Since has a since time")
	}
}

// TestRecordJSONShowsEveryHeader: a replayed dead letter's replay.group and
// replay.count headers, and any other header beyond the contract's, are in
// the -o json line (extra_headers, in the record's order; a binary value as
// base64), so that every header on the record is shown.
func TestRecordJSONShowsEveryHeader(t *testing.T) {
	src := Record{Code: "INVALID_DATA", SourceTopic: "events", Module: "Leads", Value: []byte(`{}`),
		Extra: append(ReplayMark{Group: "zohosink-replay-1", Count: 2}.Headers(), kgo.RecordHeader{Key: "trace", Value: []byte{0xff}})}
	r, err := Parse(src.KafkaRecord("events.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(NewRecordJSON(r))
	if err != nil {
		t.Fatal(err)
	}
	want := `"extra_headers":[{"key":"replay.group","value":"zohosink-replay-1"},{"key":"replay.count","value":"2"},{"key":"trace","value":null,"value_base64":"/w=="}]`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON line %s\nwant it to hold %s", b, want)
	}
	if b, _ := json.Marshal(NewRecordJSON(Record{})); !strings.Contains(string(b), `"extra_headers":[]`) {
		t.Errorf("no extra headers: %s, want extra_headers []", b)
	}
}
