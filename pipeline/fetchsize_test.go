package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestFetchesShrinkForHighlyCompressedEvents: a pipeline reading leads that
// zstd compressed some 30:1 asks for fetches smaller than FetchMaxBytes
// (zohosink_fetch_max_bytes), one reading them uncompressed asks for
// FetchMaxBytes, and both deliver every lead.
func TestFetchesShrinkForHighlyCompressedEvents(t *testing.T) {
	const fetchMax = 64 << 10
	for _, c := range pipeline.Compressions {
		t.Run(c.Name, func(t *testing.T) {
			h := newHarness(t, 2, zohosim.Options{})
			// Record batches of 16 KiB: some 50 a partition, as fetches grow
			// twofold a poll at most, and a broker returns a batch whole.
			producer := kafkatest.Client(t, h.brokers, kgo.DefaultProduceTopic(h.topic), kgo.ProducerBatchCompression(c.Codec),
				kgo.ProducerBatchMaxBytes(16<<10), kgo.ProducerLinger(0))
			const n = 3000
			recs := pipeline.OneShapeLeads(n)
			if err := producer.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			o := h.options()
			o.FetchMaxBytes = fetchMax
			r := h.start(o)
			h.waitCommitted(60 * time.Second)
			for i := range n {
				if _, ok := h.sim.Lead(fmt.Sprintf("lead.%d@example.com", i)); !ok {
					t.Fatalf("lead %d not in Zoho", i)
				}
			}
			full := []string{fmt.Sprintf("zohosink_fetch_max_bytes %d", fetchMax)}
			got := metric(t, r.p, "zohosink_fetch_max_bytes ")
			if shrunk := !slices.Equal(got, full) && len(got) == 1; shrunk != c.Shrink {
				t.Errorf("%v with kafka.fetch_max_bytes %d; want smaller fetches: %v", got, fetchMax, c.Shrink)
			}
		})
	}
}

// TestLargeEventsHeldWithinBytes: events of 20 KB are held past the poll
// within batcher.Config.MaxBufferedBytes (16 × FetchMaxBytes: 1 MiB here,
// some 50 of them), not batch.max_buffered (600) of them, and those that go
// to the dead-letter topic within as much; every one is delivered or
// dead-lettered and committed.
func TestLargeEventsHeldWithinBytes(t *testing.T) {
	const fetchMax = 64 << 10
	const leads, broken = 400, 100
	h := newHarness(t, 4, zohosim.Options{Latency: 50 * time.Millisecond})
	bio := strings.Repeat("Analytical engines, looms and notes. ", 20_000/37)
	var values [][]byte
	for i := range leads + broken {
		v := fmt.Appendf(nil, `{"type":"identify","userId":"u%d","traits":{"email":"big.%d@example.com","lastName":"Lovelace","company":"Acme","bio":%q},"context":{"consent":{"categories":{"marketing":true}}}}`, i, i, bio)
		if i >= leads {
			v = v[:len(v)-1] // not JSON: DECODE_ERROR
		}
		values = append(values, v)
	}
	h.produce(values...)
	o := h.options()
	o.FetchMaxBytes = fetchMax
	r := h.start(o)
	most := 0.0
	h.eventually(60*time.Second, "every event delivered or dead-lettered", func() bool {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_records_buffered", nil)
		most = max(most, v)
		c := h.committed()
		ends := h.endOffsets()
		for p, end := range ends {
			if c[p] != end {
				return false
			}
		}
		return true
	})
	if bound := float64(16*fetchMax) / 20_000; most > bound+1 || most == 0 {
		t.Errorf("the batcher held up to %.0f events of 20 KB; want at most %.0f (16 × fetch_max_bytes) and some", most, bound+1)
	}
	for i := range leads {
		if _, ok := h.sim.Lead(fmt.Sprintf("big.%d@example.com", i)); !ok {
			t.Fatalf("lead %d not in Zoho", i)
		}
	}
	if dead := h.deadLetters(broken); len(dead) != broken {
		t.Errorf("%d dead letters, want %d", len(dead), broken)
	}
}
