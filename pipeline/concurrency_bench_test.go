package pipeline_test

// Benchmarks for issue 14, item 1 (adaptive concurrency). Run them with
//
//	go test -run '^$' -bench 'SharedOrg|SlotsBusy' -benchtime 1x ./pipeline/
//
// With -v they log Zoho's busy slots and 429s per half second; with
// BENCH_LOG=1 each replica's log (debug: every change of its concurrency
// limit). Both run against one simulator with Zoho's heavy-call limit (C = 10 calls
// at once, zoho-crm-api.md "Limits") and latency L = 100 ms, so the most any
// deployment can deliver is C × 100 / L = 10,000 records/s.

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

const (
	// orgLimit and orgLatency are C and L of the shared-org benchmarks.
	orgLimit   = 10
	orgLatency = 100 * time.Millisecond
)

// BenchmarkSharedOrg: 3 replicas of one deployment (3 members of one
// consumer group, each a pipeline of its own: its own Zoho client, Sender,
// concurrency limit and batcher, as 3 processes would be) with
// delivery.max_in_flight 10 each, against one org allowing 10 calls at once
// (L = 100 ms), on a backlog of 100k CRM events. Metrics: x-limit (backlog
// records per second of Zoho work, from the first call's start to the last
// call's end, over C × 100 / L; goal ≥ 0.9; x-limit-90% the same for the
// first 90% of the backlog, before replicas that drained their partitions
// first leave slots the others have yet to find), 429-share (the share of
// upsert calls the simulator answered 429 for concurrency; goal < 1%),
// busy-slots (call time over wall × C) and records/call. batch.linger is
// 100 ms, not the default 1 s: from a backlog batches fill long before
// either (records/call ≈ 100), and only the last partial batches of the
// finite backlog wait it out, a tail that would be a tenth of a 10 s run
// (with 1 s: x-limit 0.86, x-limit-90% 0.92 on the quiet 2-core VM).
func BenchmarkSharedOrg(b *testing.B) {
	benchOrg(b, 3, 100_000)
}

// BenchmarkSlotsBusy: 1 process with delivery.max_in_flight 10 against the
// same org, on a 300k backlog. Metric: busy-slots, the time Zoho's C slots
// spend on calls (sum of call time over wall × C, from the first call's
// start to the last call's end; goal ≥ 0.98), and x-limit, 429-share as
// above.
func BenchmarkSlotsBusy(b *testing.B) {
	benchOrg(b, 1, 300_000)
}

// benchOrg runs replicas pipelines in one consumer group over a backlog of
// CRM events until every offset is committed, against one simulator with
// orgLimit and orgLatency, b.N times, and reports the metrics of
// BenchmarkSharedOrg.
func benchOrg(b *testing.B, replicas, backlog int) {
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.CreateTopic(b, brokers, benchPartitions)
	dlqTopic := kafkatest.CreateTopic(b, brokers, 1)
	produceCRMBacklog(b, brokers, topic, backlog)
	adm := kadm.NewClient(kafkatest.Client(b, brokers))
	ends := endOffsetsOf(b, adm, topic)

	var wall, wall90, busy time.Duration
	var calls, rejected, received, okCalls int
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		sim := zohosim.New(zohosim.Options{Latency: orgLatency, MaxConcurrency: orgLimit})
		group := fmt.Sprintf("%s.bench-org-%d", topic, groupSeq.Add(1))
		runs := make([]*pipelineRun, replicas)
		closers := make([]func(), replicas)
		for i := range runs {
			zc, closeZoho := benchZohoClient(b, sim)
			closers[i] = closeZoho
			o := benchOptions(b, brokers, topic, dlqTopic, zc, &firstFetch{}, func(c *config.Config) {
				c.Kafka.Group = group
				c.Kafka.ClientID = fmt.Sprintf("replica-%d", i)
				c.Batch.Linger = 100 * time.Millisecond // see BenchmarkSharedOrg
				c.Delivery.MaxInFlight = orgLimit
				c.Kafka.CommitInterval = 100 * time.Millisecond
			})
			if os.Getenv("BENCH_LOG") != "" {
				log, err := zap.NewDevelopment()
				if err != nil {
					b.Fatal(err)
				}
				o.Logger = log.With(zap.Int("replica", i))
			}
			p, err := pipeline.New(o)
			if err != nil {
				b.Fatal(err)
			}
			runs[i] = runInBackground(p)
		}
		b.StartTimer()
		deadline := time.Now().Add(benchWait)
		for !allCommitted(b, adm, group, topic, ends) {
			for _, r := range runs {
				select {
				case err := <-r.done:
					b.Fatalf("a replica stopped before every offset was committed: %v", err)
				default:
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("every offset committed: not within %v", benchWait)
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		for i, r := range runs {
			if err := r.stop(); err != nil {
				b.Fatalf("Run: %v", err)
			}
			closers[i]()
		}
		st := sim.Stats()
		cs := sim.Calls()
		sim.Close()
		if st.RecordErrors != 0 {
			b.Fatalf("Zoho rejected %d records", st.RecordErrors)
		}
		var first, last time.Time
		for _, c := range cs {
			if first.IsZero() || c.Start.Before(first) {
				first = c.Start
			}
			if c.End.After(last) {
				last = c.End
			}
			busy += c.End.Sub(c.Start)
			if c.Status == http.StatusOK {
				okCalls++
				received += c.Records
			}
		}
		wall += last.Sub(first)
		wall90 += timeTo(cs, first, backlog*9/10)
		if testing.Verbose() {
			const bucket = 500 * time.Millisecond
			n := int(last.Sub(first)/bucket) + 1
			busyIn := make([]time.Duration, n)
			r429 := make([]int, n)
			for _, c := range cs {
				if c.Status == http.StatusTooManyRequests {
					r429[int(c.Start.Sub(first)/bucket)]++
				}
				for t := c.Start; t.Before(c.End); {
					k := int(t.Sub(first) / bucket)
					end := first.Add(time.Duration(k+1) * bucket)
					if end.After(c.End) {
						end = c.End
					}
					busyIn[k] += end.Sub(t)
					t = end
				}
			}
			for k := range busyIn {
				b.Logf("t=%4.1fs busy %4.1f slots, %d 429s", (time.Duration(k) * bucket).Seconds(), busyIn[k].Seconds()/bucket.Seconds(), r429[k])
			}
		}
		calls += st.UpsertCalls
		rejected += st.ConcurrencyRejections
	}
	ideal := float64(orgLimit) * 100 / orgLatency.Seconds()
	b.ReportMetric(float64(backlog*b.N)/wall.Seconds()/ideal, "x-limit")
	b.ReportMetric(float64(backlog*9/10*b.N)/wall90.Seconds()/ideal, "x-limit-90%")
	b.ReportMetric(float64(rejected)/float64(calls), "429-share")
	b.ReportMetric(busy.Seconds()/(wall.Seconds()*orgLimit), "busy-slots")
	b.ReportMetric(float64(received)/float64(okCalls), "records/call")
	b.ReportMetric(float64(calls)/float64(b.N), "calls")
}

// timeTo is the time from first until the answered calls of cs had
// acknowledged n records (the drain of the first n records of a backlog).
func timeTo(cs []zohosim.Call, first time.Time, n int) time.Duration {
	ok := make([]zohosim.Call, 0, len(cs))
	for _, c := range cs {
		if c.Status == http.StatusOK {
			ok = append(ok, c)
		}
	}
	slices.SortFunc(ok, func(a, b zohosim.Call) int { return a.End.Compare(b.End) })
	done := 0
	for _, c := range ok {
		if done += c.Records; done >= n {
			return c.End.Sub(first)
		}
	}
	return ok[len(ok)-1].End.Sub(first)
}
