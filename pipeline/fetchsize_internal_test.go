package pipeline

import (
	"context"
	"fmt"
	"testing"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

// TestFetchSizeBoundsWhatAFetchHolds: whatever the compression, what one
// fetch's records hold once read (their keys, values and kgo.Records) stays
// within fetchMemoryPerFetch × FetchMaxBytes plus a record batch, and data
// that holds less needs no smaller fetches. Zstd compresses these events of
// one shape some 30:1, so at FetchMaxBytes a fetch of them would hold twice
// the bound; also when the client reads an uncompressed topic beside them
// (the ratio is the highest of every partition's latest, not an average).
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
			cl := kafkatest.Client(t, brokers, append(Options{FetchMaxBytes: fetchMax}.FetchOptions(),
				kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.WithHooks(s))...)
			s.start(cl)
			bound := fetchMemoryPerFetch*fetchMax + 2*batchMax // a batch's records and their kgo.Records
			largest, read, shrunk := 0, 0, false
			for read < n {
				ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
				fetches := cl.PollFetches(ctx)
				cancel()
				if err := fetches.Err0(); err != nil {
					t.Fatal(err)
				}
				for _, f := range fetches {
					held := 0
					for _, ft := range f.Topics {
						for _, fp := range ft.Partitions {
							for _, r := range fp.Records {
								held += len(r.Key) + len(r.Value) + int(unsafe.Sizeof(*r))
								read++
							}
						}
					}
					largest = max(largest, held)
				}
				if n := s.resize(cl); n > 0 && n < fetchMax {
					shrunk = true
				}
			}
			if largest > bound {
				t.Errorf("a fetch's records held %d bytes, more than %d × fetch_max_bytes (%d) plus a batch: %d", largest, fetchMemoryPerFetch, fetchMax, bound)
			}
			if shrunk != c.shrink {
				t.Errorf("fetches smaller than fetch_max_bytes (%d): %v, want %v; the largest held %d bytes", fetchMax, shrunk, c.shrink, largest)
			}
			t.Logf("largest fetch held %d bytes (bound %d), fetch size %d", largest, bound, s.asked)
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
