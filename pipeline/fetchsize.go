package pipeline

import (
	"sync/atomic"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchSizer keeps what a fetch's records hold in memory near
// fetchMemoryPerFetch × kafka.fetch_max_bytes, whatever their compression.
//
// kafka.fetch_max_bytes bounds a fetch response as the broker sends it,
// compressed, while franz-go decompresses every batch it receives and keeps
// a kgo.Record per record: 512 KiB of snappy-compressed events hold about
// 6 MiB once read, the same events compressed with zstd (some 25:1 on JSON
// of one shape) about 17 MiB, and peak memory follows what is read. After
// every poll the poll loop measures the memory of the batches read since the
// last (their decompressed bytes plus a kgo.Record each, per compressed byte:
// kgo.HookFetchBatchRead) and asks for fetches of fetchMemoryPerFetch ×
// FetchMaxBytes divided by that ratio, never more than FetchMaxBytes nor less
// than 1/fetchShrinkMax of it (kgo.Client.UpdateFetchMaxBytes, the
// partitions' share as Options.FetchOptions sets it). Data that holds at
// most fetchMemoryPerFetch times its compressed size (uncompressed data,
// and the snappy-compressed events of BenchmarkPeakRSS) is fetched at
// FetchMaxBytes. The first fetches ask for the least (start), so a backlog
// of such data is not fetched at FetchMaxBytes before its ratio is known.
type fetchSizer struct {
	// configured is FetchMaxBytes; 0 leaves fetching as franz-go sizes it.
	configured int32
	// asked is the fetch size in effect (poll loop only).
	asked int32
	// compressed and memory sum the batches read since the last resize:
	// their bytes as fetched, and what they hold once read.
	compressed, memory atomic.Int64
}

const (
	// fetchMemoryPerFetch is how many times FetchMaxBytes a fetch's records
	// may hold in memory, read (8 MiB with the 512 KiB default).
	fetchMemoryPerFetch = 16
	// fetchShrinkMax is how many times smaller than FetchMaxBytes a fetch
	// gets at most (8 KiB with the default); a broker still returns a
	// partition's first batch whole when it is larger.
	fetchShrinkMax = 64
)

// OnFetchBatchRead implements kgo.HookFetchBatchRead: it counts the batch.
func (s *fetchSizer) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	s.compressed.Add(int64(m.CompressedBytes))
	s.memory.Add(int64(m.UncompressedBytes) + int64(m.NumRecords)*int64(unsafe.Sizeof(kgo.Record{})))
}

// start sets cl's first fetches to the smallest size, 1/fetchShrinkMax of
// FetchMaxBytes, so that what the records of a backlog hold is known before
// fetches grow to it.
func (s *fetchSizer) start(cl *kgo.Client) {
	if s.configured > 0 {
		s.asked = max(s.configured/fetchShrinkMax, 1)
		cl.UpdateFetchMaxBytes(s.asked, partitionFetchBytes(s.asked))
	}
}

// resize sets cl's fetch size from the batches read since the last resize
// (none: no change); it reports the size asked for when it changed it, else
// 0.
func (s *fetchSizer) resize(cl *kgo.Client) int32 {
	if s.configured <= 0 || s.compressed.Load() == 0 {
		return 0
	}
	c, m := s.compressed.Swap(0), s.memory.Swap(0)
	want := int64(s.configured)
	if c > 0 && m > fetchMemoryPerFetch*c {
		want = int64(fetchMemoryPerFetch) * int64(s.configured) * c / m
	}
	want = max(want, int64(s.configured/fetchShrinkMax), 1)
	// Small changes are not worth a new size: the ratio varies from poll to poll.
	if d := want - int64(s.asked); d*8 > int64(s.asked) || -d*8 > int64(s.asked) {
		s.asked = int32(want)
		cl.UpdateFetchMaxBytes(s.asked, partitionFetchBytes(s.asked))
		return s.asked
	}
	return 0
}
