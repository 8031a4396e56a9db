package pipeline

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/delivery"
)

// updateShare gives this process its share of the deployment: the share
// of the source topics' partitions it owns, read after every assignment,
// revocation and loss, splits the daily credit budget
// (Options.DailyCreditBudget) and anchors the concurrency limit
// (delivery.AIMD.SetShare). When the partition count cannot be read, the
// last share stays. cl is the callback's client (p.cl may not be set yet at
// the first assignment).
func (p *Pipeline) updateShare(ctx context.Context, cl *kgo.Client) {
	if p.closing.Load() {
		return // at shutdown no call starts: the share no longer matters
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(ctx, p.o.Topics...)
	// Every member numbers the partitions the same way: by topic, then partition.
	pos := map[string]map[int32]int{}
	total := 0
	if err == nil {
		for _, d := range details.Sorted() {
			if d.Err != nil {
				continue
			}
			pos[d.Topic] = map[int32]int{}
			for _, pd := range d.Partitions.Sorted() {
				pos[d.Topic][pd.Partition] = total
				total++
			}
		}
	}
	if total == 0 {
		p.log.Warn("cannot read the source topics' partition count: this process's share of zoho.daily_credit_budget and of the org's concurrent calls stays as it was", zap.Error(err))
		return
	}
	var owned []int
	for _, l := range p.offsets.Lags() {
		if i, ok := pos[l.Topic][l.Partition]; ok {
			owned = append(owned, i)
		}
	}
	p.sender.SetShare(owned, total)
	p.log.Info("share of the deployment", zap.Int("partitions_owned", len(owned)), zap.Int("partitions", total),
		zap.Int("credits_per_24h", p.credits.Stats().Budget), zap.Int("zoho.daily_credit_budget", p.o.DailyCreditBudget),
		zap.Int("concurrency_limit", p.sender.CallLimit()), zap.Int("delivery.max_in_flight", p.delivery.MaxInFlight))
}

// creditCollector reports the credit limits (delivery.Credits) on /metrics.
type creditCollector struct{ c *delivery.Credits }

var (
	descCreditBudget = prometheus.NewDesc("zohosink_credit_budget",
		"This process's share of zoho.daily_credit_budget, in Zoho API credits per rolling 24 h (the budget times the share of source partitions it owns); 0 without a budget.", nil, nil)
	descCreditBudgetRemaining = prometheus.NewDesc("zohosink_credit_budget_remaining",
		"Credits this process may still spend of zohosink_credit_budget now; upserts wait (credit_budget_spent) when a call needs more.", nil, nil)
	descZohoCreditsRemaining = prometheus.NewDesc("zohosink_zoho_credits_remaining",
		"The org's Zoho API credits left in the rolling 24 h as Zoho last reported them (X-API-CREDITS-REMAINING, sent once half the day's credits are used), less the calls since; -1 while Zoho reports none.", nil, nil)
)

// Describe implements prometheus.Collector.
func (cc creditCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCreditBudget
	ch <- descCreditBudgetRemaining
	ch <- descZohoCreditsRemaining
}

// Collect implements prometheus.Collector.
func (cc creditCollector) Collect(ch chan<- prometheus.Metric) {
	st := cc.c.Stats()
	ch <- prometheus.MustNewConstMetric(descCreditBudget, prometheus.GaugeValue, float64(st.Budget))
	ch <- prometheus.MustNewConstMetric(descCreditBudgetRemaining, prometheus.GaugeValue, float64(st.Remaining))
	ch <- prometheus.MustNewConstMetric(descZohoCreditsRemaining, prometheus.GaugeValue, float64(st.Zoho))
}
