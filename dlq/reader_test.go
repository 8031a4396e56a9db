package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zohosink/zohosink/internal/kafkatest"
)

// seed writes dead-letter records to a fresh one-partition topic, in order,
// each with a Kafka timestamp one minute after the previous one, and returns
// the topic and the first timestamp.
func seed(t *testing.T, brokers []string, rs []Record) (string, time.Time) {
	t.Helper()
	topic := kafkatest.CreateTopic(t, brokers, 1)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var krs []*kgo.Record
	for i, r := range rs {
		kr := r.KafkaRecord(topic)
		kr.Timestamp = base.Add(time.Duration(i) * time.Minute)
		krs = append(krs, kr)
	}
	kafkatest.Produce(t, brokers, topic, krs...)
	return topic, base
}

func mixed() []Record {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(key, code, field string, minute int) Record {
		return Record{Key: []byte(key), Value: []byte("{}"), Code: code, Field: field, Module: "Leads",
			SourceTopic: "events", FailedAt: at.Add(time.Duration(minute) * time.Minute)}
	}
	return []Record{
		mk("k0", "MANDATORY_NOT_FOUND", "Last_Name", 0),
		mk("k1", "INVALID_DATA", "Email", 1),
		mk("k2", "MANDATORY_NOT_FOUND", "Last_Name", 2),
		mk("k3", "MISSING_EMAIL", "", 3),
		mk("k4", "MANDATORY_NOT_FOUND", "Company", 4),
		mk("k5", "DECODE_ERROR", "", 5),
	}
}

func read(t *testing.T, brokers []string, topic string, from StartPoint, f Filter) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	var keys []string
	if err := Read(ctx, brokers, topic, from, f, func(r Record) error {
		keys = append(keys, string(r.Key))
		return nil
	}, kafkatest.ConnOptions(t, brokers)...); err != nil {
		t.Fatalf("Read(%v, %+v): %v", from, f, err)
	}
	return keys
}

func TestReadFiltersAndStartPoints(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic, base := seed(t, brokers, mixed())
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		from StartPoint
		f    Filter
		want []string
	}{
		{"all", FromStart(), Filter{}, []string{"k0", "k1", "k2", "k3", "k4", "k5"}},
		{"code", FromStart(), Filter{Code: "mandatory_not_found"}, []string{"k0", "k2", "k4"}},
		{"field", FromStart(), Filter{Field: "last_name"}, []string{"k0", "k2"}},
		{"code and field", FromStart(), Filter{Code: "MANDATORY_NOT_FOUND", Field: "Company"}, []string{"k4"}},
		{"since failed.at", FromStart(), Filter{Since: at.Add(3 * time.Minute)}, []string{"k3", "k4", "k5"}},
		{"from offset", FromOffset(4), Filter{}, []string{"k4", "k5"}},
		{"from offset past end", FromOffset(100), Filter{}, nil},
		{"from time", FromTime(base.Add(2 * time.Minute)), Filter{}, []string{"k2", "k3", "k4", "k5"}},
		{"from future time", FromTime(time.Now().Add(time.Hour)), Filter{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := read(t, brokers, topic, tc.from, tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReadStopsAtSnapshot: records written while Read runs are not read, so
// Read always ends.
func TestReadStopsAtSnapshot(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic, _ := seed(t, brokers, mixed()[:3])
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	var keys []string
	err := Read(ctx, brokers, topic, FromStart(), Filter{}, func(r Record) error {
		if len(keys) == 0 {
			kafkatest.Produce(t, brokers, topic, Record{Key: []byte("late")}.KafkaRecord(topic))
		}
		keys = append(keys, string(r.Key))
		return nil
	}, kafkatest.ConnOptions(t, brokers)...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{"k0", "k1", "k2"}) {
		t.Errorf("read %v", keys)
	}
}

func TestReadStopAndErrors(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic, _ := seed(t, brokers, mixed())
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()

	n := 0
	if err := Read(ctx, brokers, topic, FromStart(), Filter{}, func(Record) error {
		n++
		if n == 2 {
			return ErrStop
		}
		return nil
	}, kafkatest.ConnOptions(t, brokers)...); err != nil || n != 2 {
		t.Errorf("ErrStop: err = %v after %d records, want nil after 2", err, n)
	}

	boom := errors.New("boom")
	if err := Read(ctx, brokers, topic, FromStart(), Filter{}, func(Record) error { return boom }, kafkatest.ConnOptions(t, brokers)...); !errors.Is(err, boom) {
		t.Errorf("callback error = %v, want boom", err)
	}

	err := Read(ctx, brokers, "dlq-does-not-exist-"+topic, FromStart(), Filter{}, func(Record) error { return nil }, kafkatest.ConnOptions(t, brokers)...)
	var missing *MissingTopicError
	if !errors.Is(err, kerr.UnknownTopicOrPartition) || !errors.As(err, &missing) || !strings.Contains(err.Error(), "kafka.dlq_topic") {
		t.Errorf("missing topic: err = %v, want a *MissingTopicError naming kafka.dlq_topic, unwrapping to UNKNOWN_TOPIC_OR_PARTITION", err)
	}

	empty := kafkatest.CreateTopic(t, brokers, 2)
	if err := Read(ctx, brokers, empty, FromStart(), Filter{}, func(Record) error {
		t.Error("called on an empty topic")
		return nil
	}, kafkatest.ConnOptions(t, brokers)...); err != nil {
		t.Errorf("empty topic: %v", err)
	}
}

func TestCollectStats(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic, _ := seed(t, brokers, mixed())
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	s, err := CollectStats(ctx, brokers, topic, FromStart(), Filter{}, kafkatest.ConnOptions(t, brokers)...)
	if err != nil {
		t.Fatal(err)
	}
	at := func(min int) time.Time { return time.Date(2026, 3, 1, 12, min, 0, 0, time.UTC) }
	if s.All.Count != 6 || !s.All.First.Equal(at(0)) || !s.All.Last.Equal(at(5)) {
		t.Errorf("All = %+v", s.All)
	}
	wantCodes := []Tally{
		{Code: "MANDATORY_NOT_FOUND", Count: 3, First: at(0), Last: at(4)},
		{Code: "DECODE_ERROR", Count: 1, First: at(5), Last: at(5)},
		{Code: "INVALID_DATA", Count: 1, First: at(1), Last: at(1)},
		{Code: "MISSING_EMAIL", Count: 1, First: at(3), Last: at(3)},
	}
	if got := s.ByCode(); !slices.Equal(got, wantCodes) {
		t.Errorf("ByCode =\n%+v\nwant\n%+v", got, wantCodes)
	}
	wantFields := []Tally{
		{Field: "", Count: 2, First: at(3), Last: at(5)},
		{Field: "Last_Name", Count: 2, First: at(0), Last: at(2)},
		{Field: "Company", Count: 1, First: at(4), Last: at(4)},
		{Field: "Email", Count: 1, First: at(1), Last: at(1)},
	}
	if got := s.ByField(); !slices.Equal(got, wantFields) {
		t.Errorf("ByField =\n%+v\nwant\n%+v", got, wantFields)
	}
	if got := s.ByCodeAndField(); len(got) != 5 || got[0] != (Tally{Code: "MANDATORY_NOT_FOUND", Field: "Last_Name", Count: 2, First: at(0), Last: at(2)}) {
		t.Errorf("ByCodeAndField = %+v", got)
	}
}

func TestFilterMatchesInnerErrors(t *testing.T) {
	inner := func(code, field string) string {
		return `{"code":"` + code + `","details":{"api_name":"` + field + `"},"message":"m","status":"error"}`
	}
	mixed := Record{Code: "MULTIPLE_OR_MULTI_ERRORS", Field: "Last_Name,Email",
		Details: json.RawMessage(`{"errors":[` + inner("MANDATORY_NOT_FOUND", "Last_Name") + `,` + inner("INVALID_DATA", "Email") + `]}`)}
	oneCode := Record{Code: "MANDATORY_NOT_FOUND", Field: "Last_Name,Company",
		Details: json.RawMessage(`{"errors":[` + inner("MANDATORY_NOT_FOUND", "Last_Name") + `,` + inner("MANDATORY_NOT_FOUND", "Company") + `]}`)}
	// Written before error.field named every field: the first one only.
	older := Record{Code: "MULTIPLE_OR_MULTI_ERRORS", Field: "Last_Name", Details: oneCode.Details}
	plain := Record{Code: "INVALID_DATA", Field: "Phone", Details: json.RawMessage(`{"api_name":"Phone"}`)}
	for _, tt := range []struct {
		f    Filter
		r    Record
		want bool
	}{
		{Filter{Code: "MANDATORY_NOT_FOUND"}, mixed, true},
		{Filter{Code: "invalid_data"}, mixed, true},
		{Filter{Code: "MULTIPLE_OR_MULTI_ERRORS"}, mixed, true},
		{Filter{Code: "DUPLICATE_DATA"}, mixed, false},
		{Filter{Field: "email"}, mixed, true},
		{Filter{Field: "Company"}, mixed, false},
		{Filter{Code: "MANDATORY_NOT_FOUND", Field: "Company"}, oneCode, true},
		{Filter{Field: "Last_Name,Company"}, oneCode, false},
		{Filter{Code: "MANDATORY_NOT_FOUND", Field: "Company"}, older, true},
		{Filter{Code: "INVALID_DATA", Field: "Phone"}, plain, true},
		{Filter{Code: "MANDATORY_NOT_FOUND"}, plain, false},
	} {
		if got := tt.f.Match(tt.r); got != tt.want {
			t.Errorf("%+v matches %s %s %s: %v, want %v", tt.f, tt.r.Code, tt.r.Field, tt.r.Details, got, tt.want)
		}
	}
	if got := oneCode.Fields(); !slices.Equal(got, []string{"Last_Name", "Company"}) {
		t.Errorf("Fields() = %q", got)
	}
	if got := mixed.Codes(); !slices.Equal(got, []string{"MULTIPLE_OR_MULTI_ERRORS", "MANDATORY_NOT_FOUND", "INVALID_DATA"}) {
		t.Errorf("Codes() = %q", got)
	}
}
