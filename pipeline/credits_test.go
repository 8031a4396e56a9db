package pipeline_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/internal/fakeclock"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

var creditsT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// readyz returns the /readyz status and body of h.
func readyz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

// TestCreditBudgetPausesUntilTheWindowFrees: with zoho.daily_credit_budget 2
// and batches of 10 records (1 credit each), 30 leads take two calls; the
// third is not made: /readyz is 503 credit_budget_spent, nothing is
// dead-lettered and nothing is committed beyond what Zoho acknowledged.
// Once the rolling 24 h frees the first credits, the rest is delivered and
// committed and the pipeline is ready again.
func TestCreditBudgetPausesUntilTheWindowFrees(t *testing.T) {
	clock := fakeclock.New(creditsT0)
	h := newHarness(t, 1, zohosim.Options{Now: clock.Now})
	o := h.options()
	o.Batch.MaxRecords = 10
	o.DailyCreditBudget, o.Clock = 2, clock
	h.produce(leads("credit", 30)...)
	r := h.start(o)
	h.eventually(30*time.Second, "the budget is spent and fetching pauses", func() bool {
		return pausedBy(r.p, delivery.PauseCreditBudget)
	})
	if code, body := readyz(t, r.p.Handler()); code != http.StatusServiceUnavailable || !strings.Contains(body, "credit_budget_spent") {
		t.Fatalf("/readyz %d %q, want 503 naming credit_budget_spent", code, body)
	}
	time.Sleep(200 * time.Millisecond) // several commit intervals: nothing more may be committed or called
	st := h.sim.Stats()
	delivered := len(h.sim.Records("Leads"))
	if st.UpsertCalls != 2 || st.Credits != 2 || delivered == 0 || delivered >= 30 {
		t.Fatalf("%d calls, %d credits, %d leads while the budget is spent; want 2 calls of 2 credits and some leads", st.UpsertCalls, st.Credits, delivered)
	}
	if c := h.committed()[0]; c > int64(delivered) {
		t.Fatalf("committed offset %d beyond the %d records Zoho acknowledged", c, delivered)
	}
	if s := r.p.Stats(); s.DeadLetteredTotal() != 0 {
		t.Fatalf("dead-lettered %v while the budget is spent, want none", s.DeadLettered)
	}
	m := scrapeMetrics(t, r.p.Handler())
	if v, _ := m.value("zohosink_credit_budget", nil); v != 2 {
		t.Errorf("zohosink_credit_budget %v, want 2", v)
	}
	if v, ok := m.value("zohosink_credit_budget_remaining", nil); !ok || v != 0 {
		t.Errorf("zohosink_credit_budget_remaining %v (%v), want 0", v, ok)
	}
	clock.Advance(delivery.CreditWindow)
	h.eventually(30*time.Second, "the first credits left the window and a third call was made", func() bool {
		return h.sim.Stats().UpsertCalls >= 3
	})
	// Each further window frees two more calls' credits (however the
	// records were batched).
	for i := 0; h.committed()[0] < 30; i++ {
		if i == 15 {
			t.Fatalf("committed %d of 30 after 15 more windows", h.committed()[0])
		}
		clock.Advance(delivery.CreditWindow)
		time.Sleep(200 * time.Millisecond)
	}
	h.eventually(10*time.Second, "ready again", func() bool { return r.p.Ready() == nil })
	r.shutdown()
	if s := r.p.Stats(); s.Delivered != 30 || s.DeadLetteredTotal() != 0 || len(h.sim.Records("Leads")) != 30 {
		t.Fatalf("delivered %d, dead-lettered %v, leads %d; want 30, none, 30", s.Delivered, s.DeadLettered, len(h.sim.Records("Leads")))
	}
}

// TestCreditBudgetServesSealOrder: with zoho.daily_credit_budget 5, a
// first lead spends 1 credit; then 105 leads arrive in one fetch: the
// batch of the first 100 (10 credits) waits for the window, and the batch
// of the last 5 (1 credit, which is left) waits behind it instead of
// spending the credit on records that could not be committed. Once the
// window frees the first credit, the 100 are sent and committed while the
// 5 wait for the next window.
func TestCreditBudgetServesSealOrder(t *testing.T) {
	clock := fakeclock.New(creditsT0)
	// The access token outlives the windows the clock skips.
	h := newHarness(t, 1, zohosim.Options{Now: clock.Now, TokenLifetime: 10 * delivery.CreditWindow})
	o := h.options()
	o.Batch.Linger = time.Second // the first 100 fill one batch, however slowly they are handed on
	o.DailyCreditBudget, o.Clock = 5, clock
	vals := leads("order", 106)
	h.produce(vals[0])
	r := h.start(o)
	h.eventually(30*time.Second, "the first lead is committed", func() bool { return h.committed()[0] == 1 })
	// One record batch, so that one fetch holds all 105 before fetching pauses.
	cl := kafkatest.Client(t, h.brokers, kgo.DefaultProduceTopic(h.topic), kgo.ManualFlushing())
	for _, v := range vals[1:] {
		cl.Produce(context.Background(), &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	leadsIn := func() int { return len(h.sim.Records("Leads")) }
	inFlight := func() float64 {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_batches_in_flight", nil)
		return v
	}
	h.eventually(30*time.Second, "both batches are handed to delivery (or the second is sent)", func() bool {
		return inFlight() == 2 || leadsIn() > 1
	})
	time.Sleep(200 * time.Millisecond) // several commit intervals: nothing more may be sent or committed
	if n, c := leadsIn(), h.committed()[0]; n != 1 || c != 1 || !pausedBy(r.p, delivery.PauseCreditBudget) {
		t.Fatalf("%d leads in Zoho, committed %d, paused %v; want the 5 later leads not sent while the 100 before them wait (1 lead, 1 committed, credit_budget_spent)",
			n, c, pausedBy(r.p, delivery.PauseCreditBudget))
	}
	clock.Advance(delivery.CreditWindow)
	h.eventually(30*time.Second, "the first 100 are sent and committed", func() bool { return h.committed()[0] == 101 })
	time.Sleep(200 * time.Millisecond)
	if n, c := leadsIn(), h.committed()[0]; n != 101 || c != 101 {
		t.Fatalf("%d leads in Zoho, committed %d; want 101 and 101, the 5 later leads waiting for the next window", n, c)
	}
	clock.Advance(delivery.CreditWindow)
	h.eventually(30*time.Second, "the last 5 are committed", func() bool { return h.committed()[0] == 106 })
	if s := r.p.Stats(); s.DeadLetteredTotal() != 0 || s.CreditsUsed != 12 {
		t.Fatalf("dead-lettered %v, %d credits used; want none and 12 (1, 10, 1)", s.DeadLettered, s.CreditsUsed)
	}
}

// TestCreditBudgetSplitByPartitions: two members of one group own 2 of the
// 4 partitions each, so each gets half of a 20-credit budget; with a
// backlog needing more, each spends exactly its 10 credits and pauses.
func TestCreditBudgetSplitByPartitions(t *testing.T) {
	clock := fakeclock.New(creditsT0)
	h := newHarness(t, 4, zohosim.Options{Now: clock.Now})
	o := h.options()
	o.Batch.MaxRecords = 10
	o.DailyCreditBudget, o.Clock = 20, clock
	a, b := h.start(o), h.start(o)
	share := func(r *running) float64 {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_credit_budget", nil)
		return v
	}
	h.eventually(60*time.Second, "each member owns half of the partitions", func() bool {
		return share(a) == 10 && share(b) == 10
	})
	h.produce(leads("split", 400)...)
	h.eventually(60*time.Second, "both members spent their share and pause", func() bool {
		return pausedBy(a.p, delivery.PauseCreditBudget) && pausedBy(b.p, delivery.PauseCreditBudget)
	})
	time.Sleep(200 * time.Millisecond)
	if ca, cb := a.p.Stats().CreditsUsed, b.p.Stats().CreditsUsed; ca != 10 || cb != 10 || h.sim.Stats().Credits != 20 {
		t.Fatalf("credits spent %d and %d (Zoho charged %d), want 10 each of a 20-credit budget", ca, cb, h.sim.Stats().Credits)
	}
}

// TestZohoCreditsExhaustedPauses: the simulator's daily limit (2 credits)
// is spent; Zoho reports 0 credits left, so the pipeline pauses with
// credit_budget_spent (not an outage: nothing dead-lettered, no breaker);
// when SetDailyCredits raises the limit, the next probe delivers the rest.
func TestZohoCreditsExhaustedPauses(t *testing.T) {
	clock := fakeclock.New(creditsT0)
	h := newHarness(t, 1, zohosim.Options{Now: clock.Now, DailyCredits: 2})
	o := h.options()
	o.Batch.MaxRecords, o.Clock = 10, clock
	h.produce(leads("zoho", 30)...)
	r := h.start(o)
	h.eventually(30*time.Second, "Zoho's credits are spent and fetching pauses", func() bool {
		return pausedBy(r.p, delivery.PauseCreditBudget)
	})
	if v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_zoho_credits_remaining", nil); v != 0 {
		t.Errorf("zohosink_zoho_credits_remaining %v, want 0", v)
	}
	h.sim.SetDailyCredits(100)
	for i := 0; h.committed()[0] < 30; i++ {
		if i == 20 {
			t.Fatal("not everything delivered after the limit was raised and 20 probe intervals")
		}
		clock.Advance(time.Minute)
		time.Sleep(100 * time.Millisecond)
	}
	h.eventually(10*time.Second, "ready again", func() bool { return r.p.Ready() == nil })
	r.shutdown()
	if s := r.p.Stats(); s.Delivered != 30 || s.DeadLetteredTotal() != 0 {
		t.Fatalf("delivered %d, dead-lettered %v; want 30 and none", s.Delivered, s.DeadLettered)
	}
}

// TestConcurrencyLimitSplitByPartitions: without a credit budget, three
// members of one group owning 2 of 6 partitions each start their limit of
// calls at once at their share of delivery.max_in_flight 10 before any
// call, instead of all starting at 2: together exactly 10, each at least 2
// (one or two calls per partition, delivery.FairCalls; which partitions a
// member owns decides its share: 3, 3 and 4 for contiguous ones on kfake,
// 2, 4 and 4 for the sticky assignor's 0+3, 1+2, 4+5 on Apache Kafka).
func TestConcurrencyLimitSplitByPartitions(t *testing.T) {
	h := newHarness(t, 6, zohosim.Options{})
	o := h.options()
	o.Batch.MaxInFlight = 10
	rs := []*running{h.start(o), h.start(o), h.start(o)}
	limit := func(r *running) float64 {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_delivery_concurrency_limit", nil)
		return v
	}
	h.eventually(60*time.Second, "the members' limits add up to 10, each at least 2", func() bool {
		sum := 0.0
		for _, r := range rs {
			l := limit(r)
			if l < 2 {
				return false
			}
			sum += l
		}
		return sum == 10
	})
}

// TestConcurrencyLimitFollowsTheBacklog: two members of 4 partitions, the
// whole backlog on one partition: the member that owns it gets every one
// of the 10 calls of delivery.max_in_flight, the member with nothing to do
// keeps 1 (a share by partitions alone would give each 5, leaving half
// the org's slots idle).
func TestConcurrencyLimitFollowsTheBacklog(t *testing.T) {
	h := newHarness(t, 4, zohosim.Options{Latency: 200 * time.Millisecond})
	o := h.options()
	o.Batch.MaxInFlight, o.Batch.MaxRecords = 10, 10
	rs := []*running{h.start(o), h.start(o)}
	limit := func(r *running) float64 {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_delivery_concurrency_limit", nil)
		return v
	}
	h.eventually(60*time.Second, "each member owns 2 partitions", func() bool {
		return limit(rs[0]) == 5 && limit(rs[1]) == 5
	})
	vals := leads("backlog", 5000)
	recs := make([]*kgo.Record, len(vals))
	for i, v := range vals {
		recs[i] = &kgo.Record{Key: []byte("one-partition"), Value: v}
	}
	kafkatest.Produce(t, h.brokers, h.topic, recs...)
	h.eventually(60*time.Second, "the member with the backlog has all 10 calls, the other 1", func() bool {
		got := []float64{limit(rs[0]), limit(rs[1])}
		slices.Sort(got)
		return slices.Equal(got, []float64{1, 10})
	})
}

// TestZohoDailyCreditsNotOverrun: with no local budget and the org's daily
// credits running out mid-backlog (the simulator's daily limit, reported in
// X-API-CREDITS-REMAINING once half is used), concurrent calls do not
// overrun Zoho's last credits: Zoho refuses no call for spent credits,
// nothing is dead-lettered, and the records Zoho holds are committed but
// for a few batches. The limit, 300, is small but, as every real edition's
// (5,000 and more), its half is more than the calls reserved before Zoho
// first reports its count can take (11 batches of 10 credits: max_in_flight
// 10 and the one waiting). What may still go to records not committed: a
// batch that reaches its reservation just after later ones, dispatched at
// the same moment, can lose the org's last credits to them (seal order
// holds among the batches waiting for credits).
func TestZohoDailyCreditsNotOverrun(t *testing.T) {
	h := newHarness(t, 4, zohosim.Options{DailyCredits: 300, Latency: 20 * time.Millisecond})
	o := h.options()
	o.Batch.MaxInFlight, o.Batch.MaxBuffered = 10, 1200
	h.produce(leads("org", 4000)...)
	r := h.start(o)
	leadsIn := func() int { return len(h.sim.Records("Leads")) }
	h.eventually(30*time.Second, "the org's credits are spent and delivery waits", func() bool {
		return pausedBy(r.p, delivery.PauseCreditBudget) && leadsIn() >= 2500
	})
	time.Sleep(300 * time.Millisecond) // calls in flight end, commits catch up
	if n := h.sim.Stats().CreditRejections; n != 0 {
		t.Errorf("Zoho refused %d calls for spent credits: the calls in flight overran the org's last credits", n)
	}
	var committed int64
	for _, c := range h.committed() {
		committed += c
	}
	if n := leadsIn(); int64(n) > committed+500 {
		t.Errorf("Zoho holds %d leads but %d are committed", n, committed)
	}
	if s := r.p.Stats(); s.DeadLetteredTotal() != 0 {
		t.Errorf("dead-lettered %v, want none", s.DeadLettered)
	}
}
