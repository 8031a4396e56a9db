package dlq

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// HeaderSourcePrefix prefixes the name of a source record's header that is
// named like a dead-letter header (Headers) when the dead letter carries it
// ("error.code" becomes "source.header.error.code"), so that it cannot be
// read as the dead letter's own.
const HeaderSourcePrefix = "source.header."

// CarryHeaders returns the headers of a source record as its dead letter
// carries them, after the contract's (Record.Extra): every header, in
// order, the replay marks included, those named like a contract header
// renamed with HeaderSourcePrefix. The values are src's (not copied).
// Kafka Connect's dead-letter queue keeps a record's headers the same way.
func CarryHeaders(src []kgo.RecordHeader) []kgo.RecordHeader {
	if len(src) == 0 {
		return nil
	}
	out := make([]kgo.RecordHeader, len(src))
	for i, h := range src {
		if slices.Contains(Headers, h.Key) || strings.HasPrefix(h.Key, HeaderSourcePrefix) {
			h.Key = HeaderSourcePrefix + h.Key
		}
		out[i] = h
	}
	return out
}

// SourceHeaders returns the source record's own headers from a dead
// letter's Extra: CarryHeaders undone, without the replay marks
// (HeaderReplayGroup, HeaderReplayCount), which a replay sets anew.
func SourceHeaders(extra []kgo.RecordHeader) []kgo.RecordHeader {
	var out []kgo.RecordHeader
	for _, h := range extra {
		switch {
		case h.Key == HeaderReplayGroup || h.Key == HeaderReplayCount:
			continue
		case strings.HasPrefix(h.Key, HeaderSourcePrefix):
			h.Key = strings.TrimPrefix(h.Key, HeaderSourcePrefix)
		}
		out = append(out, h)
	}
	return out
}
