package pipeline

import (
	"bytes"
	"runtime"
	"testing"
	"weak"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDetachedRecordKeepsNoFetchAlive: a record the poll loop keeps (for
// Zoho or the dead-letter topic) is detached from the fetched batch it was
// decoded from, so holding it does not keep that batch's memory alive.
func TestDetachedRecordKeepsNoFetchAlive(t *testing.T) {
	fetch := bytes.Repeat([]byte("x"), 1<<20) // a fetched batch
	copy(fetch[100:], "key")
	copy(fetch[200:], `{"type":"identify"}`)
	copy(fetch[300:], "hv")
	r := &kgo.Record{
		Key: fetch[100:103], Value: fetch[200:219], Topic: "events", Partition: 2, Offset: 7,
		Headers: []kgo.RecordHeader{{Key: "h", Value: fetch[300:302]}},
	}
	batch := weak.Make(&fetch[0])
	d := detach(r)
	r, fetch = nil, nil
	runtime.GC()
	runtime.GC()
	if batch.Value() != nil {
		t.Error("the detached record keeps the fetched batch alive")
	}
	if string(d.Key) != "key" || string(d.Value) != `{"type":"identify"}` || d.Topic != "events" || d.Partition != 2 || d.Offset != 7 ||
		len(d.Headers) != 1 || d.Headers[0].Key != "h" || string(d.Headers[0].Value) != "hv" {
		t.Errorf("detached record %+v differs from the original", d)
	}
	runtime.KeepAlive(d)
}
