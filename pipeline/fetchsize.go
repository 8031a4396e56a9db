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
// of one shape) about 17 MiB, and peak memory follows what is read. The
// sizer keeps the latest ratio of memory to compressed bytes of each
// partition's batches (their decompressed bytes plus a kgo.Record each:
// kgo.HookFetchBatchRead; each partition's, as topics and producers may
// compress differently and a fetch may hold any of them) and asks for
// fetches of fetchMemoryPerFetch × FetchMaxBytes divided by the highest,
// never more than FetchMaxBytes nor less than 1/fetchShrinkMax of it
// (kgo.Client.UpdateFetchMaxBytes, the partitions' share as
// Options.FetchOptions sets it). Data that holds at most fetchMemoryPerFetch
// times its compressed size (uncompressed data, and the snappy-compressed
// events of BenchmarkPeakRSS) is fetched at FetchMaxBytes.
//
// Fetches shrink as a batch is read, before its broker's next fetch goes out
// (the hook runs as franz-go reads the response), and grow after a poll
// (resize), at most fetchGrowMax times at once. The first fetches ask for
// the least (options), so a backlog is not fetched at FetchMaxBytes before
// its ratio is known. What this cannot bound is a partition's first fetch
// after others' data grew fetches: its ratio is unknown until it is read.
type fetchSizer struct {
	// configured is FetchMaxBytes; 0 leaves fetching as franz-go sizes it.
	configured int32

	// mu guards the rest, as batches are read on franz-go's goroutines.
	mu sync.Mutex
	// cl is the client whose fetches are sized, from attach on.
	cl *kgo.Client
	// asked is the fetch size in effect, computed from high, the highest
	// ratio in lasting then (or of a batch read since), in 1/ratioUnit;
	// reported is the size resize last reported.
	asked, reported int32
	high            int64
	// lasting is each partition's latest ratio as of the last resize; read
	// the highest ratio among each partition's batches read since.
	lasting, read map[fetchedPartition]int64
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
	// fetchGrowMax is how many times larger than the last a fetch size
	// gets at once (from the smallest to FetchMaxBytes in 6 polls): a ratio
	// read from a few small batches (a producer's first, compressing worse
	// than the full ones behind them) would otherwise ask at once for
	// fetches that hold many times the bound.
	fetchGrowMax = 2
)

// options are the kgo options of a client whose fetches s sizes, after every
// other: s as a hook, and first fetches of the smallest size, 1/fetchShrinkMax
// of FetchMaxBytes. They are options, not a call after the client's
// creation, as its first fetches may go out before any such call (a client
// with ConsumeTopics fetches at once: at FetchMaxBytes, some 2 MB of zstd
// records held for one 64 KiB fetch). attach then gives s the client.
func (s *fetchSizer) options() []kgo.Opt {
	opts := []kgo.Opt{kgo.WithHooks(s)}
	if s.configured > 0 {
		s.asked = max(s.configured/fetchShrinkMax, 1)
		s.reported = s.asked
		opts = append(opts, kgo.FetchMaxBytes(s.asked), kgo.FetchMaxPartitionBytes(partitionFetchBytes(s.asked)))
	}
	return opts
}

// attach gives s the client created with its options; it returns the fetch
// size in effect (0: not sized).
func (s *fetchSizer) attach(cl *kgo.Client) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cl = cl
	return s.asked
}

// OnFetchBatchRead implements kgo.HookFetchBatchRead: it counts the batch,
// and shrinks fetches at once when it holds more per byte than they were
// sized for.
func (s *fetchSizer) OnFetchBatchRead(_ kgo.BrokerMetadata, topic string, partition int32, m kgo.FetchBatchMetrics) {
	if s.configured <= 0 || m.CompressedBytes <= 0 {
		return // not sized, or an encoding error: nothing read
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
	if r > s.high {
		s.high = r
		if want := s.sizeFor(r); want < s.asked {
			s.ask(want)
		}
	}
}

// resize sets the fetch size from each partition's latest ratio, the batches
// read since the last resize replacing theirs (none read: no change); it
// reports the size in effect when it changed since the last report, else 0.
func (s *fetchSizer) resize() int32 {
	if s.configured <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Each partition's latest ratio lasts, so that polls of other
	// partitions' batches in between do not grow fetches that may hold its
	// batches again; the highest of them sizes the fetches.
	if len(s.read) > 0 {
		if s.lasting == nil {
			s.lasting = map[fetchedPartition]int64{}
		}
		maps.Copy(s.lasting, s.read)
		clear(s.read)
		s.high = 0
		for _, r := range s.lasting {
			s.high = max(s.high, r)
		}
		s.ask(int32(min(int64(s.sizeFor(s.high)), int64(s.asked)*fetchGrowMax)))
	}
	if s.asked == s.reported {
		return 0
	}
	s.reported = s.asked
	return s.asked
}

// sizeFor is the fetch size for records of ratio r: fetchMemoryPerFetch ×
// FetchMaxBytes / r within [FetchMaxBytes/fetchShrinkMax, FetchMaxBytes].
func (s *fetchSizer) sizeFor(r int64) int32 {
	want := int64(s.configured)
	if r > fetchMemoryPerFetch*ratioUnit {
		want = int64(fetchMemoryPerFetch) * ratioUnit * int64(s.configured) / r
	}
	return int32(max(want, int64(s.configured/fetchShrinkMax), 1))
}

// ask sets the client's fetch size to want, unless it differs from the
// size in effect by at most an eighth (the ratio varies from poll to poll)
// or there is no client yet (mu held).
func (s *fetchSizer) ask(want int32) {
	if d := int64(want) - int64(s.asked); s.cl == nil || (d*8 <= int64(s.asked) && -d*8 <= int64(s.asked)) {
		return
	}
	s.asked = want
	s.cl.UpdateFetchMaxBytes(want, partitionFetchBytes(want))
}
