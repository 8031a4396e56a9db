package dlq

import "time"

// SourceRecord identifies the source record a dead letter stands for: its
// source.topic, source.partition and source.offset headers. One source record
// can have several dead letters: every offset reset that replays it through
// the pipeline, and every replay that fails again, writes another.
type SourceRecord struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Source returns the source record r stands for; ok is false when r has no
// source.topic (its source is unknown, so it is never taken for another's).
func (r Record) Source() (s SourceRecord, ok bool) {
	return SourceRecord{Topic: r.SourceTopic, Partition: r.SourcePartition, Offset: r.SourceOffset}, r.SourceTopic != ""
}

// LatestBySource keeps, per source record, where its latest dead letter is,
// so that a replay sends each source record once ("dlq replay") and stats
// count source records ("dlq stats"). The latest of two dead letters is the
// one further on in the same partition of the dead-letter topic, or, in
// different partitions, the one that failed later (failed.at; the later
// offset's partition when equal). The zero value is ready to use; it is not
// safe for concurrent use.
type LatestBySource struct {
	latest  map[SourceRecord]place
	unknown int // records without a source: each counts as its own
}

// place is where a dead letter is, and when it failed.
type place struct {
	partition int32
	offset    int64
	failedAt  time.Time
}

func placeOf(r Record) place {
	return place{partition: r.DLQPartition, offset: r.DLQOffset, failedAt: r.FailedAt}
}

// after reports whether p is a later dead letter than q.
func (p place) after(q place) bool {
	if p.partition == q.partition {
		return p.offset > q.offset
	}
	if !p.failedAt.Equal(q.failedAt) {
		return p.failedAt.After(q.failedAt)
	}
	return p.partition > q.partition
}

// Add notes r (read with Parse, so that its DLQPartition and DLQOffset are set).
func (l *LatestBySource) Add(r Record) {
	src, ok := r.Source()
	if !ok {
		l.unknown++
		return
	}
	if l.latest == nil {
		l.latest = map[SourceRecord]place{}
	}
	if q, seen := l.latest[src]; !seen || placeOf(r).after(q) {
		l.latest[src] = placeOf(r)
	}
}

// Superseded reports whether a later dead letter of r's source record was
// added. A record without a source is never superseded.
func (l *LatestBySource) Superseded(r Record) bool {
	src, ok := r.Source()
	if !ok {
		return false
	}
	q, seen := l.latest[src]
	return seen && q.after(placeOf(r))
}

// Len is the number of distinct source records added (each record without a
// source counts as one).
func (l *LatestBySource) Len() int { return len(l.latest) + l.unknown }
