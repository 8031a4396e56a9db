package dlq

import (
	"encoding/json"
	"testing"
	"time"
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
