package pipeline

import (
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchPools lets franz-go reuse the memory of fetched records
// (kgo.WithPools): the buffers compressed batches are decompressed into
// (kgo.PoolDecompressBytes) and the slices of kgo.Record values a batch is
// decoded into (kgo.PoolRecords). Without them every batch takes fresh
// memory that the GC must find and clear again: on the 95%-noise mix that is
// every fetched byte, most of the consumer's allocations
// (BenchmarkPipelineMix).
//
// Memory comes back only once every record of a batch was recycled
// (kgo.Record.Recycle): the poll loop recycles every record of a poll once
// the poll is processed; the few records kept past the poll (for Zoho or the
// dead-letter topic) are detached copies (see detach). The pools keep at
// most poolMaxBytes of decompression buffers and poolMaxRecords records,
// about one poll's batches at the fetch defaults; the rest is left to the
// GC, so memory stays bounded as without pools (BenchmarkPeakRSS).
type fetchPools struct {
	mu      sync.Mutex
	bytes   [][]byte // free decompression buffers, length 0
	held    int      // the capacity of bytes, summed
	records [][]kgo.Record
	recs    int // the capacity of records, summed
}

// The most the pools keep: bytes of decompression buffers, and records.
const (
	poolMaxBytes   = 8 << 20
	poolMaxRecords = 16 << 10
)

// GetDecompressBytes implements kgo.PoolDecompressBytes: a freed buffer that
// holds the batch (a snappy block states its decoded length; for the other
// codecs any buffer, which franz-go grows), else a new one with a quarter
// more room than the batch, so that the next batches of about its size fit
// it too. A batch claiming more than poolMaxBytes gets none: franz-go then
// sizes (and bounds) its output itself.
func (p *fetchPools) GetDecompressBytes(src []byte, codec kgo.CompressionCodecType) []byte {
	need := 0
	if codec == kgo.CodecSnappy {
		// Only a hint: a xerial-framed batch's header reads as some length
		// too, and a short buffer is grown by the decoder.
		need, _ = s2.DecodedLen(src)
	}
	if need > poolMaxBytes {
		return nil
	}
	p.mu.Lock()
	if b, ok := take(&p.bytes, need); ok {
		p.held -= cap(b)
		p.mu.Unlock()
		return b[:0]
	}
	p.mu.Unlock()
	return make([]byte, 0, need+need/4)
}

// PutDecompressBytes implements kgo.PoolDecompressBytes; franz-go has
// zeroed b.
func (p *fetchPools) PutDecompressBytes(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held += keep(&p.bytes, b[:0], p.held, poolMaxBytes)
}

// GetRecords implements kgo.PoolRecords: a slice of length n.
func (p *fetchPools) GetRecords(n int) []kgo.Record {
	p.mu.Lock()
	if r, ok := take(&p.records, n); ok {
		p.recs -= cap(r)
		p.mu.Unlock()
		return r[:n]
	}
	p.mu.Unlock()
	return make([]kgo.Record, n, n+n/4)
}

// PutRecords implements kgo.PoolRecords; franz-go has zeroed r's records.
func (p *fetchPools) PutRecords(r []kgo.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs += keep(&p.records, r, p.recs, poolMaxRecords)
}

// take removes from *free the smallest slice of capacity n or more, if any.
func take[T any](free *[][]T, n int) ([]T, bool) {
	best := -1
	for i, s := range *free {
		if cap(s) >= n && (best < 0 || cap(s) < cap((*free)[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil, false
	}
	return remove(free, best), true
}

// keep adds s to *free, which holds held elements of capacity, evicting the
// smallest slices while that would exceed limit (s itself when it is the
// smallest); it returns the change in held.
func keep[T any](free *[][]T, s []T, held, limit int) int {
	delta := 0
	for held+delta+cap(s) > limit {
		small := -1
		for i, f := range *free {
			if small < 0 || cap(f) < cap((*free)[small]) {
				small = i
			}
		}
		if small < 0 || cap((*free)[small]) >= cap(s) {
			return delta // s is the smallest: not kept
		}
		delta -= cap(remove(free, small))
	}
	*free = append(*free, s)
	return delta + cap(s)
}

// remove takes (*free)[i] out of *free (order is not kept).
func remove[T any](free *[][]T, i int) []T {
	f := *free
	s := f[i]
	f[i] = f[len(f)-1]
	f[len(f)-1] = nil
	*free = f[:len(f)-1]
	return s
}
