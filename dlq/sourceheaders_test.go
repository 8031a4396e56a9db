package dlq

import (
	"bytes"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSourceHeadersRoundTrip: a source record's headers survive the dead
// letter byte for byte and in order (binary values, an empty and a nil one,
// repeated keys, names of the contract's own headers and of the prefix),
// the dead letter's contract headers are not overridden by them, and the
// replay marks are left for the replay to set anew.
func TestSourceHeadersRoundTrip(t *testing.T) {
	src := []kgo.RecordHeader{
		{Key: "trace-id", Value: []byte{0xff, 0x00, 0x01}},
		{Key: "error.code", Value: []byte("not ours")},
		{Key: "empty", Value: []byte{}},
		{Key: "nil"},
		{Key: "h", Value: []byte("1")},
		{Key: "h", Value: []byte("2")},
		{Key: HeaderSourcePrefix + "x", Value: []byte("prefixed already")},
	}
	marks := ReplayMark{Group: "zohosink-replay", Count: 1}.Headers()
	d := Record{Key: []byte("k"), Value: []byte(`{}`), Code: "MISSING_EMAIL", Extra: CarryHeaders(append(slices.Clone(src), marks...))}
	back, err := Parse(d.KafkaRecord("events.zoho-dlq"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Code != "MISSING_EMAIL" {
		t.Errorf("error.code %q: a source header overrode the dead letter's", back.Code)
	}
	if m := ReplayMarkOf(back.Extra); m.Group != "zohosink-replay" || m.Count != 1 {
		t.Errorf("replay marks %+v lost", m)
	}
	got := SourceHeaders(back.Extra)
	if len(got) != len(src) {
		t.Fatalf("source headers %v, want %v", got, src)
	}
	for i := range src {
		if got[i].Key != src[i].Key || !bytes.Equal(got[i].Value, src[i].Value) {
			t.Errorf("header %d: %q=%q, want %q=%q", i, got[i].Key, got[i].Value, src[i].Key, src[i].Value)
		}
	}
}
