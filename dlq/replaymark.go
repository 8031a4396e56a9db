package dlq

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names of the replay marks: a dead-letter replay adds both to every
// dead-letter record it writes, and "consumer dlq replay --to-source" adds
// both to every record it produces back to a source topic. Values are
// UTF-8 strings. The dead-letter contract's headers are unchanged.
const (
	// HeaderReplayGroup names the replay that wrote the record: the
	// consumer group keeping that replay's position in the dead-letter topic.
	// A replay skips the records its own group wrote (they already failed
	// again under it), so running it again sends nothing new.
	HeaderReplayGroup = "replay.group"
	// HeaderReplayCount is how many replays the record has been through,
	// decimal: 1 for the dead letter of a record's first replay. Records the
	// pipeline wrote have no replay headers (count 0).
	HeaderReplayCount = "replay.count"
)

// ReplayMark is a record's replay marks: the group of the replay that wrote
// it and its replay count. The zero value is "never replayed".
type ReplayMark struct {
	// Group is the replay.group header, "" when absent.
	Group string
	// Count is the replay.count header, 0 when absent or not a number ≥ 0.
	Count int
}

// ReplayMarkOf reads the replay marks of a Kafka record's headers (the last
// of repeated headers wins).
func ReplayMarkOf(headers []kgo.RecordHeader) ReplayMark {
	var m ReplayMark
	for _, h := range headers {
		switch h.Key {
		case HeaderReplayGroup:
			m.Group = string(h.Value)
		case HeaderReplayCount:
			if n, err := strconv.Atoi(string(h.Value)); err == nil && n >= 0 {
				m.Count = n
			}
		}
	}
	return m
}

// Headers returns m as the two replay headers.
func (m ReplayMark) Headers() []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: HeaderReplayGroup, Value: []byte(m.Group)},
		{Key: HeaderReplayCount, Value: []byte(strconv.Itoa(m.Count))},
	}
}
