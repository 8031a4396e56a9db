package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// StartPoint is where Read starts in every partition of the dead-letter topic.
// The zero value is the beginning of the log.
type StartPoint struct {
	offset int64 // ≥ 0: FromOffset
	since  time.Time
	set    bool // offset is meaningful
}

// FromStart starts at the beginning of each partition's log.
func FromStart() StartPoint { return StartPoint{} }

// FromOffset starts at offset o in every partition (clamped to the log's start
// and end), as "dlq inspect --from OFFSET" does; most dead-letter topics have
// one partition.
func FromOffset(o int64) StartPoint { return StartPoint{offset: max(o, 0), set: true} }

// FromTime starts, in each partition, at the first record whose Kafka
// timestamp (the time of the dead-letter write) is at or after t.
func FromTime(t time.Time) StartPoint { return StartPoint{since: t} }

// Offset returns the offset of a FromOffset start point; ok is false for the others.
func (s StartPoint) Offset() (o int64, ok bool) { return s.offset, s.set }

// Time returns the time of a FromTime start point, zero for the others.
func (s StartPoint) Time() time.Time { return s.since }

// String describes the start point: "start", "offset N" or "time RFC3339".
func (s StartPoint) String() string {
	switch {
	case s.set:
		return fmt.Sprintf("offset %d", s.offset)
	case !s.since.IsZero():
		return "time " + s.since.UTC().Format(time.RFC3339)
	}
	return "start"
}

// Filter selects dead-letter records. Empty fields match everything.
type Filter struct {
	// Code matches one of the record's Codes (error.code or the code of an
	// inner error of MULTIPLE_OR_MULTI_ERRORS), case-insensitively.
	Code string
	// Field matches one of the record's Fields (a field named in
	// error.field or by an inner error), case-insensitively.
	Field string
	// Since keeps records that failed at or after this time (failed.at).
	Since time.Time
}

// Match reports whether r passes the filter.
func (f Filter) Match(r Record) bool {
	if f.Code != "" && !containsFold(r.Codes(), f.Code) {
		return false
	}
	if f.Field != "" && !containsFold(r.Fields(), f.Field) {
		return false
	}
	if !f.Since.IsZero() && r.FailedAt.Before(f.Since) {
		return false
	}
	return true
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// ErrStop, returned by Read's callback, ends Read early without an error (for
// "--limit N").
var ErrStop = errors.New("dlq: stop reading")

// Read reads the dead-letter topic from the given start point up to the end
// of each partition as it was when Read began (records written meanwhile are
// not read), and calls fn with every record that matches filter, in offset
// order within a partition. It joins no consumer group and commits nothing.
// opts are added to the clients Read creates (TLS, SASL, …) after
// kgo.SeedBrokers(brokers...).
//
// It returns nil when every partition has been read or fn returned ErrStop;
// fn's other errors are returned as they are. A missing topic, a fetch error,
// a record Parse rejects (with its partition and offset) and ctx ending are
// errors.
func Read(ctx context.Context, brokers []string, topic string, from StartPoint, filter Filter, fn func(Record) error, opts ...kgo.Opt) error {
	starts, ends, err := snapshot(ctx, brokers, topic, from, opts)
	if err != nil {
		return err
	}
	consume := map[int32]kgo.Offset{}
	remaining := map[int32]int64{}
	for p, end := range ends {
		if start := starts[p]; start < end {
			consume[p] = kgo.NewOffset().At(start)
			remaining[p] = end
		}
	}
	if len(remaining) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: consume}),
	}, opts...)...)
	if err != nil {
		return fmt.Errorf("dlq: new client: %w", err)
	}
	defer cl.Close()

	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dlq: reading %s: %w", topic, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("dlq: reading %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		for it := fs.RecordIter(); !it.Done(); {
			kr := it.Next()
			end, ok := remaining[kr.Partition]
			if !ok || kr.Offset >= end {
				continue // past the snapshot
			}
			if kr.Offset+1 >= end {
				delete(remaining, kr.Partition)
			}
			rec, err := Parse(kr)
			if err != nil {
				return fmt.Errorf("dlq: %s[%d] offset %d: %w", topic, kr.Partition, kr.Offset, err)
			}
			if !filter.Match(rec) {
				continue
			}
			if err := fn(rec); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// MissingTopicError is the error of reading a dead-letter topic that does
// not exist (Kafka's UNKNOWN_TOPIC_OR_PARTITION, which it unwraps to).
type MissingTopicError struct {
	// Topic is the dead-letter topic (kafka.dlq_topic).
	Topic string
}

func (e *MissingTopicError) Error() string {
	return fmt.Sprintf("dead-letter topic %s does not exist (kafka.dlq_topic): `consumer run` creates it at start, so no consumer with this configuration has run against this cluster yet, or the key names another topic", e.Topic)
}

// Unwrap returns kerr.UnknownTopicOrPartition.
func (e *MissingTopicError) Unwrap() error { return kerr.UnknownTopicOrPartition }

// snapshot lists, per partition, the offset to start at and the end offset.
func snapshot(ctx context.Context, brokers []string, topic string, from StartPoint, opts []kgo.Opt) (starts, ends map[int32]int64, err error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("dlq: new client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	list := func(what string, f func() (kadm.ListedOffsets, error)) (map[int32]int64, error) {
		lo, err := f()
		if err == nil {
			err = lo.Error()
		}
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, &MissingTopicError{Topic: topic}
		}
		if err != nil {
			return nil, fmt.Errorf("dlq: listing %s offsets of %s: %w", what, topic, err)
		}
		out := map[int32]int64{}
		for p, o := range lo[topic] {
			out[p] = o.Offset
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("dlq: topic %s has no partitions", topic)
		}
		return out, nil
	}
	if ends, err = list("end", func() (kadm.ListedOffsets, error) { return adm.ListEndOffsets(ctx, topic) }); err != nil {
		return nil, nil, err
	}
	if starts, err = list("start", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, topic) }); err != nil {
		return nil, nil, err
	}
	switch {
	case from.set:
		for p := range starts {
			starts[p] = min(max(starts[p], from.offset), ends[p])
		}
	case !from.since.IsZero():
		after, err := list("time", func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, from.since.UnixMilli(), topic)
		})
		if err != nil {
			return nil, nil, err
		}
		for p := range starts {
			if o, ok := after[p]; ok && o >= 0 {
				starts[p] = min(max(starts[p], o), ends[p])
			} else {
				starts[p] = ends[p]
			}
		}
	}
	return starts, ends, nil
}
