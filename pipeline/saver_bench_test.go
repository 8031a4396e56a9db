package pipeline_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// BenchmarkCreditSaver: each of 2,000 users sends the same identify 5
// times (page loads), the rounds one after the other in the topic as page
// loads come, through the default configuration with the credit saver on
// and off, into the simulator. It reports the Zoho records per user (the
// goal: about 1 with the saver, 5 without), the credits Zoho charged, and
// the saver's estimate of the credits it saved.
//
//	go test ./pipeline -run '^$' -bench CreditSaver -benchtime 1x
func BenchmarkCreditSaver(b *testing.B) {
	const users, repeats = 2000, 5
	brokers := kafkatest.Brokers(b)
	topic := kafkatest.CreateTopic(b, brokers, benchPartitions)
	dlqTopic := kafkatest.CreateTopic(b, brokers, 1)
	recs := make([]*kgo.Record, 0, users*repeats)
	for range repeats {
		for u := range users {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "user-%d", u), Value: identify(u, "Jane")})
		}
	}
	kafkatest.Produce(b, brokers, topic, recs...)
	adm := kadm.NewClient(kafkatest.Client(b, brokers))
	ends := endOffsetsOf(b, adm, topic)

	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("credit_saver=%v", on), func(b *testing.B) {
			var received, credits, skipped int64
			var saved float64
			for range b.N {
				sim := zohosim.New(zohosim.Options{MaxConcurrency: -1})
				zc, closeZoho := benchZohoClient(b, sim)
				o := benchOptions(b, brokers, topic, dlqTopic, zc, &firstFetch{}, func(c *config.Config) {
					c.Delivery.CreditSaver = on
				})
				p, err := pipeline.New(o)
				if err != nil {
					b.Fatal(err)
				}
				run := runInBackground(p)
				waitFor(b, run, "every offset committed", func() bool { return allCommitted(b, adm, o.Group, topic, ends) })
				if err := run.stop(); err != nil {
					b.Fatalf("Run: %v", err)
				}
				closeZoho()
				st, ss := p.Stats(), sim.Stats()
				sim.Close()
				if st.Skipped+st.Delivered != users*repeats || st.DeadLetteredTotal() != 0 {
					b.Fatalf("skipped %d + delivered %d, dead-lettered %v; want %d done, none dead-lettered", st.Skipped, st.Delivered, st.DeadLettered, users*repeats)
				}
				received += int64(ss.RecordsReceived)
				credits += int64(ss.Credits)
				skipped += st.Skipped
				saved += st.CreditsSaved
			}
			n := float64(b.N)
			b.ReportMetric(float64(received)/n/users, "zoho-records/user")
			b.ReportMetric(float64(credits)/n, "credits-charged")
			b.ReportMetric(float64(skipped)/n, "skipped")
			b.ReportMetric(saved/n, "credits-saved")
		})
	}
}
