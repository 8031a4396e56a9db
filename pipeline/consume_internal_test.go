package pipeline

import (
	"bytes"
	"runtime"
	"testing"
	"weak"

	"github.com/klauspost/compress/s2"
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

// TestFetchPoolsBounded: the pools hand freed memory out again and keep no
// more than poolMaxBytes of buffers and poolMaxRecords records, whatever is
// put back; a batch claiming more than poolMaxBytes gets no pooled buffer.
func TestFetchPoolsBounded(t *testing.T) {
	p := &fetchPools{}
	small := make([]byte, 0, 1<<20)
	p.PutDecompressBytes(small)
	block := s2.EncodeSnappy(nil, bytes.Repeat([]byte("a"), 4096))
	if got := p.GetDecompressBytes(block, kgo.CodecSnappy); cap(got) != cap(small) || &got[:1][0] != &small[:1][0] {
		t.Fatalf("a freed buffer that holds the batch is not reused (got cap %d)", cap(got))
	}
	if got := p.GetDecompressBytes(block, kgo.CodecSnappy); cap(got) < 4096 {
		t.Fatalf("a new buffer has cap %d, want the batch's decoded length 4096", cap(got))
	}
	for range 3 * poolMaxBytes / (1 << 20) {
		p.PutDecompressBytes(make([]byte, 0, 1<<20))
	}
	if p.held > poolMaxBytes {
		t.Errorf("pool keeps %d bytes, want at most %d", p.held, poolMaxBytes)
	}
	huge := s2.EncodeSnappy(nil, make([]byte, poolMaxBytes+1))
	if got := p.GetDecompressBytes(huge, kgo.CodecSnappy); got != nil {
		t.Errorf("a batch of %d bytes got a pooled buffer of cap %d, want none", poolMaxBytes+1, cap(got))
	}
	for range 3 * poolMaxRecords / 1000 {
		p.PutRecords(make([]kgo.Record, 1000))
	}
	if p.recs > poolMaxRecords {
		t.Errorf("pool keeps %d records, want at most %d", p.recs, poolMaxRecords)
	}
	if got := p.GetRecords(500); len(got) != 500 || cap(got) != 1000 {
		t.Errorf("GetRecords(500): len %d cap %d, want a freed slice of 1000 cut to 500", len(got), cap(got))
	}
	if got := p.GetRecords(5000); len(got) != 5000 {
		t.Errorf("GetRecords(5000): len %d", len(got))
	}
}
