package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sony/gobreaker/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/creditsaver"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
)

// Options configure a Pipeline. The settings that are configuration keys
// take their values from the caller: their defaults live in package config
// (config.Defaults), and cmd/consumer copies them here. New refuses zero or
// negative durations and counts among them, naming each; only
// TopicCheckInterval and Logger, which are not configuration keys, have a
// zero value of their own.
type Options struct {
	// Brokers are the Kafka seed brokers ("host:port").
	Brokers []string
	// Topics are the source topics of the consumer group.
	Topics []string
	// Group is the consumer group id; its committed offsets are the pipeline's position.
	Group string
	// DLQTopic is the dead-letter topic. When missing at start, it is created
	// with the broker's defaults for partitions and replicas and a
	// max.message.bytes of the largest source topic's plus room for the
	// dead-letter headers.
	DLQTopic string
	// ClientID is the Kafka client id (kafka.client_id); "" sends none.
	ClientID string
	// CommitInterval is how often done offsets are committed; > 0.
	CommitInterval time.Duration
	// SessionTimeout is the consumer group session timeout; > 0.
	SessionTimeout time.Duration
	// FetchMaxBytes bounds one fetch response; 0 keeps franz-go's (50 MiB).
	FetchMaxBytes int32
	// MaxMessageBytes caps the dead-letter producer's record batches, in
	// bytes. Zero (the default): the producer is sized from the dead-letter
	// topic's max.message.bytes, read at start (topics.DefaultMaxMessageBytes when
	// the cluster does not say). A value below the largest source topic's
	// max.message.bytes is logged as a warning.
	MaxMessageBytes int32
	// StartAtLatest makes the group start partitions without a committed
	// offset (or with one before the log start) at the log end instead of the
	// log start (kafka.start_offset: latest; default false: earliest).
	StartAtLatest bool
	// TopicCheckInterval is how often the pipeline checks that its source
	// topics exist, so that a topic created later is consumed (default 15s).
	TopicCheckInterval time.Duration
	// KafkaOptions are extra franz-go options, added last: the connection's
	// TLS and SASL (wiring passes the options of a kafkaconn.Conn of kafka.*)
	// and test settings.
	KafkaOptions []kgo.Opt
	// ExplainKafka, when set, turns an error of the Kafka client into one
	// for an operator before it is logged or shown by /readyz (wiring passes
	// kafkaconn.Conn.Explain: an unreachable broker, a failed TLS handshake or
	// SASL authentication, or a denied ACL named by its configuration keys);
	// it must return other errors as they are. Nil leaves errors as they are.
	ExplainKafka func(error) error

	// Module is the Zoho module records are upserted into, e.g. "Leads".
	Module string
	// DuplicateCheckFields and Trigger are passed to Zoho's upsert as given
	// (nil: omitted, Zoho's defaults apply).
	DuplicateCheckFields, Trigger []string
	// Zoho is the client upserts go through.
	Zoho delivery.Upserter
	// Mapping decides which events reach Zoho and how. Its Metadata, when
	// nil, is the cache of Fields below.
	Mapping mapping.MapperConfig
	// Fields, when set, reads the Fields metadata of Module (zohoapi.Client
	// satisfies it), so that mapped values are converted by their fields'
	// data types: Run reads it before the first poll (a failure is logged
	// and counted, and delivery goes on with values sent untyped), then
	// every FieldsRefreshInterval (> 0), and again after Zoho answers
	// INVALID_DATA naming a field, at most once per FieldsMinStaleInterval
	// (≥ 0). Nil: values are always sent untyped.
	Fields                                        fieldcache.Source
	FieldsRefreshInterval, FieldsMinStaleInterval time.Duration
	// Batch sizes and lingers batches; MaxInFlight is the most concurrent
	// upsert calls (the ceiling of the adaptive limit, which the batcher
	// follows: batches not sent keep filling). MaxRecords, MaxInFlight and MaxBuffered must be ≥ 1
	// (config.Config.EffectiveMaxBuffered gives batch.max_buffered's value);
	// MaxBufferedBytes 0 is heldPastPollPerFetch × FetchMaxBytes (8 MiB
	// with the default), and bounds the records waiting for a dead-letter
	// write too.
	Batch batcher.Config

	// CreditSaver skips the upsert of a record identical to the last one Zoho
	// acknowledged for its key from the same partition assignment (package
	// creditsaver): when its batch is handed to the Sender it is done
	// without a call and counted (Stats.Skipped). It remembers at most
	// CreditSaverKeys keys (≥ 1 when CreditSaver is set), each for
	// CreditSaverTTL after Zoho's acknowledgement (> 0 when set).
	CreditSaver     bool
	CreditSaverKeys int
	CreditSaverTTL  time.Duration

	// RetryInitial, RetryMax, ThrottleBackoff, BreakerFailures and
	// BreakerOpenTimeout are the delivery.Options of the same names, checked
	// by delivery.Options.Check; RetryInitial and RetryMax also bound the
	// retries of reading the topics' configuration at start.
	RetryInitial, RetryMax, ThrottleBackoff time.Duration
	BreakerFailures                         uint32
	BreakerOpenTimeout                      time.Duration
	// DailyCreditBudget is the deployment's Zoho API credits per rolling 24 h
	// (zoho.daily_credit_budget), split across the group's members by the
	// share of source partitions each owns; upserts wait, fetching paused,
	// while this process's share is spent (delivery.Credits). 0: no local
	// budget (Zoho's reported remaining credits are honoured all the same).
	// ≥ 0.
	DailyCreditBudget int
	// Clock is the time source of the credit budget and of the credit
	// saver's CreditSaverTTL (nil: the real clock; tests pass a fake one).
	Clock delivery.Clock
	// ShutdownGrace bounds how long shutdown and partition revocation wait for
	// the Zoho calls and dead-letter writes under way before cutting them off,
	// uncommitted; waits between retries end at once. > 0.
	ShutdownGrace time.Duration

	// Logger receives one line per state change (default: none).
	Logger *zap.Logger
	// Tokens, when set, reports the Zoho access token on /metrics (mints,
	// refresh failures, time to expiry); nil reports zeros.
	Tokens TokenStats
	// Credentials, when set, is asked for an access token once at start
	// (from the token cache when it holds a usable one, else one mint), so
	// that a wrong client secret or a revoked refresh token stops delivery
	// and fails /readyz before the first event instead of at it.
	Credentials TokenChecker
}

// TokenChecker gives an access token (zohoapi.TokenSource satisfies it).
type TokenChecker interface {
	Token(ctx context.Context) (string, error)
}

// defaultTopicCheckInterval is Options.TopicCheckInterval's zero value.
const defaultTopicCheckInterval = 15 * time.Second

// check applies the zero values of TopicCheckInterval and Logger and
// returns a problem for every setting below its minimum, named by its
// Options field (the delivery settings and the Zoho client and module by
// delivery.Options.Check).
func (o *Options) check() []error {
	if o.TopicCheckInterval <= 0 {
		o.TopicCheckInterval = defaultTopicCheckInterval
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	var problems []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			problems = append(problems, fmt.Errorf("%s must be > 0 (got %v)", name, d))
		}
	}
	atLeastOne := func(name string, n int) {
		if n < 1 {
			problems = append(problems, fmt.Errorf("%s must be ≥ 1 (got %d)", name, n))
		}
	}
	positive("CommitInterval", o.CommitInterval)
	positive("SessionTimeout", o.SessionTimeout)
	positive("ShutdownGrace", o.ShutdownGrace)
	if o.DailyCreditBudget < 0 {
		problems = append(problems, fmt.Errorf("DailyCreditBudget must be ≥ 0 (got %d)", o.DailyCreditBudget))
	}
	if o.Fields != nil {
		positive("FieldsRefreshInterval", o.FieldsRefreshInterval)
		if o.FieldsMinStaleInterval < 0 {
			problems = append(problems, fmt.Errorf("FieldsMinStaleInterval must be ≥ 0 (got %v)", o.FieldsMinStaleInterval))
		}
	}
	problems = append(problems, o.DeliveryOptions().Check()...)
	atLeastOne("Batch.MaxRecords", o.Batch.MaxRecords)
	atLeastOne("Batch.MaxBuffered", o.Batch.MaxBuffered)
	return problems
}

// Pipeline is the consumer group that moves events from the source topics to
// Zoho. Create it with New, run it with Run; Handler serves its health and metrics.
type Pipeline struct {
	o       Options
	log     *zap.Logger
	cl      *kgo.Client
	mapper  *mapping.Mapper
	saver   *saver // nil: credit saver off
	fields  *fields
	offsets *watermark.Tracker
	// fetchSize sizes fetches by what their records hold (poll loop).
	fetchSize fetchSizer
	// backlog is the group's committed lag by topic and partition, in
	// records (shareLoop; nil until read): each partition's claim on the
	// org's calls.
	backlog atomic.Pointer[map[string]map[int32]int64]
	// groupLag is the group's committed lag by topic and partition as the
	// brokers report it (shareLoop; nil until read), for the commit lag of
	// partitions this assignment has not fetched from yet.
	groupLag atomic.Pointer[map[string]map[int32]int64]
	batches  *batcher.Batcher[delivery.Source]
	// delivery are the Sender's options; Run creates the
	// Sender and the dead-letter producer once the dead-letter topic's limit
	// is known (prepareTopics).
	delivery delivery.Options
	sender   *delivery.Sender
	credits  *delivery.Credits
	producer *kgo.Client
	m        *metrics
	reg      *prometheus.Registry

	// rejects bounds records waiting for a dead-letter write issued by the
	// poll loop; rejectsFreed wakes the poll loop when one ends.
	rejects      chan struct{}
	rejectsFreed chan struct{}
	rejectsWG    sync.WaitGroup
	// rejectsBytes is the memory those records hold (polledRecord.held),
	// kept within the batcher's MaxBufferedBytes as the batcher keeps its
	// items.
	rejectsBytes atomic.Int64
	commitMu     sync.Mutex

	stateMu   sync.Mutex
	pausedFor map[delivery.PauseReason]bool
	configErr error
	// missingSources are the source topics that do not exist (last check).
	missingSources []string
	// kafkaErr is the last error fetching or joining the group returned, nil
	// once a broker answers again; kafkaDown mirrors kafkaErr != nil for the
	// per-response fast path.
	kafkaErr  error
	kafkaDown atomic.Bool
	// kafkaOK is when a broker last answered a fetch or heartbeat (UnixNano; 0: never).
	kafkaOK atomic.Int64
	running atomic.Bool
	// started is set once Run's checks before the first poll passed.
	started atomic.Bool
	// closing is set once in-flight work was finished or abandoned at
	// shutdown, so that the revocation that Close triggers does not wait again.
	closing atomic.Bool
	// hooksMu guards hooksOff: franz-go may still run a broker hook (a dial
	// that was under way) after Close returned; once Run set hooksOff, hooks
	// neither log nor change readiness, and Run waits for those running.
	hooksMu  sync.RWMutex
	hooksOff bool
}

// New validates the options and connects a franz-go client (cooperative-sticky
// consumer group, manual commits). It does not start consuming: call Run.
func New(o Options) (*Pipeline, error) {
	problems := o.check()
	if len(o.Brokers) == 0 {
		problems = append(problems, errors.New("no Kafka brokers"))
	}
	if o.DLQTopic == "" {
		problems = append(problems, errors.New("no dead-letter topic"))
	}
	fm, err := newFields(&o)
	if err != nil {
		problems = append(problems, err)
	}
	mapper, err := mapping.NewMapper(o.Mapping)
	if err != nil {
		problems = append(problems, err)
	}
	var saved *saver
	if o.CreditSaver {
		so := creditsaver.Options{Keys: o.CreditSaverKeys, TTL: o.CreditSaverTTL}
		if o.Clock != nil {
			so.Now = o.Clock.Now
		}
		cache, err := creditsaver.New[*watermark.Partition](so)
		if err != nil {
			problems = append(problems, fmt.Errorf("CreditSaverKeys, CreditSaverTTL: %w", err))
		}
		saved = &saver{cache: cache}
	}
	if len(o.Topics) == 0 {
		problems = append(problems, errors.New("no source topics"))
	}
	if o.Group == "" {
		problems = append(problems, errors.New("no consumer group"))
	}
	if slices.Contains(o.Topics, o.DLQTopic) {
		problems = append(problems, errors.New("the dead-letter topic must differ from the source topics"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("pipeline: %w", errors.Join(problems...))
	}
	p := &Pipeline{
		o:         o,
		log:       o.Logger,
		mapper:    mapper,
		saver:     saved,
		offsets:   watermark.New(),
		m:         newMetrics(),
		pausedFor: map[delivery.PauseReason]bool{},
		delivery:  o.DeliveryOptions(),
	}
	p.delivery.Observer = observer{p}
	if saved != nil {
		saved.m = p.m
		p.delivery.Memory = saved
	}
	p.credits = delivery.NewCredits(o.DailyCreditBudget, o.Clock)
	p.delivery.Credits = p.credits
	fm.mapper, p.fields = mapper, fm
	p.delivery.OnInvalidField = fm.stale
	if fm.cache != nil {
		p.delivery.Remap = fm.remap
	}
	p.m.tokens = o.Tokens
	p.reg = newRegistry(p.m)
	p.reg.MustRegister(creditCollector{p.credits})
	p.reg.MustRegister(fm.collectors()...)
	// One batch more than the calls allowed at once: encoded and waiting for
	// the next free call slot, so that no slot idles while the next batch
	// is handed over (see observer.ConcurrencyLimit).
	bc := o.Batch
	bc.MaxInFlight++
	if bc.MaxBufferedBytes == 0 && o.FetchMaxBytes > 0 {
		bc.MaxBufferedBytes = heldPastPollPerFetch * int(o.FetchMaxBytes)
	}
	p.batches = batcher.New(bc, p.send)
	p.rejects = make(chan struct{}, p.batches.Config().MaxBuffered)
	p.rejectsFreed = make(chan struct{}, 1)
	p.m.batcherStats = func() (int, int, int) { s := p.batches.Stats(); return s.InFlight, s.Held, p.batches.MaxInFlight() - 1 }
	start := kgo.NewOffset().AtStart()
	if o.StartAtLatest {
		start = kgo.NewOffset().AtEnd()
	}
	opts := append([]kgo.Opt{kgo.SeedBrokers(o.Brokers...), kgo.ClientID(o.ClientID)},
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeResetOffset(start),
		kgo.ConsumeTopics(o.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(o.SessionTimeout),
		kgo.OnPartitionsAssigned(p.assigned),
		kgo.OnPartitionsRevoked(p.revoked),
		kgo.OnPartitionsLost(p.lost),
	)
	opts = append(opts, o.FetchOptions()...)
	opts = append(opts, o.KafkaOptions...)
	// After KafkaOptions: the hooks of a kafkaconn.Conn there see a failed
	// connection before brokerHook explains it (Options.ExplainKafka).
	p.fetchSize.configured = o.FetchMaxBytes
	opts = append(opts, kgo.WithHooks(brokerHook{p}))
	p.cl, err = kgo.NewClient(append(opts, p.fetchSize.options()...)...)
	if err != nil {
		p.batches.Close()
		return nil, fmt.Errorf("pipeline: kafka client: %w", err)
	}
	p.m.fetchBytes.Set(float64(p.fetchSize.attach(p.cl)))
	return p, nil
}

// FetchOptions are the franz-go options of o that size fetching:
// kgo.FetchMaxWait, and when FetchMaxBytes is set kgo.FetchMaxBytes and
// kgo.FetchMaxPartitionBytes at fetchPartitionShare of it, so that a fetch
// holds several partitions' records (a broker fills a response from one
// partition when it has enough, and the poll loop can only share what one
// poll holds between partitions). A consumer compared with the pipeline
// (BenchmarkConsumeBaseline) fetches with these too.
func (o Options) FetchOptions() []kgo.Opt {
	opts := []kgo.Opt{kgo.FetchMaxWait(time.Second)}
	if o.FetchMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(o.FetchMaxBytes), kgo.FetchMaxPartitionBytes(partitionFetchBytes(o.FetchMaxBytes)))
	}
	return opts
}

// fetchPartitionShare is how many partitions' records at least one fetch
// holds when they all have a backlog: each gets at most 1/fetchPartitionShare
// of FetchMaxBytes (128 KiB with the 512 KiB default; a record batch larger
// than that still comes whole).
const fetchPartitionShare = 4

// partitionFetchBytes is a partition's share of a fetch of fetchMax bytes.
func partitionFetchBytes(fetchMax int32) int32 { return max(fetchMax/fetchPartitionShare, 1) }

// DeliveryOptions are the delivery.Sender options of o: Zoho, Module,
// DuplicateCheckFields, Trigger, MaxInFlight (Batch.MaxInFlight), the retry and breaker settings and Logger
// (dead-letter writer, DLQLimit and Observer unset).
func (o Options) DeliveryOptions() delivery.Options {
	return delivery.Options{
		Zoho: o.Zoho, Module: o.Module, DuplicateCheckFields: o.DuplicateCheckFields, Trigger: o.Trigger,
		MaxInFlight:  o.Batch.MaxInFlight,
		RetryInitial: o.RetryInitial, RetryMax: o.RetryMax, ThrottleBackoff: o.ThrottleBackoff,
		BreakerFailures: o.BreakerFailures, BreakerOpenTimeout: o.BreakerOpenTimeout,
		Logger: o.Logger,
	}
}

// send is the batcher's SendFunc: the Sender, created before the first poll.
func (p *Pipeline) send(ctx context.Context, b *batcher.Batch[delivery.Source]) {
	p.sender.Send(ctx, b)
}

// finalCommitTimeout bounds the commit after the shutdown grace, so that
// shutdown takes at most ShutdownGrace plus a few seconds in every state.
const finalCommitTimeout = 3 * time.Second

// Run consumes until ctx ends, then shuts down: it stops fetching, ends every
// retry wait at once (backoff, throttle, breaker, dead-letter retries), waits up
// to ShutdownGrace for the Zoho calls and dead-letter writes under way, cuts
// off what is still running, commits what is done, leaves the group and closes
// the client. Records not acknowledged stay uncommitted: the next run delivers
// them. It returns nil after a clean shutdown, or the configuration error that
// stopped delivery.
func (p *Pipeline) Run(ctx context.Context) error {
	p.running.Store(true)
	p.updateReady()
	// background: the loops that run beside polling (commits, metadata,
	// topic checks, shares); Run waits for them all before it commits last.
	var background sync.WaitGroup
	commitCtx, stopCommits := context.WithCancel(context.Background())
	background.Go(func() { p.commitLoop(commitCtx) })
	prepared, err := p.prepareTopics(ctx)
	if err == nil && prepared {
		err = p.checkCredentials(ctx)
	}
	if err != nil {
		p.fail(err)
		<-ctx.Done() // as after any configuration error: not ready until stopped
		prepared = false
	}
	if prepared {
		p.fields.start(ctx)
		p.started.Store(true)
		p.updateReady()
		background.Go(func() { p.fields.run(commitCtx) })
		background.Go(func() { p.watchTopics(commitCtx) })
		background.Go(func() { p.shareLoop(commitCtx) })
		p.log.Info("consuming", zap.Strings("topics", p.o.Topics), zap.String("group", p.o.Group), zap.String("module", p.o.Module),
			zap.Bool("credit_saver", p.saver != nil))
		p.pollLoop(ctx)
	}

	p.log.Info("shutting down: fetching stopped, no retries; calls under way may finish", zap.Duration("grace", p.o.ShutdownGrace))
	p.running.Store(false)
	p.updateReady()
	p.cl.PauseFetchTopics(p.o.Topics...)
	if p.sender != nil {
		p.sender.Stop()  // waits and retries end now; no new attempt starts
		if !p.failed() { // after a configuration error nothing in flight can finish
			grace, cancel := context.WithTimeout(context.Background(), p.o.ShutdownGrace)
			p.finishInFlight(grace)
			cancel()
		}
		p.sender.Abandon()
	}
	stopCommits()
	background.Wait()
	final, cancel := context.WithTimeout(context.Background(), finalCommitTimeout)
	p.commit(final, nil)
	cancel()
	p.closing.Store(true)
	p.cl.Close() // leaves the group; the revoke callback only commits what is left
	p.hooksMu.Lock()
	p.hooksOff = true
	p.hooksMu.Unlock()
	if p.producer != nil {
		p.producer.Close()
	}
	p.batches.Close()
	p.log.Info("stopped", zap.Any("stats", p.Stats()))
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.configErr
}

// finishInFlight waits, until ctx ends, for the batcher and the poll loop's
// dead-letter writes to hold nothing. Called once the Sender stopped, it waits
// only for attempts under way: batches not yet sent, or waiting to retry,
// end at once.
func (p *Pipeline) finishInFlight(ctx context.Context) {
	if err := p.batches.Drain(ctx); err != nil {
		p.log.Warn("calls under way abandoned at the end of the grace; their records stay uncommitted and will be consumed again", zap.Error(err))
	}
	done := make(chan struct{})
	go func() { p.rejectsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// checkCredentials asks Options.Credentials for an access token and returns
// the error when it is a configuration error (zohoapi.ClassConfig: a wrong
// client secret, a revoked refresh token, a data-center mismatch). Any other
// failure (Zoho unreachable, the mint budget spent) is logged: delivery
// retries it as usual.
func (p *Pipeline) checkCredentials(ctx context.Context) error {
	if p.o.Credentials == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := p.o.Credentials.Token(ctx)
	switch {
	case err == nil:
		return nil
	case zohoapi.Classify(err) == zohoapi.ClassConfig:
		return fmt.Errorf("zoho credentials: %w", err)
	}
	p.log.Warn("could not get a Zoho access token at start; delivery retries", zap.Error(err))
	return nil
}

// Stats returns what the pipeline has done so far.
func (p *Pipeline) Stats() Stats { return p.m.snapshot() }

// Ready returns nil while the pipeline consumes and delivers normally, or a
// *NotReadyError saying why it does not.
func (p *Pipeline) Ready() error {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	if r := p.readyLocked(); r != nil {
		return r
	}
	return nil
}

func (p *Pipeline) readyLocked() *NotReadyError {
	switch {
	case p.configErr != nil:
		return &NotReadyError{Reason: NotReadyConfig, Err: p.configErr}
	case !p.running.Load():
		return &NotReadyError{Reason: NotReadyStopped}
	case p.kafkaErr != nil:
		return &NotReadyError{Reason: NotReadyKafka, Err: p.kafkaErr}
	case len(p.missingSources) > 0:
		return &NotReadyError{Reason: NotReadyMissingTopics, Err: &MissingTopicsError{Topics: slices.Clone(p.missingSources)}}
	case !p.started.Load():
		return &NotReadyError{Reason: NotReadyStarting}
	case len(p.pausedFor) > 0:
		paused := make([]delivery.PauseReason, 0, len(p.pausedFor))
		for r := range p.pausedFor {
			paused = append(paused, r)
		}
		slices.Sort(paused)
		return &NotReadyError{Reason: NotReadyPaused, Paused: paused}
	}
	return nil
}

func (p *Pipeline) updateReady() {
	p.stateMu.Lock()
	ready := p.readyLocked() == nil
	p.stateMu.Unlock()
	if ready {
		p.m.ready.Set(1)
	} else {
		p.m.ready.Set(0)
	}
}

// Handler serves /healthz (200 while the process runs), /readyz (200 while
// Ready is nil, else 503 with the reason) and /metrics (Prometheus).
func (p *Pipeline) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := p.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}))
	return mux
}

// setPaused adds or removes a reason to pause fetching, pausing or resuming
// all source topics on the first reason added or the last one removed, and
// logging each change once.
func (p *Pipeline) setPaused(reason delivery.PauseReason, on bool, cause error) {
	p.stateMu.Lock()
	if p.pausedFor[reason] == on {
		p.stateMu.Unlock()
		return
	}
	if on {
		p.pausedFor[reason] = true
	} else {
		delete(p.pausedFor, reason)
	}
	n := len(p.pausedFor)
	p.stateMu.Unlock()
	switch {
	case on && n == 1:
		p.cl.PauseFetchTopics(p.o.Topics...)
		p.m.paused.Set(1)
		p.log.Warn("fetching paused", zap.String("reason", string(reason)), zap.Error(cause))
	case on:
		p.log.Warn("fetching stays paused", zap.String("reason", string(reason)), zap.Error(cause))
	case n == 0:
		p.cl.ResumeFetchTopics(p.o.Topics...)
		p.m.paused.Set(0)
		p.log.Info("fetching resumed", zap.String("cleared", string(reason)))
	default:
		p.log.Info("pause reason cleared, fetching stays paused", zap.String("cleared", string(reason)))
	}
	p.updateReady()
}

// fail stops delivery after an error no retry fixes: logged once, fetching
// paused, nothing committed from now on, /readyz failing.
func (p *Pipeline) fail(err error) {
	p.stateMu.Lock()
	first := p.configErr == nil
	if first {
		p.configErr = err
	}
	p.stateMu.Unlock()
	if first {
		p.log.Error("configuration error: delivery stopped, nothing more is committed; fix the configuration and restart", zap.Error(err))
		p.setPaused(delivery.PauseConfig, true, err)
	}
}

func (p *Pipeline) failed() bool {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.configErr != nil
}

// kafkaOutageAfter is how long no broker may answer a fetch or heartbeat before
// a connection or fetch error counts as a Kafka outage (a broker that is
// merely restarting in a healthy cluster does not).
const kafkaOutageAfter = 10 * time.Second

// kafkaFailed reports a fetch, group or connection error: an outage when no
// broker answered for kafkaOutageAfter.
func (p *Pipeline) kafkaFailed(err error) {
	if ok := p.kafkaOK.Load(); ok == 0 || time.Since(time.Unix(0, ok)) > kafkaOutageAfter {
		p.setKafkaErr(err)
	}
}

// setKafkaErr records that Kafka is unreachable (err) or that a broker
// answered again (nil), logging each change once; readiness follows it.
func (p *Pipeline) setKafkaErr(err error) {
	if err == nil && !p.kafkaDown.Load() {
		return // the common case: every fetch response while all is well
	}
	err = p.explainKafka(err)
	p.stateMu.Lock()
	wasDown := p.kafkaErr != nil
	p.kafkaErr = err
	p.kafkaDown.Store(err != nil)
	p.stateMu.Unlock()
	switch {
	case err != nil && !wasDown:
		p.log.Warn("kafka unreachable: not ready until a broker answers", zap.Error(err))
	case err == nil && wasDown:
		p.log.Info("kafka reachable again")
	}
	p.updateReady()
}

// explainKafka is Options.ExplainKafka of err (err itself without one).
func (p *Pipeline) explainKafka(err error) error {
	if err == nil || p.o.ExplainKafka == nil {
		return err
	}
	return p.o.ExplainKafka(err)
}

// brokerHook learns from franz-go whether brokers answer: a fetch or heartbeat
// answered ends a Kafka outage, failed connections may start one. After Run
// returned it does nothing.
type brokerHook struct{ p *Pipeline }

// OnBrokerRead implements kgo.HookBrokerRead.
func (h brokerHook) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if k := kmsg.Key(key); err == nil && (k == kmsg.Fetch || k == kmsg.Heartbeat) {
		h.p.hooksMu.RLock()
		defer h.p.hooksMu.RUnlock()
		if !h.p.hooksOff {
			h.p.kafkaOK.Store(time.Now().UnixNano())
			h.p.setKafkaErr(nil)
		}
	}
}

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (h brokerHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.p.hooksMu.RLock()
		defer h.p.hooksMu.RUnlock()
		if !h.p.hooksOff {
			h.p.kafkaFailed(err)
		}
	}
}

// breakerChanged logs a circuit breaker transition, pauses fetching while the
// breaker is open (resumes once it closed) and counts the transition.
func (p *Pipeline) breakerChanged(from, to gobreaker.State, cause error) {
	fields := []zap.Field{zap.String("from", from.String()), zap.String("to", to.String())}
	if cause != nil {
		fields = append(fields, zap.NamedError("cause", cause))
	}
	p.log.Warn("zoho circuit breaker", fields...)
	switch to {
	case gobreaker.StateOpen:
		p.setPaused(delivery.PauseBreakerOpen, true, nil)
	case gobreaker.StateClosed:
		p.setPaused(delivery.PauseBreakerOpen, false, nil)
	}
	p.m.breakerEntered(to) // after readiness: a scrape counting the opening sees it not ready
}

// commitLoop commits done offsets every CommitInterval and publishes commit lag.
func (p *Pipeline) commitLoop(ctx context.Context) {
	every(ctx, p.o.CommitInterval, func() {
		p.commit(ctx, nil)
		p.publishLags()
	})
}

// publishLags publishes every assigned partition's lag: the tracker's, or
// for a partition it has not fetched from yet the group's committed lag
// last read from the brokers (shareLoop), or no commit-lag series at all
// while neither is known.
func (p *Pipeline) publishLags() {
	var group map[string]map[int32]int64
	if g := p.groupLag.Load(); g != nil {
		group = *g
	}
	p.m.setLags(p.offsets.Lags(), group, time.Now())
}

// every calls fn every d (the first time d from now) until ctx ends; a call
// under way when it ends finishes first. The background loops of Run are
// made of it.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// commit commits the done offsets of the given partitions (all assigned ones
// when nil) that moved since the last commit. Nothing is committed after a
// configuration error.
func (p *Pipeline) commit(ctx context.Context, only map[string][]int32) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if p.failed() {
		return
	}
	offsets := p.offsets.ToCommit(only)
	if len(offsets) == 0 {
		return
	}
	p.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				p.m.observeCommit(false)
				p.log.Warn("commit failed; it is retried at the next interval", zap.Error(err))
			}
			return
		}
		refused := false
		defer func() { p.m.observeCommit(!refused) }()
		ok := make(map[string]map[int32]kgo.EpochOffset)
		for _, t := range resp.Topics {
			for _, pt := range t.Partitions {
				if pt.ErrorCode != 0 {
					p.log.Warn("commit refused for a partition", zap.String("topic", t.Topic), zap.Int32("partition", pt.Partition), zap.Int16("error_code", pt.ErrorCode))
					refused = true
					continue
				}
				if ok[t.Topic] == nil {
					ok[t.Topic] = map[int32]kgo.EpochOffset{}
				}
				ok[t.Topic][pt.Partition] = offsets[t.Topic][pt.Partition]
			}
		}
		p.offsets.Committed(ok)
	})
}

func (p *Pipeline) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	p.offsets.Assign(assigned)
	p.updateShare(ctx, cl)
	p.publishLags() // the new partitions' series exist from now
	p.log.Info("rebalance: partitions assigned", zap.Any("partitions", assigned))
}

// revoked runs between polls (BlockRebalanceOnPoll): it releases the revoked
// partitions (no attempt starts with their records, their retry waits end),
// waits up to ShutdownGrace for the attempts under way that hold their records
// (other partitions' work is not waited for), commits what is done for them,
// and forgets them, so late answers cannot move their offsets and calls
// holding nothing else are cut off.
func (p *Pipeline) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if len(revoked) == 0 {
		return
	}
	p.log.Info("rebalance: partitions revoked", zap.Any("partitions", revoked))
	parts := p.offsets.Release(revoked)
	if !p.closing.Load() {
		grace, cancel := context.WithTimeout(ctx, p.o.ShutdownGrace)
		if err := watermark.WaitIdle(grace, parts); err != nil {
			p.log.Warn("rebalance: calls under way for revoked partitions abandoned at the end of the grace; their records stay uncommitted", zap.Error(err))
		}
		cancel()
	}
	p.commit(ctx, revoked)
	p.offsets.Forget(revoked)
	p.updateShare(ctx, cl)
}

// lost forgets partitions without committing: another member may own them already.
func (p *Pipeline) lost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	if len(lost) == 0 {
		return
	}
	p.log.Warn("rebalance: partitions lost; nothing is committed for them", zap.Any("partitions", lost))
	p.offsets.Forget(lost)
	p.updateShare(ctx, cl)
}
