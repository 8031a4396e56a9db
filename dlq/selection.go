package dlq

import "time"

// Selection is which dead-letter records an operator's command reads: the
// flags --code, --field, --since and --from of `consumer dlq inspect`,
// `stats` and `replay`, as values.
type Selection struct {
	// Code and Field filter as Filter's do ("" matches any).
	Code, Field string
	// Since keeps the records that failed within this duration before now
	// (failed.at); ≤ 0: no time filter.
	Since time.Duration
	// From is the dead-letter topic offset to start at, in every partition;
	// < 0: not set.
	From int64
}

// SinceTime is the earliest failed.at the selection keeps, zero without Since.
func (s Selection) SinceTime(now time.Time) time.Time {
	if s.Since <= 0 {
		return time.Time{}
	}
	return now.Add(-s.Since)
}

// Start is where reading starts: From when set, else the Kafka timestamp
// SinceTime (a dead letter's timestamp is never later than its failed.at, so
// nothing selected is passed over), else the beginning.
func (s Selection) Start(now time.Time) StartPoint {
	switch {
	case s.From >= 0:
		return FromOffset(s.From)
	case s.Since > 0:
		return FromTime(s.SinceTime(now))
	}
	return FromStart()
}

// Filter is the selection's record filter at now.
func (s Selection) Filter(now time.Time) Filter {
	return Filter{Code: s.Code, Field: s.Field, Since: s.SinceTime(now)}
}
