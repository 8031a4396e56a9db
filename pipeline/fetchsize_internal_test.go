package pipeline

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

// TestFetchSizeBoundsWhatAFetchHolds: whatever the compression, what one
// fetch's records of partitions read before hold once read (their keys,
// values and kgo.Records) stays within fetchMemoryPerFetch × FetchMaxBytes
// plus a record batch, and data that holds less needs no smaller fetches.
// Zstd compresses these events of one shape some 30:1, so at FetchMaxBytes a
// fetch of them would hold twice the bound; also when the client reads an
// uncompressed topic beside them (the ratio is the highest of every
// partition's latest, not an average). A partition's first read is not
// bounded: its ratio is unknown until then.
func TestFetchSizeBoundsWhatAFetchHolds(t *testing.T) {
	const fetchMax = 64 << 10
	const batchMax = 64 << 10 // the producer's record batches, uncompressed
	brokers := kafkatest.Brokers(t)
	type fetchCase struct {
		name   string
		codecs []kgo.CompressionCodec // a topic each
		shrink bool
	}
	cases := []fetchCase{{"none+zstd", []kgo.CompressionCodec{kgo.NoCompression(), kgo.ZstdCompression()}, true}}
	for _, c := range Compressions {
		cases = append(cases, fetchCase{c.Name, []kgo.CompressionCodec{c.Codec}, c.Shrink})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const perTopic = 20_000
			var topics []string
			for _, codec := range c.codecs {
				topic := kafkatest.CreateTopic(t, brokers, 4)
				producer := kafkatest.Client(t, brokers, kgo.DefaultProduceTopic(topic),
					kgo.ProducerBatchCompression(codec), kgo.ProducerBatchMaxBytes(batchMax), kgo.ProducerLinger(0))
				if err := producer.ProduceSync(context.Background(), OneShapeLeads(perTopic)...).FirstErr(); err != nil {
					t.Fatal(err)
				}
				topics = append(topics, topic)
			}
			n := perTopic * len(topics)
			s := &fetchSizer{configured: fetchMax}
			cl := kafkatest.Client(t, brokers, slices.Concat(Options{FetchMaxBytes: fetchMax}.FetchOptions(),
				[]kgo.Opt{kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, s.options())...)
			s.attach(cl)
			bound := fetchMemoryPerFetch*fetchMax + 2*batchMax // a batch's records and their kgo.Records
			read, largest := 0, 0
			seen := map[fetchedPartition]bool{}
			for read < n {
				ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
				fetches := cl.PollFetches(ctx)
				cancel()
				if err := fetches.Err0(); err != nil {
					t.Fatal(err)
				}
				for _, f := range fetches {
					held := 0 // by partitions read before
					var first []fetchedPartition
					for _, ft := range f.Topics {
						for _, fp := range ft.Partitions {
							k := fetchedPartition{ft.Topic, fp.Partition}
							for _, r := range fp.Records {
								if seen[k] {
									held += len(r.Key) + len(r.Value) + int(unsafe.Sizeof(*r))
								}
								read++
							}
							if len(fp.Records) > 0 {
								first = append(first, k)
							}
						}
					}
					for _, k := range first {
						seen[k] = true
					}
					largest = max(largest, held)
				}
				s.resize()
			}
			if largest > bound {
				t.Errorf("a fetch's records held %d bytes, more than %d × fetch_max_bytes (%d) plus a batch: %d", largest, fetchMemoryPerFetch, fetchMax, bound)
			}
			size := cl.OptValue(kgo.FetchMaxBytes).(int32) // franz-go's, as the sizer may still shrink it
			if shrunk := size < fetchMax; shrunk != c.shrink {
				t.Errorf("fetches smaller than fetch_max_bytes (%d) at the end: %v (%d bytes), want %v; the largest held %d bytes", fetchMax, shrunk, size, c.shrink, largest)
			}
			t.Logf("largest fetch held %d bytes (bound %d), fetch size %d", largest, bound, size)
		})
	}
}

// Compressions are the codecs of the fetch size tests: uncompressed
// records need no smaller fetches, OneShapeLeads compressed with zstd do.
// For the tests of package pipeline_test too.
var Compressions = []struct {
	Name   string
	Codec  kgo.CompressionCodec
	Shrink bool
}{
	{"none", kgo.NoCompression(), false},
	{"zstd", kgo.ZstdCompression(), true},
}

// OneShapeLeads are n identify events of distinct users whose JSON differs
// only in the user: zstd compresses them some 30:1. For the tests of
// package pipeline_test too.
func OneShapeLeads(n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Key: fmt.Appendf(nil, "usr_%06d", i), Value: fmt.Appendf(nil,
			`{"type":"identify","userId":"usr_%06d","traits":{"email":"lead.%d@example.com","lastName":"Lovelace","company":"Analytical Engines Ltd"},"context":{"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0.0.0","consent":{"categories":{"marketing":true}}}}`, i, i)}
	}
	return recs
}

// TestFetchSizeGrowsStepwiseShrinksAtOnce: a client made with the sizer's
// options fetches at the smallest size from its first fetch; fetches of data
// that holds no more than its size (a ratio of 1) grow twofold a poll up to
// FetchMaxBytes, and a batch that holds 48 times its size shrinks them to a
// quarter (fetchMemoryPerFetch / 48) as it is read, before its broker's next
// fetch goes out.
func TestFetchSizeGrowsStepwiseShrinksAtOnce(t *testing.T) {
	const fetchMax = 512 << 10
	s := &fetchSizer{configured: fetchMax}
	cl, err := kgo.NewClient(slices.Concat(Options{FetchMaxBytes: fetchMax}.FetchOptions(), s.options())...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s.attach(cl)
	if got := cl.OptValue(kgo.FetchMaxBytes).(int32); got != fetchMax/fetchShrinkMax {
		t.Fatalf("first fetches ask for %d bytes, want %d", got, fetchMax/fetchShrinkMax)
	}
	read := func(held int32) {
		s.OnFetchBatchRead(kgo.BrokerMetadata{}, "t", 0, kgo.FetchBatchMetrics{CompressedBytes: 1 << 10, UncompressedBytes: int(held) - int(unsafe.Sizeof(kgo.Record{})), NumRecords: 1})
	}
	var sizes []int32
	for range 8 {
		read(1 << 10)
		if n := s.resize(); n > 0 {
			sizes = append(sizes, n)
		}
	}
	if want := []int32{16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10}; !slices.Equal(sizes, want) {
		t.Errorf("fetch sizes %v, want %v", sizes, want)
	}
	read(48 << 10)
	if got := cl.OptValue(kgo.FetchMaxBytes).(int32); got != fetchMax/4 {
		t.Errorf("as a batch holding 48 times its size is read, the client fetches %d bytes, want %d", got, fetchMax/4)
	}
	if n := s.resize(); n != fetchMax/4 {
		t.Errorf("the poll after reports a fetch size of %d bytes, want %d", n, fetchMax/4)
	}
}
