package pipeline

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

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
