package pipeline

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap"
)

// readRetention reads the source topics' retention.ms once, at start, for
// zohosink_topic_retention_seconds and the lag's share of it: a long Zoho
// outage must page someone before retention deletes undelivered events. A
// failure is logged; the share then stays 0.
func (p *Pipeline) readRetention(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	rcs, err := kadm.NewClient(p.cl).DescribeTopicConfigs(ctx, p.o.Topics...)
	if err != nil {
		p.log.Warn("could not read the source topics' retention.ms; lag is not compared with it", zap.Error(err))
		return
	}
	out := make(map[string]time.Duration, len(rcs))
	for _, rc := range rcs {
		if rc.Err != nil {
			p.log.Warn("could not read a source topic's retention.ms", zap.String("topic", rc.Name), zap.Error(rc.Err))
			continue
		}
		if d, ok := retentionOf(rc.Configs); ok {
			out[rc.Name] = d
		}
	}
	p.m.setRetention(out)
}

// retentionOf returns the retention.ms of a topic's configuration (negative:
// unlimited), and false when it is missing or not a number.
func retentionOf(configs []kadm.Config) (time.Duration, bool) {
	for _, c := range configs {
		if c.Key != "retention.ms" || c.Value == nil {
			continue
		}
		ms, err := strconv.ParseInt(*c.Value, 10, 64)
		if err != nil {
			return 0, false
		}
		if ms < 0 {
			return -1, true
		}
		return time.Duration(ms) * time.Millisecond, true
	}
	return 0, false
}
