package pipeline_test

import (
	"context"
	"fmt"
	"slices"
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
			producer := kafkatest.Client(t, h.brokers, kgo.DefaultProduceTopic(h.topic), kgo.ProducerBatchCompression(c.Codec), kgo.ProducerLinger(0))
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
