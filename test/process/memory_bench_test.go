package process_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// BenchmarkPeakRSS measures the memory of `consumer run` with the product's
// default settings (procConfig.Defaults) while it works through a backlog
// that Zoho, not Kafka, bounds: a simulator answering after
// peakRSSZohoLatency with at most 4 calls at once (delivery.max_in_flight's
// default), so the consumer fetches far more events than it can deliver in
// peakRSSWindow and the backlog never runs dry. The backlog is produced once
// per sub-benchmark; every iteration is a fresh consumer group reading it
// from the start. Two kinds of backlog:
//
//   - events=mix: page views of about 350 bytes with one identify in 20 (the
//     CRM events), in 6 partitions, at 1M and 3M events: the peaks must not
//     grow with the backlog.
//   - events=crm: CRM events only, 24 partitions × 50,000 identify events of
//     about 600 bytes, each of a user of its own (so the credit saver skips
//     nothing and keeps up to delivery.credit_saver_keys emails): every record
//     fetched is mapped, kept and waits for Zoho. Produced in record batches
//     of up to 4 MiB with snappy (franz-go's default, about 8:1 on these
//     events), lz4 (about 10:1) and zstd (about 30:1):
//     kafka.fetch_max_bytes bounds what a fetch holds compressed. Run for
//     peakRSSCRMWindow: the heap grows for half a minute.
//   - events=crm-20KB: the same with a traits.bio of 20 KB (not mapped to
//     Zoho), 24 × 1,000 events, zstd, against a simulator 10 times slower:
//     the batcher holds such events within bytes, not batch.max_buffered.
//
// Metrics: peak-RSS-MB (VmHWM of the process, from /proc/PID/status, read just
// before it is stopped: the most resident memory it ever had; the largest
// over the iterations), events/s (source records committed per second of the
// window) and zoho-records/s (records the simulator received per second).
// Run it with
//
//	go test -run '^$' -bench PeakRSS -benchtime 1x ./test/process/
//
// on kfake (the events live in the test process, not in the consumer's), or
// with KAFKA_BROKERS set for a real broker.
func BenchmarkPeakRSS(b *testing.B) {
	for _, backlog := range []int{1_000_000, 3_000_000} {
		b.Run(fmt.Sprintf("events=mix/backlog=%d", backlog), func(b *testing.B) {
			benchPeakRSS(b, peakRSSRun{partitions: 6, backlog: backlog, window: peakRSSWindow, latency: peakRSSZohoLatency}, produceMix)
		})
	}
	for _, c := range []struct {
		name  string
		codec kgo.CompressionCodec
	}{{"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}} {
		b.Run(fmt.Sprintf("events=crm/compression=%s/backlog=%d", c.name, 24*50_000), func(b *testing.B) {
			benchPeakRSS(b, peakRSSRun{partitions: 24, backlog: 24 * 50_000, window: peakRSSCRMWindow, latency: peakRSSZohoLatency},
				func(e *env, n int) { produceLeads(e, n, 0, c.codec) })
		})
	}
	b.Run(fmt.Sprintf("events=crm-20KB/compression=zstd/backlog=%d", 24*1_000), func(b *testing.B) {
		benchPeakRSS(b, peakRSSRun{partitions: 24, backlog: 24 * 1_000, window: peakRSSCRMWindow, latency: 10 * peakRSSZohoLatency},
			func(e *env, n int) { produceLeads(e, n, 20_000, kgo.ZstdCompression()) })
	})
}

const (
	// peakRSSZohoLatency is the simulator's latency in BenchmarkPeakRSS: 4
	// calls of 100 records per 200ms, 2,000 records/s, 40,000 events/s of
	// the mix.
	peakRSSZohoLatency = 200 * time.Millisecond
	// peakRSSWindow is how long each consumer runs on the mix, and
	// peakRSSCRMWindow on CRM events only: the heap of a CRM backlog grows
	// for half a minute (the credit saver's keys, the GC's goal following the
	// live heap).
	peakRSSWindow    = 15 * time.Second
	peakRSSCRMWindow = 40 * time.Second
)

// peakRSSRun is one sub-benchmark of BenchmarkPeakRSS: the source topic's
// partitions, the backlog in events, how long the consumer runs, and the
// simulator's latency.
type peakRSSRun struct {
	partitions      int32
	backlog         int
	window, latency time.Duration
}

func benchPeakRSS(b *testing.B, r peakRSSRun, produce func(*env, int)) {
	e := newEnv(b, r.partitions, zohosim.Options{Latency: r.latency, MaxConcurrency: 4})
	backlog, window := r.backlog, r.window
	produce(e, backlog)
	var peak int64
	var events, zohoRecords int64
	var elapsed time.Duration
	b.ResetTimer()
	for i := range b.N {
		e.group = fmt.Sprintf("%s.group-%d", e.topic, i)
		before := e.sim.Stats().RecordsReceived
		p := e.start(fmt.Sprintf("rss-%d", i), procConfig{Defaults: true})
		start := time.Now()
		time.Sleep(window) // the measurement is the window: nothing to wait for
		e.checkAlive()
		hwm, err := vmHWM(p.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		zohoRecords += int64(e.sim.Stats().RecordsReceived - before)
		if code := e.terminate(p, 30*time.Second); code != 0 {
			b.Fatalf("consumer exited with status %d", code)
		}
		for _, o := range e.committed() {
			events += o
		}
		peak = max(peak, hwm)
	}
	if events >= int64(backlog*b.N) {
		b.Fatalf("the consumer committed the whole backlog (%d events) within %v: not Zoho-bound", backlog, window)
	}
	if zohoRecords == 0 {
		b.Fatal("nothing reached Zoho")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(zohoRecords)/elapsed.Seconds(), "zoho-records/s")
}

// vmHWM is the peak resident set size of process pid in bytes (VmHWM).
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// produceMix produces n events to e's topic: one identify per 20 events
// (users round robin over 10,000 emails), the rest page views of about 350
// bytes keyed by anonymous id.
func produceMix(e *env, n int) {
	e.t.Helper()
	const chunk = 20_000
	ids := stream{users: 10_000}
	for from := 0; from < n; from += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			if i%20 == 0 {
				recs = append(recs, ids.take(1)[0])
				continue
			}
			anon := fmt.Sprintf("%08x-810c-4972-9de8-60ea5b%06x", i*2654435761%(1<<32), i%25_000)
			recs = append(recs, &kgo.Record{Key: []byte(anon), Value: fmt.Appendf(nil,
				`{"type":"page","messageId":"ajs-next-%d","anonymousId":"%s","timestamp":"2026-11-28T10:00:00.000Z","properties":{"path":"/products/%d","title":"Anvil %d | Acme Anvils","url":"https://www.example.com/products/%d"},"context":{"ip":"203.0.113.%d","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0.0.0","consent":{"categories":{"marketing":true}}}}`,
				i, anon, i%500, i%500, i%500, i%250)})
		}
		e.produce(recs)
	}
}

// produceLeads produces n identify events of about 600 bytes (plus a
// traits.bio of pad bytes, not mapped to Zoho) to e's topic, each of a user
// of its own, keyed by user id, with the traits and context a browser's
// identify call carries, compressed with codec in batches of up to 4 MiB
// (the larger the batch, the more a fetch of it holds once read).
func produceLeads(e *env, n, pad int, codec kgo.CompressionCodec) {
	e.t.Helper()
	producer := e.producer
	e.producer = kafkatest.Client(e.t, e.brokers, kgo.DefaultProduceTopic(e.topic), kgo.ProducerBatchCompression(codec), kgo.ProducerBatchMaxBytes(4<<20))
	defer func() { e.producer = producer }()
	bio := strings.Repeat("Analytical engines, looms and notes. ", pad/37)
	const chunk = 20_000
	for from := 0; from < n; from += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			user := fmt.Sprintf("usr_%09d", i)
			recs = append(recs, &kgo.Record{Key: []byte(user), Value: fmt.Appendf(nil,
				`{"type":"identify","messageId":"ajs-next-%d","userId":"%s","anonymousId":"%08x-810c-4972-9de8-60ea5b%06x","timestamp":"2026-11-28T10:00:00.000Z","traits":{"email":"lead.%d@example.com","firstName":"Ada %d","lastName":"Lovelace","company":"Analytical Engines %d Ltd","phone":"+44 20 7946 %04d","title":"Head of Engineering","bio":"%s"},"context":{"ip":"203.0.113.%d","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0.0.0","page":{"path":"/signup","url":"https://www.example.com/signup"},"consent":{"categories":{"marketing":true}}}}`,
				i, user, i*2654435761%(1<<32), i%25_000, i, i%1000, i%5000, i%10_000, bio, i%250)})
		}
		e.produce(recs)
	}
}
