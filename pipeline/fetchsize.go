package pipeline

import (
	"maps"
	"sync"
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
// every poll the poll loop takes the highest ratio of memory to compressed
// bytes among the batches read since the last (their decompressed bytes plus
// a kgo.Record each: kgo.HookFetchBatchRead; the highest of each
// partition's latest, as topics and producers may compress differently and
// a fetch may hold any of them) and
// asks for fetches of fetchMemoryPerFetch × FetchMaxBytes divided by it,
// never more than FetchMaxBytes nor less than 1/fetchShrinkMax of it
// (kgo.Client.UpdateFetchMaxBytes, the partitions' share as
// Options.FetchOptions sets it). Data that holds at most fetchMemoryPerFetch
// times its compressed size (uncompressed data, and the snappy-compressed
// events of BenchmarkPeakRSS) is fetched at FetchMaxBytes. The first fetches
// ask for the least (start), so a backlog of such data is not fetched at
// FetchMaxBytes before its ratio is known.
type fetchSizer struct {
	// configured is FetchMaxBytes; 0 leaves fetching as franz-go sizes it.
	configured int32
	// asked is the fetch size in effect, and lasting each partition's
	// latest ratio, from which it was computed (poll loop only).
	asked   int32
	lasting map[fetchedPartition]int64
	// mu guards read: the highest ratio of memory held to bytes fetched
	// among each partition's batches read since the last resize, in
	// 1/ratioUnit.
	mu   sync.Mutex
	read map[fetchedPartition]int64
}

// fetchedPartition names a partition whose batches fetchSizer measured.
type fetchedPartition struct {
	topic     string
	partition int32
}

// ratioUnit is the fixed point of fetchSizer's ratios.
const ratioUnit = 1 << 10

const (
	// fetchMemoryPerFetch is how many times FetchMaxBytes a fetch's records
	// may hold in memory, read (6 MiB with the 512 KiB default): snappy on typical
	// events holds 10-12 times its bytes (kept whole: fetches smaller than
	// 512 KiB cost the Kafka-bound path some 10%), lz4 13-15 and zstd 30.
	fetchMemoryPerFetch = 12
	// fetchShrinkMax is how many times smaller than FetchMaxBytes a fetch
	// gets at most (8 KiB with the default); a broker still returns a
	// partition's first batch whole when it is larger.
	fetchShrinkMax = 64
)

// OnFetchBatchRead implements kgo.HookFetchBatchRead: it counts the batch.
func (s *fetchSizer) OnFetchBatchRead(_ kgo.BrokerMetadata, topic string, partition int32, m kgo.FetchBatchMetrics) {
	if m.CompressedBytes <= 0 {
		return // an encoding error: nothing read
	}
	held := int64(m.UncompressedBytes) + int64(m.NumRecords)*int64(unsafe.Sizeof(kgo.Record{}))
	r := max(held*ratioUnit/int64(m.CompressedBytes), 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.read == nil {
		s.read = map[fetchedPartition]int64{}
	}
	k := fetchedPartition{topic, partition}
	s.read[k] = max(s.read[k], r)
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
	if s.configured <= 0 {
		return 0
	}
	// Each partition's latest ratio lasts, so that polls of other
	// partitions' batches in between do not grow fetches that may hold its
	// batches again; the highest of them sizes the fetches.
	if s.lasting == nil {
		s.lasting = map[fetchedPartition]int64{}
	}
	s.mu.Lock()
	fresh := len(s.read) > 0
	maps.Copy(s.lasting, s.read)
	clear(s.read)
	s.mu.Unlock()
	if !fresh {
		return 0
	}
	var r int64
	for _, tr := range s.lasting {
		r = max(r, tr)
	}
	want := int64(s.configured)
	if r > fetchMemoryPerFetch*ratioUnit {
		want = int64(fetchMemoryPerFetch) * ratioUnit * int64(s.configured) / r
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
