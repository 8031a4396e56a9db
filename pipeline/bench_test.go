package pipeline_test

// Benchmarks for issue 3, item 11 (Performance). Run them with
//
//	go test -run '^$' -bench . ./pipeline/      (or: make bench)
//
// They run on an in-process kfake cluster, or on the broker in $KAFKA_BROKERS.
//
//   - BenchmarkZohoBound: a backlog of CRM events against a simulator with
//     latency L and concurrency limit C. Reports records/s against the ideal
//     C × 100 / L (goal ≥ 0.95 of it), records per call (goal ≥ 95), 429s
//     (goal 0) and the peak heap above the idle heap, for two backlog sizes
//     (bounded memory: the two peaks are about equal).
//   - BenchmarkConsumeBaseline: a bare franz-go consumer group reading the
//     shared mix topic with the pipeline's fetch options (sizes, wait;
//     pipeline.Options.FetchOptions of the default configuration) and
//     franz-go's defaults otherwise: the most a consumer can read in this
//     process.
//   - BenchmarkPipelineMix: the pipeline on the same topic against a
//     zero-latency Zoho (the simulator, or instantZoho), next to the baseline measured in the same
//     iteration; reports the ratio (goal ≥ 0.5), and the same ratio of the
//     process's CPU time per event, which a machine shared with other work
//     disturbs less than the wall-clock one.
//
// Every rate is measured from the first fetch request a client sends (so
// group joins and client start-up are excluded, alike for both sides) to the
// end of the work: all records polled and committed for the baseline, every offset
// committed for the pipeline, every record delivered for BenchmarkZohoBound.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/wiring"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

const (
	// zohoLatency and zohoConcurrency are L and C of BenchmarkZohoBound: the
	// simulator's per-call latency and concurrency limit, and the pipeline's
	// delivery.max_in_flight.
	zohoLatency     = 50 * time.Millisecond
	zohoConcurrency = 4
	// zohoEmailPool is the number of distinct emails of the CRM backlog. Event
	// i carries email i mod zohoEmailPool: no email repeats within a window
	// far larger than the in-flight window (no merges, no parked items), and
	// the simulator, whose stored leads live in this same heap, holds the same
	// number of leads whatever the backlog.
	zohoEmailPool = 10_000
	// benchPartitions is the partition count of the benchmark topics.
	benchPartitions = 6
	// benchWait bounds every wait of a benchmark iteration.
	benchWait = 3 * time.Minute
)

// BenchmarkZohoBound measures delivery when Zoho is the bottleneck: a backlog
// of CRM events (identify and Lead Generated with marketing consent) against
// a simulator answering after zohoLatency and allowing zohoConcurrency calls
// at once, with delivery.max_in_flight = zohoConcurrency.
//
// Sub-benchmarks: two backlog sizes with franz-go's default fetch sizes
// (kafka.fetch_max_bytes unset), the same with kafka.fetch_max_bytes = 256 KiB,
// and "ideal-zoho": an Upserter that only waits zohoLatency (no HTTP, no
// simulator), which isolates the pipeline's own per-call overhead.
//
// Metrics: records/s (Zoho records acknowledged per second), x-ideal (records/s
// over the ideal C × 100 / L; goal ≥ 0.95), records/call (goal ≥ 95) and
// min-records/call, 429s (goal 0), zoho-ms/call (mean time the simulator took
// per call, from receiving it to answering: L plus its own work) and
// busy-slots (the fraction of the C slots' time spent inside the simulator;
// the rest is the pipeline between two calls), peak-heap-MB (the peak of the
// heap in use, sampled every 10ms, above the heap in use after a GC just before
// the run) and peak-live-MB (the same for the live heap the GC measured). The
// heap in use includes garbage the GC has not collected yet, and the GC lets
// garbage grow in proportion to the whole heap, which here includes the
// in-process broker's copy of the backlog; the live heap does not depend on
// that.
func BenchmarkZohoBound(b *testing.B) {
	for _, fetch := range []int32{0, 256 << 10} {
		name := "fetch_max_bytes=default"
		if fetch > 0 {
			name = fmt.Sprintf("fetch_max_bytes=%dKiB", fetch>>10)
		}
		for _, backlog := range []int{10_000, 40_000} {
			b.Run(fmt.Sprintf("%s/backlog=%d", name, backlog), func(b *testing.B) {
				benchZohoBound(b, backlog, fetch, false)
			})
		}
	}
	b.Run("ideal-zoho/backlog=40000", func(b *testing.B) { benchZohoBound(b, 40_000, 0, true) })
}

func benchZohoBound(b *testing.B, backlog int, fetchMaxBytes int32, idealZoho bool) {
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.CreateTopic(b, brokers, benchPartitions)
	dlqTopic := kafkatest.CreateTopic(b, brokers, 1)
	produceCRMBacklog(b, brokers, topic, backlog)
	adm := kadm.NewClient(kafkatest.Client(b, brokers))
	ends := endOffsetsOf(b, adm, topic)

	var elapsed, zohoTime time.Duration
	var delivered, calls, received, rejected429 int64
	var peakInuse, peakLive uint64
	minPerCall := 100
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		sim := zohosim.New(zohosim.Options{Latency: zohoLatency, MaxConcurrency: zohoConcurrency})
		zc, closeZoho := benchZohoClient(b, sim)
		var up delivery.Upserter = zc
		if idealZoho {
			up = &waitingZoho{}
		}
		start := &firstFetch{}
		o := benchOptions(b, brokers, topic, dlqTopic, up, start, func(c *config.Config) {
			c.Batch.Linger = time.Second
			c.Delivery.MaxInFlight = zohoConcurrency
			c.Kafka.CommitInterval = 100 * time.Millisecond
			if fetchMaxBytes > 0 {
				c.Kafka.FetchMaxBytes = fetchMaxBytes
			}
		})
		p, err := pipeline.New(o)
		if err != nil {
			b.Fatal(err)
		}

		heap := startHeapSampler(10 * time.Millisecond)
		b.StartTimer()
		run := runInBackground(p)
		waitFor(b, run, "every record delivered", func() bool { return p.Stats().Delivered >= int64(backlog) })
		b.StopTimer()
		d := start.since()
		inuse, live := heap.stop()

		waitFor(b, run, "every offset committed", func() bool { return allCommitted(b, adm, o.Group, topic, ends) })
		if err := run.stop(); err != nil {
			b.Fatalf("Run: %v", err)
		}
		closeZoho()
		st := p.Stats()
		sim.Close()
		if st.Delivered != int64(backlog) || st.DeadLetteredTotal() != 0 {
			b.Fatalf("delivered %d, dead-lettered %v; want %d delivered, none dead-lettered", st.Delivered, st.DeadLettered, backlog)
		}
		if idealZoho {
			calls += st.ZohoCalls
			received += st.RecordsSent
		} else {
			ss := sim.Stats()
			calls += int64(ss.UpsertCalls)
			received += int64(ss.RecordsReceived)
			rejected429 += int64(ss.Status[http.StatusTooManyRequests])
			for _, c := range sim.Calls() {
				if c.Status == http.StatusOK || c.Status == http.StatusMultiStatus {
					minPerCall = min(minPerCall, c.Records)
				}
				zohoTime += c.End.Sub(c.Start)
			}
		}
		elapsed += d
		delivered += st.Delivered
		peakInuse, peakLive = max(peakInuse, inuse), max(peakLive, live)
	}
	rps := float64(delivered) / elapsed.Seconds()
	ideal := float64(zohoConcurrency) * 100 / zohoLatency.Seconds()
	b.ReportMetric(rps, "records/s")
	b.ReportMetric(rps/ideal, "x-ideal")
	b.ReportMetric(float64(received)/float64(calls), "records/call")
	b.ReportMetric(float64(peakInuse)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MB")
	if !idealZoho {
		b.ReportMetric(float64(minPerCall), "min-records/call")
		b.ReportMetric(float64(rejected429)/float64(b.N), "429s")
		b.ReportMetric(zohoTime.Seconds()*1000/float64(calls), "zoho-ms/call")
		b.ReportMetric(zohoTime.Seconds()/(elapsed.Seconds()*zohoConcurrency), "busy-slots")
	}
}

// waitingZoho is a Zoho that costs nothing but its latency: every call waits
// zohoLatency and acknowledges every record (as inserted).
type waitingZoho struct{}

// Upsert implements delivery.Upserter.
func (*waitingZoho) Upsert(ctx context.Context, r zohoapi.UpsertRequest) (*zohoapi.UpsertResult, error) {
	t := time.NewTimer(zohoLatency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	res := &zohoapi.UpsertResult{StatusCode: http.StatusOK, Results: make([]zohoapi.RecordResult, len(r.Records)), Credits: zohoapi.Credits(len(r.Records))}
	for i := range res.Results {
		res.Results[i].Action = "insert"
	}
	return res, nil
}

// BenchmarkConsumeBaseline reads the shared mix topic (see sharedMix) with a
// bare franz-go consumer group: poll until every record arrived, then commit.
// Metric: events/s.
func BenchmarkConsumeBaseline(b *testing.B) {
	fx := sharedMix(b)
	var elapsed time.Duration
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		elapsed += consumeBaseline(b, fx)
	}
	b.ReportMetric(float64(fx.records*b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(fx.bytes*int64(b.N))/elapsed.Seconds()/1e6, "MB/s")
}

// BenchmarkPipelineMix runs the pipeline over the shared mix topic (see
// sharedMix) with a fresh group each iteration, against a zero-latency Zoho,
// until every offset is committed: "zoho=simulator", the simulator without a
// concurrency limit, and "zoho=instant", instantZoho (the upserts answered
// without the simulator's own work, which would take CPU from the pipeline
// on the same cores; the Zoho client's encoding, HTTP and answer parsing are
// the same). Each
// iteration first measures the consume baseline on the same topic, so the
// ratio compares runs of the same process under the same conditions.
// Metrics: events/s (the pipeline's), baseline-events/s, x-baseline (the
// ratio; goal ≥ 0.5), records/call, cpu-ns/event and baseline-cpu-ns/event
// (user + system CPU time of this whole process, broker and simulator
// included when they run in it, per event) and x-baseline-cpu (baseline CPU
// per event over the pipeline's).
func BenchmarkPipelineMix(b *testing.B) {
	b.Run("zoho=simulator", func(b *testing.B) { benchPipelineMix(b, false) })
	b.Run("zoho=instant", func(b *testing.B) { benchPipelineMix(b, true) })
}

func benchPipelineMix(b *testing.B, instant bool) {
	fx := sharedMix(b)
	var base, piped, baseCPU, pipedCPU time.Duration
	var calls, received int64
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		cpu0 := processCPU(b)
		base += consumeBaseline(b, fx)
		baseCPU += processCPU(b) - cpu0

		sim := zohosim.New(zohosim.Options{MaxConcurrency: -1})
		api := sim.URL()
		var iz *instantZoho
		if instant {
			iz = newInstantZoho(b, sim)
			api = iz.url
		}
		zc, closeZoho := benchZohoClientAt(b, sim, api)
		start := &firstFetch{}
		// A short linger and commit interval, so that the end of a finite
		// topic (the last partial batch waiting for its linger, the last
		// offsets for the next commit) costs little of the measured time.
		o := benchOptions(b, fx.brokers, fx.topic, fx.dlqTopic, zc, start, func(c *config.Config) {
			c.Batch.Linger = 10 * time.Millisecond
			c.Kafka.CommitInterval = 10 * time.Millisecond
		})
		p, err := pipeline.New(o)
		if err != nil {
			b.Fatal(err)
		}
		cpu0 = processCPU(b)
		b.StartTimer()
		run := runInBackground(p)
		waitFor(b, run, "every offset committed", func() bool { return allCommitted(b, fx.adm, o.Group, fx.topic, fx.ends) })
		b.StopTimer()
		piped += start.since()
		pipedCPU += processCPU(b) - cpu0
		if err := run.stop(); err != nil {
			b.Fatalf("Run: %v", err)
		}
		closeZoho()
		st, ss := p.Stats(), sim.Stats()
		sim.Close()
		if st.Delivered != int64(fx.crm) || st.DroppedTotal() != int64(fx.records-fx.crm) || st.DeadLetteredTotal() != 0 {
			b.Fatalf("delivered %d, dropped %v, dead-lettered %v; want %d delivered, %d dropped, none dead-lettered",
				st.Delivered, st.Dropped, st.DeadLettered, fx.crm, fx.records-fx.crm)
		}
		if instant {
			iz.close()
			ss.UpsertCalls, ss.RecordsReceived = int(iz.calls.Load()), int(iz.records.Load())
		}
		calls += int64(ss.UpsertCalls)
		received += int64(ss.RecordsReceived)
	}
	events := float64(fx.records * b.N)
	b.ReportMetric(events/piped.Seconds(), "events/s")
	b.ReportMetric(events/base.Seconds(), "baseline-events/s")
	b.ReportMetric(base.Seconds()/piped.Seconds(), "x-baseline")
	b.ReportMetric(float64(received)/float64(calls), "records/call")
	b.ReportMetric(float64(pipedCPU.Nanoseconds())/events, "cpu-ns/event")
	b.ReportMetric(float64(baseCPU.Nanoseconds())/events, "baseline-cpu-ns/event")
	b.ReportMetric(baseCPU.Seconds()/pipedCPU.Seconds(), "x-baseline-cpu")
}

// processCPU is the user and system CPU time this process has used so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchOptions are production-like pipeline options: config.Defaults() as
// `consumer run` wires them (wiring.PipelineOptions) but with the credit
// saver off, for one run with a fresh consumer group, changed by tune; start learns when the first fetch
// request is sent.
func benchOptions(tb testing.TB, brokers []string, topic, dlqTopic string, zc delivery.Upserter, start *firstFetch, tune func(*config.Config)) pipeline.Options {
	tb.Helper()
	cfg := config.Defaults()
	cfg.Kafka.Brokers, cfg.Kafka.Topics, cfg.Kafka.DLQTopic = brokers, []string{topic}, dlqTopic
	cfg.Kafka.Group = fmt.Sprintf("%s.bench-pipeline-%d", topic, groupSeq.Add(1))
	cfg.Kafka.SessionTimeout = 10 * time.Second
	// These benchmarks measure what reaches Zoho; their backlogs repeat
	// emails with identical records, which the credit saver would skip
	// (BenchmarkCreditSaver measures that).
	cfg.Delivery.CreditSaver = false
	tune(cfg)
	o, err := wiring.PipelineOptions(cfg, zc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	o.KafkaOptions = append(o.KafkaOptions, kgo.WithHooks(start))
	return o
}

// groupSeq numbers the consumer groups of this process: every run starts fresh.
var groupSeq atomic.Int64

// firstFetch is a franz-go hook that notes when the client sent its first
// fetch request: the start of a measured run.
type firstFetch struct {
	set atomic.Bool
	at  atomic.Int64 // UnixNano
}

// OnBrokerWrite implements kgo.HookBrokerWrite.
func (f *firstFetch) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if kmsg.Key(key) == kmsg.Fetch && err == nil && !f.set.Load() && f.set.CompareAndSwap(false, true) {
		f.at.Store(time.Now().UnixNano())
	}
}

// since is the time from the first fetch request until now.
func (f *firstFetch) since() time.Duration {
	return time.Duration(time.Now().UnixNano() - f.at.Load())
}

// benchZohoClient is a zohoapi client for sim built as cmd/consumer builds it
// (zohoapi.NewClient's transport settings), on its own transport
// so that closing it leaves no idle connection behind.
func benchZohoClient(tb testing.TB, sim *zohosim.Server) (*zohoapi.Client, func()) {
	tb.Helper()
	return benchZohoClientAt(tb, sim, sim.URL())
}

// benchZohoClientAt is benchZohoClient with the API calls sent to apiDomain
// (the access token still comes from sim).
func benchZohoClientAt(tb testing.TB, sim *zohosim.Server, apiDomain string) (*zohoapi.Client, func()) {
	tb.Helper()
	eps, err := zohoapi.ResolveEndpoints("", apiDomain, sim.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64 // as zohoapi.NewClient's own transport
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
		HTTPClient:  hc,
	})
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, HTTPClient: hc, Timeout: 30 * time.Second}), tr.CloseIdleConnections
}

// pipelineRun is a pipeline running in the background.
type pipelineRun struct {
	cancel context.CancelFunc
	done   chan error
}

func runInBackground(p *pipeline.Pipeline) *pipelineRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &pipelineRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	return r
}

// stop shuts the pipeline down (as SIGTERM does) and returns Run's error.
func (r *pipelineRun) stop() error {
	r.cancel()
	return <-r.done
}

// waitFor polls cond every 5ms until it holds; the benchmark fails (after
// stopping the pipeline) when Run returns first or benchWait passes.
func waitFor(b *testing.B, r *pipelineRun, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(benchWait)
	for !cond() {
		select {
		case err := <-r.done:
			b.Fatalf("pipeline stopped before %s: %v", what, err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = r.stop()
			b.Fatalf("%s: not within %v", what, benchWait)
		}
	}
}

// endOffsetsOf returns the log end offset of every partition of topic.
func endOffsetsOf(tb testing.TB, adm *kadm.Client, topic string) map[int32]int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// allCommitted reports whether group has committed the log end of every
// partition of topic.
func allCommitted(tb testing.TB, adm *kadm.Client, group, topic string, ends map[int32]int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) || errors.Is(err, kerr.CoordinatorLoadInProgress) {
		return false
	}
	if err != nil {
		tb.Fatalf("fetching committed offsets: %v", err)
	}
	for p, end := range ends {
		if end == 0 {
			continue
		}
		o, ok := resp.Lookup(topic, p)
		if !ok || o.Err != nil || o.At != end {
			return false
		}
	}
	return true
}

// consumeBaseline reads the whole mix topic with a fresh bare consumer group
// (the pipeline's fetch options, franz-go's defaults otherwise, manual
// commit), commits at the end, and returns the time from the first fetch
// request to the acknowledged commit.
func consumeBaseline(b *testing.B, fx *mixFixture) time.Duration {
	b.Helper()
	start := &firstFetch{}
	po, err := wiring.PipelineOptions(config.Defaults(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(append(po.FetchOptions(),
		kgo.SeedBrokers(fx.brokers...),
		kgo.ConsumerGroup(fmt.Sprintf("%s.bench-baseline-%d", fx.topic, groupSeq.Add(1))),
		kgo.ConsumeTopics(fx.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.WithHooks(start),
	)...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	b.StartTimer()
	n := 0
	for n < fx.records {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatalf("baseline consumed %d of %d records within %v", n, fx.records, benchWait)
		}
		fs.EachError(func(topic string, p int32, err error) {
			b.Fatalf("baseline consuming %s[%d]: %v", topic, p, err)
		})
		n += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		b.Fatalf("baseline commit: %v", err)
	}
	b.StopTimer()
	return start.since()
}

// heapSampler records the peak heap while it runs, above the heap measured
// after a GC when it started.
type heapSampler struct {
	quit, done       chan struct{}
	baseInuse        uint64
	baseLive         uint64
	peakInuse, peakL uint64
}

// Heap metrics (runtime/metrics; reading them does not stop the world). In use:
// objects (live and not yet swept) plus unused space of in-use spans, which is
// MemStats.HeapInuse. Live: the heap the last GC marked.
var heapMetricNames = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes", "/gc/heap/live:bytes"}

func readHeap(s []metrics.Sample) (inuse, live uint64) {
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64()
}

// startHeapSampler runs a GC, takes the base, and samples every interval.
func startHeapSampler(interval time.Duration) *heapSampler {
	samples := make([]metrics.Sample, len(heapMetricNames))
	for i, n := range heapMetricNames {
		samples[i].Name = n
	}
	runtime.GC()
	runtime.GC()
	h := &heapSampler{quit: make(chan struct{}), done: make(chan struct{})}
	h.baseInuse, h.baseLive = readHeap(samples)
	h.peakInuse, h.peakL = h.baseInuse, h.baseLive
	go func() {
		defer close(h.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			inuse, live := readHeap(samples)
			h.peakInuse, h.peakL = max(h.peakInuse, inuse), max(h.peakL, live)
			select {
			case <-h.quit:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// stop ends sampling and returns the peaks above the base (heap in use, live heap).
func (h *heapSampler) stop() (inuse, live uint64) {
	close(h.quit)
	<-h.done
	return h.peakInuse - h.baseInuse, h.peakL - h.baseLive
}

// mixFixture is the topic that BenchmarkConsumeBaseline and
// BenchmarkPipelineMix read: produced once per benchmark process.
type mixFixture struct {
	brokers         []string
	topic, dlqTopic string
	records, crm    int
	bytes           int64
	adm             *kadm.Client
	ends            map[int32]int64
}

const mixRecords = 500_000

var (
	mixOnce sync.Once
	mixFix  *mixFixture
	mixErr  error
)

// sharedMix returns the mix topic, producing it on first use: mixRecords
// events of about 1 KB in benchPartitions partitions (see mixValue for the
// mix). The fixture outlives the benchmark that created it, so it is not
// tied to a testing.B's cleanup: its kfake cluster and clients live until the
// benchmark process exits; on a broker named by $KAFKA_BROKERS its topics stay
// behind (names "zohosink-bench-mix-*").
func sharedMix(b *testing.B) *mixFixture {
	b.Helper()
	mixOnce.Do(func() { mixFix, mixErr = newMixFixture() })
	if mixErr != nil {
		b.Fatalf("mix topic: %v", mixErr)
	}
	return mixFix
}

func newMixFixture() (*mixFixture, error) {
	fx := &mixFixture{records: mixRecords}
	if env := os.Getenv(kafkatest.EnvBrokers); env != "" {
		for _, s := range strings.Split(env, ",") {
			if s = strings.TrimSpace(s); s != "" {
				fx.brokers = append(fx.brokers, s)
			}
		}
	} else {
		c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.DefaultNumPartitions(1), kfake.GroupMinSessionTimeout(time.Second))
		if err != nil {
			return nil, err
		}
		fx.brokers = c.ListenAddrs()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := kafkatest.WaitReady(ctx, fx.brokers); err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(fx.brokers...), kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	fx.adm = kadm.NewClient(cl)
	var rnd [4]byte
	for i := range rnd {
		rnd[i] = byte(rand.N(256))
	}
	fx.topic = fmt.Sprintf("zohosink-bench-mix-%x", rnd)
	fx.dlqTopic = fx.topic + ".dlq"
	for topic, parts := range map[string]int32{fx.topic: benchPartitions, fx.dlqTopic: 1} {
		if _, err := fx.adm.CreateTopic(ctx, parts, 1, nil, topic); err != nil {
			return nil, fmt.Errorf("create %s: %w", topic, err)
		}
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(fx.brokers...), kgo.DefaultProduceTopic(fx.topic), kgo.MetadataMinAge(100*time.Millisecond), kgo.RecordRetries(100))
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	const chunk = 10_000
	for from := 0; from < fx.records; from += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := from; i < min(from+chunk, fx.records); i++ {
			key, value, crm := mixValue(i)
			if crm {
				fx.crm++
			}
			fx.bytes += int64(len(value))
			recs = append(recs, &kgo.Record{Key: key, Value: value})
		}
		if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return nil, fmt.Errorf("produce: %w", err)
		}
	}
	ends, err := fx.adm.ListEndOffsets(ctx, fx.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, err
	}
	fx.ends = map[int32]int64{}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { fx.ends[o.Partition] = o.Offset; total += o.Offset })
	if total != int64(fx.records) {
		return nil, fmt.Errorf("mix topic holds %d records, want %d", total, fx.records)
	}
	return fx, nil
}

// mixValue is event i of the realistic mix, keyed as a tracking pipeline keys
// events (userId, else anonymousId), about 1 KB each. Per 100 events:
//   - 5 CRM events with marketing consent, each with its own email
//     (identify and "Lead Generated" alternately, consent as categories or
//     canonical list): crm is true, the pipeline delivers them;
//   - 2 CRM events ("Signed Up", "Lead Generated") without marketing consent,
//     dropped as no_consent;
//   - 20 other tracks (Product Viewed, Button Clicked, …), dropped as not CRM;
//   - 73 page views, dropped as not CRM.
func mixValue(i int) (key, value []byte, crm bool) {
	visitor := i % 25_000
	anon := fmt.Sprintf("%08x-810c-4972-9de8-60ea5b%06x", visitor*2654435761%(1<<32), visitor)
	ts := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * 3 * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	page := benchPages[i%len(benchPages)]
	switch r := i % 100; {
	case r%20 == 0: // 5%
		n := i / 20
		userID := fmt.Sprintf("user-%d", n)
		consent := `{"categories":{"marketing":true,"analytics":true}}`
		if n%3 == 1 {
			consent = `{"canonical":["necessary","analytics","marketing"]}`
		}
		if n%2 == 0 {
			value = fmt.Appendf(nil, `{"type":"identify","messageId":"ajs-next-%d-%s","anonymousId":"%s","userId":"%s","timestamp":"%s","sentAt":"%s","traits":{"email":"lead.%d@example.com","firstName":"Jane","lastName":"Doe-%d","phone":"+44 7700 9%05d","company":{"name":"Acme %d Ltd","industry":"Manufacturing"},"title":"Head of Operations","plan":"enterprise"},"context":{"ip":"203.0.113.%d","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"en-GB","page":{"path":"%s","referrer":"https://www.google.com/","title":"%s | Acme Anvils","url":"https://www.example.com%s"},"userAgent":"%s","timezone":"Europe/London","consent":%s},"integrations":{"All":true},"writeKey":"wk_9f8e7d6c5b4a"}`,
				i, anon[:8], anon, userID, ts, ts, n, n, n%100_000, n%997, i%250, page.path, page.title, page.path, benchUserAgents[i%len(benchUserAgents)], consent)
		} else {
			value = fmt.Appendf(nil, `{"type":"track","event":"Lead Generated","messageId":"ajs-next-%d-%s","anonymousId":"%s","userId":"%s","timestamp":"%s","sentAt":"%s","properties":{"form_name":"Request a Demo","source":"Website","plan":"enterprise","seats":%d},"context":{"ip":"203.0.113.%d","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"en-GB","page":{"path":"/demo","referrer":"https://www.example.com%s","title":"Request a demo | Acme Anvils","url":"https://www.example.com/demo"},"traits":{"email":"lead.%d@example.com","firstName":"John","lastName":"Roe-%d","phone":"+1 415 555 %04d","company":"Roe %d Inc"},"userAgent":"%s","timezone":"America/Los_Angeles","consent":%s},"integrations":{"All":true},"writeKey":"wk_9f8e7d6c5b4a"}`,
				i, anon[:8], anon, userID, ts, ts, 5+n%200, i%250, page.path, n, n, n%10_000, n%991, benchUserAgents[i%len(benchUserAgents)], consent)
		}
		return []byte(userID), value, true
	case r == 10 || r == 50: // 2%
		name := "Signed Up"
		if r == 50 {
			name = "lead_generated"
		}
		userID := fmt.Sprintf("visitor-%d", visitor)
		value = fmt.Appendf(nil, `{"type":"track","event":"%s","messageId":"ajs-next-%d-%s","anonymousId":"%s","userId":"%s","timestamp":"%s","sentAt":"%s","properties":{"form_name":"Newsletter","source":"Website","plan":"free"},"context":{"ip":"198.51.100.%d","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"de-DE","page":{"path":"%s","referrer":"https://www.bing.com/","title":"%s | Acme Anvils","url":"https://www.example.com%s"},"traits":{"email":"visitor.%d@example.org","firstName":"Erika","lastName":"Mustermann"},"userAgent":"%s","timezone":"Europe/Berlin","consent":{"categories":{"necessary":true,"analytics":true,"marketing":false}}},"integrations":{"All":true},"writeKey":"wk_9f8e7d6c5b4a"}`,
			name, i, anon[:8], anon, userID, ts, ts, i%250, page.path, page.title, page.path, visitor, benchUserAgents[i%len(benchUserAgents)])
		return []byte(userID), value, false
	case r%5 == 3: // 20%
		value = fmt.Appendf(nil, `{"type":"track","event":"%s","messageId":"ajs-next-%d-%s","anonymousId":"%s","userId":null,"timestamp":"%s","sentAt":"%s","properties":{"product_id":"sku-%d","name":"Anvil %d","category":"Anvils","price":%d.99,"currency":"GBP","position":%d,"list_id":"search-results"},"context":{"ip":"192.0.2.%d","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"en-GB","page":{"path":"%s","referrer":"https://www.google.com/","search":"?q=anvil","title":"%s | Acme Anvils","url":"https://www.example.com%s?q=anvil"},"campaign":{"name":"spring-sale","source":"google","medium":"cpc"},"userAgent":"%s","timezone":"Europe/London","consent":{"categories":{"marketing":true,"analytics":true}}},"integrations":{"All":true},"writeKey":"wk_9f8e7d6c5b4a"}`,
			benchTracks[i%len(benchTracks)], i, anon[:8], anon, ts, ts, i%5000, i%5000, 20+i%400, i%24, i%250, page.path, page.title, page.path, benchUserAgents[i%len(benchUserAgents)])
		return []byte(anon), value, false
	default: // 73%
		value = fmt.Appendf(nil, `{"type":"page","messageId":"ajs-next-%d-%s","anonymousId":"%s","userId":null,"timestamp":"%s","sentAt":"%s","name":"%s","properties":{"name":"%s","path":"%s","referrer":"https://www.google.com/","search":"?utm_source=google&utm_medium=cpc","title":"%s | Acme Anvils","url":"https://www.example.com%s?utm_source=google&utm_medium=cpc"},"context":{"ip":"203.0.113.%d","library":{"name":"analytics.js","version":"next-1.64.0"},"locale":"en-GB","page":{"path":"%s","title":"%s | Acme Anvils","url":"https://www.example.com%s"},"campaign":{"name":"brand","source":"google","medium":"cpc"},"userAgent":"%s","screen":{"width":1512,"height":982,"density":2},"timezone":"Europe/London","consent":{"categories":{"marketing":true,"analytics":true}}},"integrations":{"All":true},"writeKey":"wk_9f8e7d6c5b4a"}`,
			i, anon[:8], anon, ts, ts, page.title, page.title, page.path, page.title, page.path, i%250, page.path, page.title, page.path, benchUserAgents[i%len(benchUserAgents)])
		return []byte(anon), value, false
	}
}

// produceCRMBacklog produces n CRM events (with marketing consent) keyed by
// user, event i carrying email i mod zohoEmailPool.
func produceCRMBacklog(tb testing.TB, brokers []string, topic string, n int) {
	tb.Helper()
	const chunk = 10_000
	for from := 0; from < n; from += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			// mixValue's CRM events are those with i%20 == 0, with email i/20.
			key, value, _ := mixValue(20 * (i % zohoEmailPool))
			recs = append(recs, &kgo.Record{Key: key, Value: value})
		}
		kafkatest.Produce(tb, brokers, topic, recs...)
	}
}

var benchPages = []struct{ path, title string }{
	{"/", "Home"}, {"/pricing", "Pricing"}, {"/products/anvils", "Anvils"}, {"/products/hammers", "Hammers"},
	{"/blog/choosing-an-anvil", "Choosing an anvil"}, {"/docs/getting-started", "Getting started"},
	{"/about", "About us"}, {"/careers", "Careers"}, {"/customers/roadrunner-logistics", "Customer story"},
}

var benchTracks = []string{"Product Viewed", "Button Clicked", "Video Played", "Checkout Started", "Product Added", "Products Searched"}

var benchUserAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
}

// TestBenchEvents checks the benchmark inputs: valid JSON of about 1 KB, and
// the mix's proportions.
func TestBenchEvents(t *testing.T) {
	var crm, size int
	for i := range 2000 {
		_, v, isCRM := mixValue(i)
		if !json.Valid(v) {
			t.Fatalf("event %d is not valid JSON: %s", i, v)
		}
		if len(v) < 700 || len(v) > 1300 {
			t.Errorf("event %d is %d bytes, want about 1 KB", i, len(v))
		}
		if isCRM {
			crm++
		}
		size += len(v)
	}
	if crm != 100 {
		t.Errorf("%d CRM events in 2000, want 100 (5%%)", crm)
	}
	t.Logf("mean event size %d bytes", size/2000)
}

// instantZoho is a Zoho that costs (almost) nothing: upserts are answered at
// once, every record acknowledged as inserted with a canned success item,
// without parsing or storing the records; every other request (the Fields
// metadata read at start) goes to the simulator. It stands for the Zoho of
// production, which runs on Zoho's machines: the simulator's own work (its
// record store, duplicate checks, encoding/json answers) would otherwise
// take a share of the benchmark machine's cores from the pipeline measured.
type instantZoho struct {
	url            string
	srv            *http.Server
	calls, records atomic.Int64
}

// instantItem is Zoho's answer item for one inserted record (the success
// item of ../shared/zoho-crm-api.md "Upsert Records", as the simulator
// answers it).
const instantItem = `{"code":"SUCCESS","duplicate_field":null,"action":"insert","details":{"Modified_Time":"2026-12-01T10:00:00+00:00","Modified_By":{"name":"Bench","id":"5725767000000411001"},"Created_Time":"2026-12-01T10:00:00+00:00","id":"5725767000000999001","Created_By":{"name":"Bench","id":"5725767000000411001"}},"message":"record added","status":"success"}`

// newInstantZoho starts an instantZoho on loopback in front of sim.
func newInstantZoho(tb testing.TB, sim *zohosim.Server) *instantZoho {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	z := &instantZoho{url: "http://" + ln.Addr().String()}
	simHandler := sim.Handler()
	z.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/upsert") {
			simHandler.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := int(gjson.GetBytes(body, "data.#").Int())
		z.calls.Add(1)
		z.records.Add(int64(n))
		out := make([]byte, 0, 10+n*(len(instantItem)+1))
		out = append(out, `{"data":[`...)
		for i := range n {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, instantItem...)
		}
		out = append(out, "]}"...)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write(out)
	})}
	go func() { _ = z.srv.Serve(ln) }()
	return z
}

// close stops z's server.
func (z *instantZoho) close() { _ = z.srv.Close() }
