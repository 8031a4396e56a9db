package topics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultMaxMessageBytes is Kafka's default message.max.bytes (1048588
// bytes): the dead-letter producer's limit when the cluster does not say
// what the dead-letter topic accepts.
const DefaultMaxMessageBytes = 1048588

// DLQHeaderRoom is what the dead-letter headers other than zoho.record and
// error.details take at most, with the record's framing: a dead-letter topic
// zohosink creates accepts the largest source topic's max.message.bytes plus
// this much.
const DLQHeaderRoom = 4 << 10

// Limits is what the cluster reports about a pipeline's topics
// (DescribeTopics): which exist, and how large a record batch each accepts.
type Limits struct {
	// MaxMessageBytes is the max.message.bytes of every topic that exists, in
	// bytes, as the cluster reports it (the broker's message.max.bytes when
	// the topic sets none).
	MaxMessageBytes map[string]int32
	// Sources are the source topics asked about, in the order given.
	Sources []string
	// MissingSources are the source topics that do not exist, in the order given.
	MissingSources []string
	// Retention is the retention.ms of every existing source topic that
	// reports one (negative: unlimited), for the lag's share of it.
	Retention map[string]time.Duration
	// DLQTopic is the dead-letter topic; DLQMissing is true when it does not exist.
	DLQTopic   string
	DLQMissing bool
}

// Describe reads max.message.bytes of the source topics and of the
// dead-letter topic, and retention.ms of the source topics (one DescribeConfigs request per broker; kadm
// DescribeTopicConfigs). A topic that does not exist is listed as missing,
// not an error. The error is the request's: the cluster unreachable, or a
// *kadm.AuthError when this client may not describe the topics' configs
// (ACL DESCRIBE_CONFIGS).
func Describe(ctx context.Context, adm *kadm.Client, sources []string, dlqTopic string) (Limits, error) {
	t := Limits{MaxMessageBytes: map[string]int32{}, Retention: map[string]time.Duration{}, Sources: slices.Clone(sources), DLQTopic: dlqTopic}
	names := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(sources), dlqTopic))))
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return t, err
	}
	missing := map[string]bool{}
	for _, name := range names {
		rc, err := rcs.On(name, nil)
		switch {
		case errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(rc.Err, kerr.UnknownTopicOrPartition):
			missing[name] = true
			continue
		case err != nil:
			return t, fmt.Errorf("describing topic %q: %w", name, err)
		case rc.Err != nil:
			return t, fmt.Errorf("describing topic %q: %w", name, rc.Err)
		}
		if d, ok := retentionOf(rc.Configs); ok && slices.Contains(sources, name) {
			t.Retention[name] = d
		}
		for _, c := range rc.Configs {
			if c.Key != "max.message.bytes" {
				continue
			}
			n, err := strconv.ParseInt(c.MaybeValue(), 10, 32)
			if err != nil || n <= 0 {
				return t, fmt.Errorf("topic %q: max.message.bytes %q is not a positive number", name, c.MaybeValue())
			}
			t.MaxMessageBytes[name] = int32(n)
		}
		if _, ok := t.MaxMessageBytes[name]; !ok {
			return t, fmt.Errorf("topic %q: the cluster reported no max.message.bytes", name)
		}
	}
	for _, s := range sources {
		if missing[s] {
			t.MissingSources = append(t.MissingSources, s)
		}
	}
	t.DLQMissing = missing[dlqTopic]
	return t, nil
}

// LargestSource returns the existing source topic with the largest
// max.message.bytes and that limit in bytes ("" and 0 when none exists).
func (t Limits) LargestSource() (topic string, limit int32) {
	for _, s := range t.Sources {
		if n, ok := t.MaxMessageBytes[s]; ok && n > limit {
			topic, limit = s, n
		}
	}
	return topic, limit
}

// DLQTooSmallError is a source topic that accepts larger records than the
// dead-letter topic: such a record, once rejected, cannot be dead-lettered,
// and its partition stops until the dead-letter topic's limit is raised.
type DLQTooSmallError struct {
	// DLQTopic and DLQBytes are the dead-letter topic and its max.message.bytes.
	DLQTopic string
	DLQBytes int32
	// Source and SourceBytes are the source topic and its larger max.message.bytes.
	Source      string
	SourceBytes int32
}

// Error says which limits differ and what to raise the dead-letter topic's to.
func (e *DLQTooSmallError) Error() string {
	return fmt.Sprintf("dead-letter topic %q accepts %d bytes (max.message.bytes) but source topic %q accepts %d: a rejected record larger than %d bytes cannot be dead-lettered and stops its partition; raise the dead-letter topic's max.message.bytes to at least %d",
		e.DLQTopic, e.DLQBytes, e.Source, e.SourceBytes, e.DLQBytes, int64(e.SourceBytes)+DLQHeaderRoom)
}

// DLQTooSmall returns one *DLQTooSmallError per source topic whose
// max.message.bytes exceeds the dead-letter topic's, in source order; nil
// when the dead-letter topic is missing or large enough.
func (t Limits) DLQTooSmall() []*DLQTooSmallError {
	d, ok := t.MaxMessageBytes[t.DLQTopic]
	if !ok {
		return nil
	}
	var out []*DLQTooSmallError
	for _, s := range t.Sources {
		if n, ok := t.MaxMessageBytes[s]; ok && n > d {
			out = append(out, &DLQTooSmallError{DLQTopic: t.DLQTopic, DLQBytes: d, Source: s, SourceBytes: n})
		}
	}
	return out
}

// SettingTooSmall describes a kafka.max_message_bytes setting (bytes, > 0)
// below what the topics need (the largest source topic's max.message.bytes),
// or returns "" when the setting is 0 or large enough.
func (t Limits) SettingTooSmall(setting int32) string {
	topic, need := t.LargestSource()
	if setting <= 0 || setting >= need {
		return ""
	}
	return fmt.Sprintf("kafka.max_message_bytes %d is below source topic %q's max.message.bytes %d: a rejected record larger than the setting cannot be dead-lettered and stops its partition; remove the key to size the producer from the dead-letter topic",
		setting, topic, need)
}

// ProducerLimit is the dead-letter producer's record batch limit in bytes
// (kgo.ProducerBatchMaxBytes): the dead-letter topic's max.message.bytes,
// capped by setting when it is > 0. When the dead-letter topic's limit is not
// known, it is setting, or DefaultMaxMessageBytes when setting is 0.
func (t Limits) ProducerLimit(setting int32) int32 {
	d, ok := t.MaxMessageBytes[t.DLQTopic]
	switch {
	case !ok && setting > 0:
		return setting
	case !ok:
		return DefaultMaxMessageBytes
	case setting > 0:
		return min(setting, d)
	}
	return d
}

// SourceProducerLimit is the record batch limit in bytes of a producer
// writing back to the source topics (dead-letter replay --to-source): the
// smallest max.message.bytes of the existing source topics, so that no batch
// exceeds what any of them accepts, capped by setting when it is > 0. When
// no source topic's limit is known, it is setting, or
// DefaultMaxMessageBytes when setting is 0.
func (t Limits) SourceProducerLimit(setting int32) int32 {
	var limit int32
	for _, s := range t.Sources {
		if n, ok := t.MaxMessageBytes[s]; ok && (limit == 0 || n < limit) {
			limit = n
		}
	}
	switch {
	case limit == 0 && setting > 0:
		return setting
	case limit == 0:
		return DefaultMaxMessageBytes
	case setting > 0:
		return min(setting, limit)
	}
	return limit
}

// ProducerOpts size a dead-letter producer (or any producer writing records
// of up to limit bytes): record batches of at most limit bytes
// (kgo.ProducerBatchMaxBytes) and requests large enough to carry them.
func ProducerOpts(limit int32) []kgo.Opt {
	return []kgo.Opt{
		kgo.ProducerBatchMaxBytes(limit),
		kgo.BrokerMaxWriteBytes(max(limit*2, 100<<20)),
	}
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
