package dlq

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Tally counts dead-letter records of one code, one field, or one code and
// field pair (the other key is "" when not part of the grouping; Field is also
// "" for records whose field is unknown).
type Tally struct {
	// Code and Field are the group's error code and field.
	Code, Field string
	// Count is the number of records.
	Count int
	// First and Last are the earliest and latest failed.at seen.
	First, Last time.Time
}

func (t *Tally) add(at time.Time) {
	t.Count++
	if !at.IsZero() && (t.First.IsZero() || at.Before(t.First)) {
		t.First = at
	}
	if at.After(t.Last) {
		t.Last = at
	}
}

type codeField struct{ code, field string }

// Stats aggregates dead-letter records ("consumer dlq stats"). The zero value
// is ready to use; it is not safe for concurrent use.
type Stats struct {
	// All counts every record added.
	All Tally

	byCode, byField, byPair map[codeField]*Tally
	sources                 LatestBySource
}

// SourceRecords is the number of distinct source records among the records
// added (source.topic, source.partition, source.offset): below All.Count when
// offset resets or replays dead-lettered a record more than once.
func (s *Stats) SourceRecords() int { return s.sources.Len() }

// Add counts r.
func (s *Stats) Add(r Record) {
	s.sources.Add(r)
	if s.byCode == nil {
		s.byCode, s.byField, s.byPair = map[codeField]*Tally{}, map[codeField]*Tally{}, map[codeField]*Tally{}
	}
	s.All.add(r.FailedAt)
	for _, g := range []struct {
		m map[codeField]*Tally
		k codeField
	}{
		{s.byCode, codeField{code: r.Code}},
		{s.byField, codeField{field: r.Field}},
		{s.byPair, codeField{r.Code, r.Field}},
	} {
		t := g.m[g.k]
		if t == nil {
			t = &Tally{Code: g.k.code, Field: g.k.field}
			g.m[g.k] = t
		}
		t.add(r.FailedAt)
	}
}

// ByCode returns one Tally per error code, most frequent first (then by code).
func (s *Stats) ByCode() []Tally { return sorted(s.byCode) }

// ByField returns one Tally per field (Field "" for unknown), most frequent
// first (then by field).
func (s *Stats) ByField() []Tally { return sorted(s.byField) }

// ByCodeAndField returns one Tally per code and field pair, most frequent first.
func (s *Stats) ByCodeAndField() []Tally { return sorted(s.byPair) }

func sorted(m map[codeField]*Tally) []Tally {
	out := make([]Tally, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Tally) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Field, b.Field))
	})
	return out
}

// CollectStats reads the dead-letter topic like Read and returns the Stats of
// the records that match filter.
func CollectStats(ctx context.Context, brokers []string, topic string, from StartPoint, filter Filter, opts ...kgo.Opt) (*Stats, error) {
	s := &Stats{}
	err := Read(ctx, brokers, topic, from, filter, func(r Record) error {
		s.Add(r)
		return nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}
