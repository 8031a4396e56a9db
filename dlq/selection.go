package dlq

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

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

// CheckCode checks the code of a selection (--code) before the records are
// read, so that a mistyped code is told instead of matching nothing. It
// returns nil when code is "" or, case-insensitively, one of known (the codes
// the pipeline writes: pipeline.DeadLetterCodes) or one the topic holds (a
// code of Record.Codes of one of its records: Zoho may answer with a code it
// does not document). To find out, it reads the topic as Read does, from the
// start until a record has the code, only when code is not one of known.
// Otherwise it returns an *UnknownCodeError listing the known codes and those
// in the topic. Read's errors are returned as they are.
func CheckCode(ctx context.Context, brokers []string, topic, code string, known []string, opts ...kgo.Opt) error {
	if code == "" || containsFold(known, code) {
		return nil
	}
	counts := map[string]int{}
	err := Read(ctx, brokers, topic, FromStart(), Filter{}, func(r Record) error {
		for _, c := range r.Codes() {
			counts[c]++
		}
		if containsFold(r.Codes(), code) {
			return ErrStop
		}
		return nil
	}, opts...)
	if err != nil {
		return err
	}
	if containsFold(slices.Collect(maps.Keys(counts)), code) {
		return nil
	}
	e := &UnknownCodeError{Code: code, Topic: topic, Known: slices.Clone(known)}
	for _, c := range slices.Sorted(maps.Keys(counts)) {
		e.InTopic = append(e.InTopic, fmt.Sprintf("%s (%d)", c, counts[c]))
	}
	return e
}

// UnknownCodeError is a selection's code (--code) that is neither a known
// dead-letter code nor one the dead-letter topic holds (CheckCode).
type UnknownCodeError struct {
	// Code is the code asked for; Topic the dead-letter topic read.
	Code, Topic string
	// Known are the known codes; InTopic the codes of the topic's records
	// with their counts, "INVALID_DATA (3)", sorted by code.
	Known, InTopic []string
}

// Error says that no record has the code, which is not a known code, and
// lists the known codes and those in the topic.
func (e *UnknownCodeError) Error() string {
	in := "none (the topic is empty)"
	if len(e.InTopic) > 0 {
		in = strings.Join(e.InTopic, ", ")
	}
	return fmt.Sprintf("--code %s: no record of %s has this code, and it is not a known Zoho or local error code.\nKnown codes: %s.\nCodes in %s: %s.",
		e.Code, e.Topic, strings.Join(e.Known, ", "), e.Topic, in)
}
