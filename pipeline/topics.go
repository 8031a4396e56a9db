package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/zohoapi"
)

// DefaultMaxMessageBytes is Kafka's default message.max.bytes (1048588
// bytes): the dead-letter producer's limit when the cluster does not say
// what the dead-letter topic accepts.
const DefaultMaxMessageBytes = 1048588

// dlqHeaderRoom is what the dead-letter headers other than zoho.record and
// error.details take at most, with the record's framing: a dead-letter topic
// zohosink creates accepts the largest source topic's max.message.bytes plus
// this much.
const dlqHeaderRoom = 4 << 10

// TopicLimits is what the cluster reports about a pipeline's topics
// (DescribeTopics): which exist, and how large a record batch each accepts.
type TopicLimits struct {
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

// DescribeTopics reads max.message.bytes of the source topics and of the
// dead-letter topic, and retention.ms of the source topics (one DescribeConfigs request per broker; kadm
// DescribeTopicConfigs). A topic that does not exist is listed as missing,
// not an error. The error is the request's: the cluster unreachable, or a
// *kadm.AuthError when this client may not describe the topics' configs
// (ACL DESCRIBE_CONFIGS).
func DescribeTopics(ctx context.Context, adm *kadm.Client, sources []string, dlqTopic string) (TopicLimits, error) {
	t := TopicLimits{MaxMessageBytes: map[string]int32{}, Retention: map[string]time.Duration{}, Sources: slices.Clone(sources), DLQTopic: dlqTopic}
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
func (t TopicLimits) LargestSource() (topic string, limit int32) {
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
		e.DLQTopic, e.DLQBytes, e.Source, e.SourceBytes, e.DLQBytes, int64(e.SourceBytes)+dlqHeaderRoom)
}

// DLQTooSmall returns one *DLQTooSmallError per source topic whose
// max.message.bytes exceeds the dead-letter topic's, in source order; nil
// when the dead-letter topic is missing or large enough.
func (t TopicLimits) DLQTooSmall() []*DLQTooSmallError {
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
func (t TopicLimits) SettingTooSmall(setting int32) string {
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
func (t TopicLimits) ProducerLimit(setting int32) int32 {
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

// MissingTopicsError is the readiness reason while source topics do not
// exist: nothing is consumed from them until they are created (the pipeline
// checks again every TopicCheckInterval).
type MissingTopicsError struct {
	// Topics are the missing source topics, in kafka.topics order.
	Topics []string
}

// Error names the missing topics.
func (e *MissingTopicsError) Error() string {
	return fmt.Sprintf("source topic(s) %s do not exist (kafka.topics): nothing is consumed from them", strings.Join(e.Topics, ", "))
}

// prepareTopics runs before the first poll: it reads the topics' limits
// (retrying until the cluster answers or ctx ends, readiness saying why),
// creates a missing dead-letter topic at least as large as the largest source
// topic, sizes the dead-letter producer from the dead-letter topic, reports
// missing source topics and a dead-letter topic smaller than a source topic,
// and logs where a new group starts. It returns false when ctx ended first,
// and an error when no producer could be made for the limit.
func (p *Pipeline) prepareTopics(ctx context.Context) (bool, error) {
	adm := kadm.NewClient(p.cl)
	bo := &backoff.ExponentialBackOff{InitialInterval: p.o.RetryInitial, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: p.o.RetryMax}
	bo.Reset()
	var lim TopicLimits
	for logged := false; ; {
		var err error
		lim, err = p.readTopics(ctx, adm)
		var auth *kadm.AuthError
		if err == nil || errors.As(err, &auth) {
			if err != nil {
				p.log.Warn("may not read the topics' max.message.bytes (ACL DESCRIBE_CONFIGS): the dead-letter producer uses kafka.max_message_bytes or Kafka's default",
					zap.Int32("max_message_bytes", lim.ProducerLimit(p.o.MaxMessageBytes)), zap.Error(err))
			}
			break
		}
		p.kafkaFailed(err)
		if !logged {
			p.log.Warn("cannot read the topics' configuration; retrying before consuming", zap.Error(err))
			logged = true
		}
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return false, nil
		case <-t.C:
		}
	}
	limit := lim.ProducerLimit(p.o.MaxMessageBytes)
	if msg := lim.SettingTooSmall(p.o.MaxMessageBytes); msg != "" {
		p.log.Warn(msg)
	}
	for _, e := range lim.DLQTooSmall() {
		p.log.Warn(e.Error())
		p.m.dlqTooSmall.WithLabelValues(e.Source).Set(1)
	}
	p.m.dlqMaxBytes.Set(float64(limit))
	p.dlqLimit.Store(limit)
	producer, err := kgo.NewClient(append(producerOptions(p.o, limit), p.o.KafkaOptions...)...)
	if err != nil {
		return false, fmt.Errorf("dead-letter producer for max.message.bytes %d: %w", limit, err)
	}
	p.producer = producer
	p.dlq = dlq.NewWriter(producer, p.o.DLQTopic, dlq.WithOnRetry(func(err error) {
		p.setPaused(pauseDLQ, true, err)
	}), dlq.WithOnAttempt(p.m.observeDLQAttempt))
	p.log.Info("dead-letter producer ready", zap.String("topic", p.o.DLQTopic), zap.Int32("max_message_bytes", limit))
	p.setMissingSources(lim.MissingSources)
	p.m.setRetention(lim.Retention)
	p.logStartPosition(ctx, adm, lim)
	return true, nil
}

// readTopics describes the topics and creates a missing dead-letter topic
// with room for the largest source topic's records plus the dead-letter
// headers (the broker's defaults otherwise). A topic the broker refuses to
// create is logged, not an error: dead-letter writes retry until it exists.
func (p *Pipeline) readTopics(ctx context.Context, adm *kadm.Client) (TopicLimits, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	lim, err := DescribeTopics(ctx, adm, p.o.Topics, p.o.DLQTopic)
	if err != nil || !lim.DLQMissing {
		return lim, err
	}
	var configs map[string]*string
	_, largest := lim.LargestSource()
	if largest > 0 {
		configs = map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(int(largest) + dlqHeaderRoom))}
	}
	_, err = adm.CreateTopic(ctx, -1, -1, configs, p.o.DLQTopic)
	var refused *kerr.Error
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
	case err != nil && !errors.As(err, &refused): // no answer: try again
		return lim, fmt.Errorf("creating the dead-letter topic %q: %w", p.o.DLQTopic, err)
	case err != nil:
		p.log.Warn("could not create the dead-letter topic: dead-letter writes retry until it exists; create it with at least the max.message.bytes given and restart, so that the producer is sized from it",
			zap.String("topic", p.o.DLQTopic), zap.Stringp("max_message_bytes", configs["max.message.bytes"]), zap.Error(err))
		return lim, nil
	default:
		p.log.Info("created the dead-letter topic", zap.String("topic", p.o.DLQTopic), zap.Stringp("max_message_bytes", configs["max.message.bytes"]))
	}
	created, err := DescribeTopics(ctx, adm, p.o.Topics, p.o.DLQTopic)
	if err == nil && created.DLQMissing && configs != nil {
		// A broker may not describe a topic it created a moment ago (its
		// metadata is still propagating): it has the limit just given.
		created.DLQMissing = false
		created.MaxMessageBytes[p.o.DLQTopic] = largest + dlqHeaderRoom
	}
	return created, err
}

// watchTopics checks every TopicCheckInterval, until ctx ends, which source
// topics exist, so that a topic created later is consumed (and readiness
// recovers) and one deleted meanwhile is reported.
func (p *Pipeline) watchTopics(ctx context.Context) {
	adm := kadm.NewClient(p.cl)
	t := time.NewTicker(p.o.TopicCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reqCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		lim, err := DescribeTopics(reqCtx, adm, p.o.Topics, p.o.DLQTopic)
		cancel()
		if err == nil {
			p.setMissingSources(lim.MissingSources)
		}
	}
}

// setMissingSources records which source topics do not exist, logging each
// change once and keeping readiness and zohosink_source_topic_missing in
// step. A topic that appears makes the client refresh its metadata, so that
// the group starts consuming it at once.
func (p *Pipeline) setMissingSources(missing []string) {
	p.stateMu.Lock()
	was := p.missingSources
	p.missingSources = missing
	p.stateMu.Unlock()
	for _, s := range missing {
		if !slices.Contains(was, s) {
			p.m.topicMissing.WithLabelValues(s).Set(1)
			p.log.Error("source topic does not exist: nothing is consumed from it until it is created (checked again periodically); create it or fix kafka.topics",
				zap.String("topic", s), zap.Duration("check_interval", p.o.TopicCheckInterval))
		}
	}
	appeared := false
	for _, s := range was {
		if !slices.Contains(missing, s) {
			appeared = true
			p.m.topicMissing.WithLabelValues(s).Set(0)
			p.log.Info("source topic exists now: consuming it", zap.String("topic", s))
		}
	}
	if appeared {
		p.cl.ForceMetadataRefresh()
	}
	p.updateReady()
}

// logStartPosition logs once where the group starts the partitions it has no
// usable committed offset for (none, or one before the log start): at the
// log start (kafka.start_offset earliest: every record there goes through
// the pipeline, with an estimate of the Zoho API credits) or at the log end
// (latest: those records are skipped). Errors are logged, never fatal.
func (p *Pipeline) logStartPosition(ctx context.Context, adm *kadm.Client, lim TopicLimits) {
	var topics []string
	for _, s := range lim.Sources {
		if !slices.Contains(lim.MissingSources, s) {
			topics = append(topics, s)
		}
	}
	if len(topics) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	committed, err := adm.FetchOffsets(ctx, p.o.Group)
	if errors.Is(err, kerr.GroupIDNotFound) { // a new group: nothing committed
		err = nil
	}
	if err == nil {
		err = committed.Error()
	}
	starts, serr := adm.ListStartOffsets(ctx, topics...)
	ends, eerr := adm.ListEndOffsets(ctx, topics...)
	if err = errors.Join(err, serr, eerr, starts.Error(), ends.Error()); err != nil {
		p.log.Warn("could not read where the group starts", zap.Error(err))
		return
	}
	var parts int
	var records int64
	starts.Each(func(so kadm.ListedOffset) {
		eo, _ := ends.Lookup(so.Topic, so.Partition)
		if c, ok := committed.Lookup(so.Topic, so.Partition); ok && c.At >= so.Offset {
			return
		}
		parts++
		records += max(0, eo.Offset-so.Offset)
	})
	if parts == 0 {
		return
	}
	fields := []zap.Field{zap.String("group", p.o.Group), zap.Int("partitions", parts), zap.Int64("records", records)}
	if p.o.StartAtLatest {
		p.log.Info("partitions without a committed offset start at the log end (kafka.start_offset: latest): the records already there are skipped", fields...)
		return
	}
	p.log.Warn("partitions without a committed offset start at the log start (kafka.start_offset: earliest): every record there goes through the pipeline to Zoho; set kafka.start_offset: latest to start at the log end",
		append(fields, zap.Int("estimated_zoho_credits", zohoapi.Credits(int(records))))...)
}
