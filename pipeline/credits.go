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

// updateShare gives this process its share of the deployment, after every
// assignment, revocation and loss and every commit interval (shareLoop):
// the share of the source topics' partitions it owns splits the daily
// credit budget (Options.DailyCreditBudget), and its share of the group's
// backlog (the committed lag of every partition, equal shares until it is
// known or when nothing is left) anchors the concurrency limit
// (delivery.FairCalls, AIMD.SetFair), so that the slots of a member whose
// partitions drained go to the members still working. When the partition
// count cannot be read, the last share stays. cl is the callback's client
// (p.cl may not be set yet at the first assignment).
func (p *Pipeline) updateShare(ctx context.Context, cl *kgo.Client) {
	if p.closing.Load() {
		return // at shutdown no call starts: the share no longer matters
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	details, err := kadm.NewClient(cl).ListTopics(ctx, p.o.Topics...)
	var backlog map[string]map[int32]int64
	if l := p.backlog.Load(); l != nil {
		backlog = *l
	}
	lags := p.offsets.Lags()
	mine := map[string]map[int32]bool{}
	for _, l := range lags {
		if mine[l.Topic] == nil {
			mine[l.Topic] = map[int32]bool{}
		}
		mine[l.Topic][l.Partition] = true
	}
	// Every member numbers the partitions the same way: by topic, then partition.
	var weights []int64
	var working []int
	if err == nil {
		details.EachError(func(d kadm.TopicDetail) { delete(details, d.Topic) })
		for _, d := range details.Sorted() {
			for _, pd := range d.Partitions.Sorted() {
				if mine[d.Topic][pd.Partition] {
					working = append(working, len(weights))
				}
				weights = append(weights, backlog[d.Topic][pd.Partition])
			}
		}
	}
	if len(weights) == 0 {
		p.log.Warn("cannot read the source topics' partition count: this process's share of zoho.daily_credit_budget and of the org's concurrent calls stays as it was", zap.Error(err))
		return
	}
	if !p.started.Load() {
		// The group may assign partitions before Run created the Sender:
		// its call limit takes its share at shareLoop's first reading.
		p.credits.SetShare(len(lags), len(weights))
		return
	}
	before := p.sender.CallLimit()
	p.sender.SetShare(weights, working, len(lags), len(weights))
	if after := p.sender.CallLimit(); after != before || backlog == nil {
		p.log.Info("share of the deployment", zap.Int("partitions_owned", len(lags)), zap.Int("partitions", len(weights)),
			zap.Int("credits_per_24h", p.credits.Stats().Budget), zap.Int("zoho.daily_credit_budget", p.o.DailyCreditBudget),
			zap.Int("concurrency_limit", after), zap.Int("delivery.max_in_flight", p.delivery.MaxInFlight))
	}
}

// shareLoop reads the group's committed lag every commit interval and
// updates this process's share of the deployment (updateShare) with it: a
// partition's claim is its lag in records, 0 below one batch
// (batch.max_records). A lag it cannot read leaves the last one.
func (p *Pipeline) shareLoop(ctx context.Context) {
	adm := kadm.NewClient(p.cl)
	every(ctx, p.o.CommitInterval, func() {
		reqCtx, cancel := context.WithTimeout(ctx, p.o.CommitInterval+5*time.Second)
		lags, err := adm.Lag(reqCtx, p.o.Group)
		cancel()
		l, ok := lags[p.o.Group]
		if err != nil || !ok || l.Error() != nil {
			return
		}
		group := groupLags(l.Lag, p.o.StartAtLatest)
		backlog := map[string]map[int32]int64{}
		for topic, parts := range l.Lag {
			backlog[topic] = map[int32]int64{}
			for part, ml := range parts {
				// A paused partition sees no fetch: its log end comes from here.
				if po := p.offsets.Partition(topic, part); po != nil && ml.End.Err == nil {
					po.SetHighWatermark(ml.End.Offset)
				}
				// Less than a batch is no backlog: live traffic's small,
				// shifting lags would move the shares every reading.
				if ml.Err == nil && ml.Lag >= int64(p.o.Batch.MaxRecords) {
					backlog[topic][part] = ml.Lag
				}
			}
		}
		p.backlog.Store(&backlog)
		p.groupLag.Store(&group)
		p.updateShare(ctx, p.cl)
	})
}

// groupLags is the group's committed lag by topic and partition from a
// kadm lag reading, for the commit-lag metric: partitions with a commit,
// and those without one when fetching starts at the log start (kadm counts
// their lag from there); without a commit and kafka.start_offset latest
// the group starts at the log end, which kadm does not know, so those are
// left out.
func groupLags(lag kadm.GroupLag, startAtLatest bool) map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	for topic, parts := range lag {
		out[topic] = map[int32]int64{}
		for part, ml := range parts {
			if ml.Err == nil && ml.Lag >= 0 && (ml.Commit.At >= 0 || !startAtLatest) {
				out[topic][part] = ml.Lag
			}
		}
	}
	return out
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
