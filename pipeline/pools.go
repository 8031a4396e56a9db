package pipeline

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchPools lets franz-go reuse the memory of fetched records
// (kgo.WithPools): the buffers compressed batches are decompressed into
// (kgo.PoolDecompressBytes) and the slices of kgo.Record values a batch is
// decoded into (kgo.PoolRecords). Without them every batch takes fresh
// memory, which the GC clears and the OS faults in again: at the mix's rate
// of fetched bytes a large share of the consumer's CPU.
//
// Memory comes back only once every record of a batch was recycled
// (kgo.Record.Recycle). The poll loop recycles every record of a poll once
// the poll is processed, so the pools hold about one poll's batches; the
// few records kept past the poll (delivered or dead-lettered) are detached
// copies first (see detach). sync.Pool empties itself over two GC cycles,
// so idle memory is returned.
type fetchPools struct {
	bytes, records sync.Pool
}

// GetDecompressBytes implements kgo.PoolDecompressBytes. A slice too small
// for a batch is grown by franz-go, and the grown one comes back here.
func (p *fetchPools) GetDecompressBytes([]byte, kgo.CompressionCodecType) []byte {
	if b, ok := p.bytes.Get().(*[]byte); ok {
		return *b
	}
	return nil
}

// PutDecompressBytes implements kgo.PoolDecompressBytes.
func (p *fetchPools) PutDecompressBytes(b []byte) { p.bytes.Put(&b) }

// GetRecords implements kgo.PoolRecords: a slice of capacity n or more.
func (p *fetchPools) GetRecords(n int) []kgo.Record {
	if r, ok := p.records.Get().(*[]kgo.Record); ok && cap(*r) >= n {
		return (*r)[:n]
	}
	return make([]kgo.Record, n)
}

// PutRecords implements kgo.PoolRecords.
func (p *fetchPools) PutRecords(r []kgo.Record) { p.records.Put(&r) }

// detach returns a copy of r that shares no memory with the fetch (its key,
// value and header values copied, in one allocation), for a record that
// outlives its poll: the original is recycled when the poll ends.
func detach(r *kgo.Record) *kgo.Record {
	c := *r
	c.Context = nil // the pool's handle: the copy is not recycled
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Value)
	}
	buf := make([]byte, 0, n)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		buf = append(buf, b...)
		return buf[len(buf)-len(b) : len(buf) : len(buf)]
	}
	c.Key, c.Value = take(r.Key), take(r.Value)
	if r.Headers != nil {
		c.Headers = make([]kgo.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			c.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: take(h.Value)}
		}
	}
	return &c
}
