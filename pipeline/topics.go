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

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/zohoapi"
)

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
	bo := &backoff.ExponentialBackOff{InitialInterval: p.delivery.RetryInitial, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: p.delivery.RetryMax}
	bo.Reset()
	var lim topics.Limits
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
			p.log.Warn("cannot read the topics' configuration; retrying before consuming", zap.Error(p.explainKafka(err)))
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
	for _, s := range p.o.Topics { // every source topic has a series, 0 unless too small
		p.m.dlqTooSmall.WithLabelValues(s).Set(0)
	}
	for _, e := range lim.DLQTooSmall() {
		p.log.Warn(e.Error())
		p.m.dlqTooSmall.WithLabelValues(e.Source).Set(1)
	}
	p.m.dlqMaxBytes.Set(float64(limit))
	producer, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(p.o.Brokers...), kgo.ClientID(p.o.ClientID)}, topics.ProducerOpts(limit)...), p.o.KafkaOptions...)...)
	if err != nil {
		return false, fmt.Errorf("dead-letter producer for max.message.bytes %d: %w", limit, err)
	}
	p.producer = producer
	d := p.delivery
	d.DLQLimit = limit
	d.DeadLetters = dlq.NewWriter(producer, p.o.DLQTopic, dlq.WithOnRetry(func(err error) {
		p.setPaused(delivery.PauseDLQ, true, err)
	}), dlq.WithOnAttempt(p.m.observeDLQAttempt))
	if p.sender, err = delivery.New(d); err != nil {
		return false, err // cannot happen: New checked the options
	}
	p.batches.SetMaxInFlight(p.sender.CallLimit() + 1)
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
func (p *Pipeline) readTopics(ctx context.Context, adm *kadm.Client) (topics.Limits, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	lim, err := topics.Describe(ctx, adm, p.o.Topics, p.o.DLQTopic)
	if err != nil || !lim.DLQMissing {
		return lim, err
	}
	var configs map[string]*string
	_, largest := lim.LargestSource()
	if largest > 0 {
		configs = map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(int(largest) + topics.DLQHeaderRoom))}
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
		if configs == nil {
			p.log.Info("created the dead-letter topic with the broker's max.message.bytes (no source topic to size it from)", zap.String("topic", p.o.DLQTopic))
		} else {
			p.log.Info("created the dead-letter topic", zap.String("topic", p.o.DLQTopic), zap.Stringp("max_message_bytes", configs["max.message.bytes"]))
		}
	}
	created, err := topics.Describe(ctx, adm, p.o.Topics, p.o.DLQTopic)
	if err == nil && created.DLQMissing && configs != nil {
		// A broker may not describe a topic it created a moment ago (its
		// metadata is still propagating): it has the limit just given.
		created.DLQMissing = false
		created.MaxMessageBytes[p.o.DLQTopic] = largest + topics.DLQHeaderRoom
	}
	return created, err
}

// watchTopics checks every TopicCheckInterval, until ctx ends, which source
// topics exist, so that a topic created later is consumed (and readiness
// recovers) and one deleted meanwhile is reported.
func (p *Pipeline) watchTopics(ctx context.Context) {
	adm := kadm.NewClient(p.cl)
	every(ctx, p.o.TopicCheckInterval, func() {
		reqCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		lim, err := topics.Describe(reqCtx, adm, p.o.Topics, p.o.DLQTopic)
		cancel()
		if err == nil {
			p.setMissingSources(lim.MissingSources)
		}
	})
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
	for _, s := range p.o.Topics { // every source topic has a series, 0 while it exists
		if !slices.Contains(missing, s) {
			p.m.topicMissing.WithLabelValues(s).Set(0)
		}
	}
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
func (p *Pipeline) logStartPosition(ctx context.Context, adm *kadm.Client, lim topics.Limits) {
	var existing []string
	for _, s := range lim.Sources {
		if !slices.Contains(lim.MissingSources, s) {
			existing = append(existing, s)
		}
	}
	if len(existing) == 0 {
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
	starts, serr := adm.ListStartOffsets(ctx, existing...)
	ends, eerr := adm.ListEndOffsets(ctx, existing...)
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
