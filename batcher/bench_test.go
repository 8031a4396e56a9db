package batcher

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi"
)

// source stands in for the pipeline's opaque Source (topic, partition, offset).
type source struct {
	topic     string
	partition int32
	offset    int64
}

// BenchmarkAdd measures the cost of Add per item with a no-op SendFunc and the
// default Config (100 records, 4 in flight). One op is one item; the cost of
// batches (allocation, goroutine, release) is amortised into it.
//   - distinct: every key new to its batch (10 000 keys in rotation).
//   - repeated: 50 keys, so most items merge into an entry or park behind an
//     in-flight batch.
func BenchmarkAdd(bm *testing.B) {
	for _, tc := range []struct {
		name  string
		nKeys int
	}{{"distinct", 10000}, {"repeated", 50}} {
		bm.Run(tc.name, func(bm *testing.B) {
			keys := make([]string, tc.nKeys)
			for i := range keys {
				keys[i] = fmt.Sprintf("user%d@example.com", i)
			}
			rec := zohoapi.Record{{Name: "Email", Value: []byte(`"x"`)}, {Name: "Last_Name", Value: []byte(`"Doe"`)}}
			b := New(Config{MaxRecords: 100, Linger: time.Second, MaxInFlight: 4, MaxBuffered: 600}, func(context.Context, *Batch[source]) {})
			defer b.Close()
			ctx := context.Background()
			bm.ReportAllocs()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			bm.ResetTimer()
			for i := 0; bm.Loop(); i++ {
				it := Item[source]{Key: keys[i%len(keys)], Record: rec, Source: source{"events", 3, int64(i)}}
				if err := b.Add(ctx, it); err != nil {
					bm.Fatal(err)
				}
			}
			if err := b.Drain(ctx); err != nil {
				bm.Fatal(err)
			}
			bm.StopTimer()
			runtime.ReadMemStats(&ms)
			bm.ReportMetric(float64(ms.Mallocs-mallocs)/float64(bm.N), "allocs/item")
		})
	}
}
