package pipeline

import (
	"maps"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
)

// Stats is a snapshot of what a Pipeline has done since it started. Counts are
// of source Kafka records unless the name says otherwise.
type Stats struct {
	// Consumed counts records fetched from the source topics.
	Consumed int64
	// Dropped counts records dropped without reaching Zoho, by reason
	// ("not_crm_event", "no_consent", "tombstone").
	Dropped map[string]int64
	// Delivered counts records whose Zoho record was acknowledged (inserted or updated).
	Delivered int64
	// Inserted and Updated count Zoho records (one per email per call), by the
	// action Zoho reported.
	Inserted, Updated int64
	// DeadLettered counts records written to the dead-letter topic, by error code.
	DeadLettered map[string]int64
	// ZohoCalls counts upsert calls made, including failed ones; RecordsSent
	// counts the Zoho records in the calls that Zoho answered per record.
	ZohoCalls, RecordsSent, AnsweredCalls int64
	// CreditsUsed counts Zoho API credits spent by answered upsert calls
	// (1 credit per 10 records, rounded up; Zoho doc "API limits").
	CreditsUsed int64
	// Retries counts upsert attempts that failed transiently and were retried.
	Retries int64
	// Skipped counts records not sent because Zoho had acknowledged an
	// identical record for their key (the credit saver); they are done.
	Skipped int64
	// CreditsSaved estimates the Zoho API credits the credit saver saved:
	// 1/10 credit per Zoho record not sent (records merged into one count
	// once), what a record costs in full batches of 100 (1 credit per 10
	// records; Zoho doc "API limits"). It is a lower bound when calls are
	// small: a record alone in its call costs a whole credit.
	CreditsSaved float64
}

// creditsSaved is the estimate of Stats.CreditsSaved for n Zoho records not
// sent: n/10, what they cost in full upsert calls (zohoapi.RecordsPerCredit),
// in tenths of a credit. Dividing keeps it the decimal it is (156 records:
// 15.6); multiplying by 0.1, which float64 cannot hold exactly, would log
// 15.600000000000001.
func creditsSaved(n int64) float64 { return float64(n) / zohoapi.RecordsPerCredit }

// RecordsPerCall is the mean number of Zoho records per answered upsert call.
func (s Stats) RecordsPerCall() float64 {
	if s.AnsweredCalls == 0 {
		return 0
	}
	return float64(s.RecordsSent) / float64(s.AnsweredCalls)
}

// DroppedTotal is the sum of Dropped over all reasons.
func (s Stats) DroppedTotal() int64 { return sum(s.Dropped) }

// DeadLetteredTotal is the sum of DeadLettered over all codes.
func (s Stats) DeadLetteredTotal() int64 { return sum(s.DeadLettered) }

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// metrics holds the pipeline's counters (the one source of truth for both Stats
// and /metrics) and its Prometheus histograms and gauges.
type metrics struct {
	consumed, delivered, inserted, updated    atomic.Int64
	zohoCalls, recordsSent, answered, credits atomic.Int64
	retries, skipped, skippedZoho             atomic.Int64
	mu                                        sync.Mutex
	dropped, deadLettered                     map[string]int64
	callDuration                              *prometheus.HistogramVec
	batchRecords                              prometheus.Histogram
	breakerState, ready, paused               prometheus.Gauge
	commitLag                                 *prometheus.GaugeVec
	topicMissing, dlqTooSmall                 *prometheus.GaugeVec
	dlqMaxBytes                               prometheus.Gauge
	// fetchBytes is the fetch size asked of the brokers (fetchSizer).
	fetchBytes                                  prometheus.Gauge
	descConsumed, descDropped, descDelivered    *prometheus.Desc
	descDLQ, descCalls, descCredits, descUpsert *prometheus.Desc
	descRetries, descSkipped, descSaved         *prometheus.Desc

	// Operator metrics beyond Stats (issue 12); every labelled series exists
	// at 0 from the start or from its partition's assignment.
	lagSeconds, lagShare           *prometheus.GaugeVec
	retention                      *prometheus.GaugeVec
	commits                        *prometheus.CounterVec
	lastCommit                     prometheus.Gauge
	dlqWrites                      *prometheus.CounterVec
	dlqWriteDuration               prometheus.Histogram
	breakerTransitions             *prometheus.CounterVec
	credits24h                     *rollingSum
	descCredits24h, descBuild      *prometheus.Desc
	descTokenMints, descTokenFails *prometheus.Desc
	descTokenExpiry                *prometheus.Desc
	descInFlight, descBuffered     *prometheus.Desc
	descCallLimit                  *prometheus.Desc
	buildLabels                    []string
	retentionByTopic               map[string]time.Duration // guarded by mu
	tokens                         TokenStats               // nil: token metrics stay 0
	batcherStats                   func() (inFlight, held, callLimit int)
}

// TokenStats is what the pipeline reports about the Zoho access token on
// /metrics; *zohoapi.TokenSource satisfies it.
type TokenStats interface {
	// Mints is the number of access tokens obtained from Zoho.
	Mints() int
	// RefreshFailures is the number of token requests that failed.
	RefreshFailures() int
	// Expiry is when the current access token expires (zero: none).
	Expiry() time.Time
}

func newMetrics() *metrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("zohosink_"+name, help, labels, nil)
	}
	m := &metrics{
		dropped:      map[string]int64{},
		deadLettered: map[string]int64{},
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zohosink_zoho_call_duration_seconds",
			Help:    "Latency of Zoho upsert calls, by HTTP status (\"error\" when no answer came).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}, []string{"status"}),
		batchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "zohosink_batch_records",
			Help:    "Zoho records per upsert call.",
			Buckets: []float64{1, 5, 10, 20, 50, 90, 99, 100},
		}),
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts{Name: "zohosink_breaker_state", Help: "Circuit breaker in front of Zoho: 0 closed, 1 half-open, 2 open."}),
		ready:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "zohosink_ready", Help: "1 while consuming and delivering normally (the /readyz answer)."}),
		paused:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "zohosink_fetch_paused", Help: "1 while fetching is paused (breaker open, Zoho throttling, API credits spent, dead-letter topic unavailable, configuration error)."}),
		commitLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_commit_lag_records",
			Help: "Records between the committed offset and the log end (the later of the last fetch's and the brokers' answer read every kafka.commit_interval), per partition; before this process has fetched from a partition, the group's lag as the brokers report it, and no series until then.",
		}, []string{"topic", "partition"}),
		topicMissing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_source_topic_missing",
			Help: "1 while a source topic (kafka.topics) does not exist: nothing is consumed from it.",
		}, []string{"topic"}),
		dlqTooSmall: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_dead_letter_topic_too_small",
			Help: "1 for each source topic whose max.message.bytes exceeds the dead-letter topic's: its largest records cannot be dead-lettered.",
		}, []string{"source_topic"}),
		dlqMaxBytes:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "zohosink_dead_letter_max_message_bytes", Help: "The dead-letter producer's record batch limit, in bytes (the dead-letter topic's max.message.bytes)."}),
		fetchBytes:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "zohosink_fetch_max_bytes", Help: "The fetch size asked of the brokers, in bytes as fetched (compressed): kafka.fetch_max_bytes, or less while fetched records hold more than 12 times that once decompressed."}),
		descConsumed:  d("records_consumed_total", "Records fetched from the source topics."),
		descDropped:   d("records_dropped_total", "Records dropped without reaching Zoho, by reason.", "reason"),
		descDelivered: d("records_delivered_total", "Records whose Zoho record was acknowledged."),
		descDLQ:       d("records_dead_lettered_total", "Records written to the dead-letter topic, by error code.", "code"),
		descCalls:     d("zoho_calls_total", "Zoho upsert calls made, answered or not."),
		descCredits:   d("zoho_credits_used_total", "Zoho API credits spent by upsert calls (1 per 10 records)."),
		descUpsert:    d("zoho_records_upserted_total", "Zoho records acknowledged, by action.", "action"),
		descRetries:   d("zoho_retries_total", "Upsert attempts that failed transiently and were retried."),
		descSkipped:   d("records_skipped_total", "Records not sent because Zoho had acknowledged an identical record for their key (delivery.credit_saver)."),
		descSaved:     d("zoho_credits_saved_total", "Estimated Zoho API credits saved by the credit saver: 0.1 per Zoho record not sent, the cost of a record in full batches."),

		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_consumer_lag_seconds",
			Help: "Age (now minus Kafka record timestamp) of the oldest fetched record not yet done, per partition; 0 when every fetched record is done.",
		}, []string{"topic", "partition"}),
		lagShare: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_consumer_lag_retention_ratio",
			Help: "zohosink_consumer_lag_seconds divided by the topic's retention.ms (read at start); 1 means the oldest undelivered record is due for deletion. 0 with unlimited or unknown retention.",
		}, []string{"topic", "partition"}),
		retention: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_topic_retention_seconds",
			Help: "retention.ms of each source topic as read at start, in seconds (-1: unlimited).",
		}, []string{"topic"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zohosink_commits_total",
			Help: "Offset commit requests, by outcome (ok: every partition accepted; failed: the request or a partition failed).",
		}, []string{"outcome"}),
		lastCommit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zohosink_last_commit_timestamp_seconds",
			Help: "Unix time of the last commit the group coordinator accepted (0: none yet).",
		}),
		dlqWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zohosink_dead_letter_writes_total",
			Help: "Dead-letter records produced, by outcome of each attempt (ok: acknowledged; failed: to be retried).",
		}, []string{"outcome"}),
		dlqWriteDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "zohosink_dead_letter_write_duration_seconds",
			Help:    "Latency of one dead-letter produce attempt (all records of the attempt).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		breakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zohosink_breaker_transitions_total",
			Help: "Circuit breaker state changes, by the state entered (closed, half-open, open).",
		}, []string{"to"}),
		credits24h:       newRollingSum(24*time.Hour, time.Minute),
		descCredits24h:   d("zoho_credits_used_24h", "Zoho API credits spent by this process's upsert calls in the last 24 hours (Zoho's limit is per rolling 24 h)."),
		descBuild:        d("build_info", "Always 1; the labels name the build.", "version", "goversion", "revision"),
		descTokenMints:   d("zoho_token_mints_total", "Zoho access tokens minted (refresh-token grants that succeeded)."),
		descTokenFails:   d("zoho_token_refresh_failures_total", "Zoho access token requests that failed (throttled, refused or unanswered)."),
		descTokenExpiry:  d("zoho_token_expiry_seconds", "Seconds until the current Zoho access token expires; 0 when there is none."),
		descInFlight:     d("batches_in_flight", "Upsert batches being delivered, each holding a delivery.max_in_flight slot: calling Zoho, waiting to retry, or waiting for API credits (zohosink_delivery_concurrency_limit bounds the calls at once)."),
		descBuffered:     d("records_buffered", "Records held by the batcher (open, waiting and in flight), at most batch.max_buffered."),
		descCallLimit:    d("delivery_concurrency_limit", "Upsert calls allowed at once now: the adaptive limit (cut on Zoho's concurrency 429s, grown on answers), 1..delivery.max_in_flight."),
		buildLabels:      buildLabels(),
		retentionByTopic: map[string]time.Duration{},
	}
	for _, o := range []string{outcomeOK, outcomeFailed} {
		m.commits.WithLabelValues(o)
		m.dlqWrites.WithLabelValues(o)
	}
	for _, st := range []gobreaker.State{gobreaker.StateClosed, gobreaker.StateHalfOpen, gobreaker.StateOpen} {
		m.breakerTransitions.WithLabelValues(st.String())
	}
	return m
}

// Outcome label values.
const (
	outcomeOK     = "ok"
	outcomeFailed = "failed"
)

// knownCodes are the dead-letter codes whose series exist from the start
// (DeadLetterCodes).
var knownCodes = DeadLetterCodes()

// DeadLetterCodes returns the error.code values the pipeline writes to the
// dead-letter topic, each once: the local rejections (mapping.CodeDecodeError,
// mapping.CodeMissingEmail, delivery.CodeRequestRejected), then Zoho's
// documented record rejections (zohoapi.PermanentCodes). A request Zoho
// rejects as a whole with a code it does not document is dead-lettered with
// that code, so a topic may hold others. A new slice each call.
func DeadLetterCodes() []string {
	return append([]string{mapping.CodeDecodeError, mapping.CodeMissingEmail, delivery.CodeRequestRejected}, zohoapi.PermanentCodes()...)
}

// buildLabels are the labels of zohosink_build_info: the main module's version,
// the Go version and the VCS revision ("unknown" when not stamped).
func buildLabels() []string {
	version, revision := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	return []string{version, runtime.Version(), revision}
}

// newRegistry is the registry /metrics serves: the pipeline's metrics and the
// Go runtime and process collectors.
func newRegistry(m *metrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// addCredits counts credits spent by an answered upsert call.
func (m *metrics) addCredits(n int) {
	m.credits.Add(int64(n))
	m.credits24h.add(time.Now(), int64(n))
}

// observeCommit counts one commit request and, when it succeeded, its time.
func (m *metrics) observeCommit(ok bool) {
	if !ok {
		m.commits.WithLabelValues(outcomeFailed).Inc()
		return
	}
	m.commits.WithLabelValues(outcomeOK).Inc()
	m.lastCommit.SetToCurrentTime()
}

// observeDLQAttempt is the dead-letter writer's attempt hook.
func (m *metrics) observeDLQAttempt(acked, failed int, took time.Duration) {
	m.dlqWrites.WithLabelValues(outcomeOK).Add(float64(acked))
	m.dlqWrites.WithLabelValues(outcomeFailed).Add(float64(failed))
	m.dlqWriteDuration.Observe(took.Seconds())
}

// breakerEntered counts a circuit breaker transition and sets the state gauge.
func (m *metrics) breakerEntered(to gobreaker.State) {
	m.breakerTransitions.WithLabelValues(to.String()).Inc()
	switch to {
	case gobreaker.StateOpen:
		m.breakerState.Set(2)
	case gobreaker.StateHalfOpen:
		m.breakerState.Set(1)
	case gobreaker.StateClosed:
		m.breakerState.Set(0)
	}
}

// setRetention records the source topics' retention.ms (negative: unlimited).
func (m *metrics) setRetention(r map[string]time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for topic, d := range r {
		m.retentionByTopic[topic] = d
		if d < 0 {
			m.retention.WithLabelValues(topic).Set(-1)
		} else {
			m.retention.WithLabelValues(topic).Set(d.Seconds())
		}
	}
}

// dropReasonList orders the drop reasons for the per-poll counters.
var dropReasonList = [...]mapping.DropReason{mapping.DropTombstone, mapping.DropNotCRM, mapping.DropNoConsent}

// dropReasons is the number of drop reasons.
const dropReasons = len(dropReasonList)

// dropIndex is the position of r in dropReasonList.
func dropIndex(r mapping.DropReason) int {
	for i, x := range dropReasonList {
		if x == r {
			return i
		}
	}
	panic("pipeline: unknown drop reason " + string(r))
}

// addDropped adds one poll's drop counts, indexed like dropReasonList.
func (m *metrics) addDropped(counts [dropReasons]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, n := range counts {
		if n > 0 {
			m.dropped[string(dropReasonList[i])] += n
		}
	}
}

func (m *metrics) addDeadLettered(code string, n int64) {
	m.mu.Lock()
	m.deadLettered[code] += n
	m.mu.Unlock()
}

func (m *metrics) observeCall(status string, d time.Duration) {
	m.zohoCalls.Add(1)
	m.callDuration.WithLabelValues(status).Observe(d.Seconds())
}

func (m *metrics) snapshot() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{
		Consumed:      m.consumed.Load(),
		Dropped:       maps.Clone(m.dropped),
		Delivered:     m.delivered.Load(),
		Inserted:      m.inserted.Load(),
		Updated:       m.updated.Load(),
		DeadLettered:  maps.Clone(m.deadLettered),
		ZohoCalls:     m.zohoCalls.Load(),
		RecordsSent:   m.recordsSent.Load(),
		AnsweredCalls: m.answered.Load(),
		CreditsUsed:   m.credits.Load(),
		Retries:       m.retries.Load(),
		Skipped:       m.skipped.Load(),
		CreditsSaved:  creditsSaved(m.skippedZoho.Load()),
	}
}

// setLags publishes every assigned partition's lag, in records and in time
// (and as a share of its topic's retention); partitions no longer assigned
// lose their series. The commit lag of a partition whose lag is not Known
// is the group's from group (topic → partition → records), and has no
// series while group lacks it: no series rather than a wrong 0 or log end.
func (m *metrics) setLags(lags []watermark.Lag, group map[string]map[int32]int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range []*prometheus.GaugeVec{m.commitLag, m.lagSeconds, m.lagShare} {
		v.Reset()
	}
	for _, l := range lags {
		part := strconv.Itoa(int(l.Partition))
		if !l.Known {
			l.Records, l.Known = group[l.Topic][l.Partition]
		}
		if l.Known {
			m.commitLag.WithLabelValues(l.Topic, part).Set(float64(l.Records))
		}
		age := time.Duration(0)
		if !l.Oldest.IsZero() {
			age = max(now.Sub(l.Oldest), 0)
		}
		m.lagSeconds.WithLabelValues(l.Topic, part).Set(age.Seconds())
		share := 0.0
		if r := m.retentionByTopic[l.Topic]; r > 0 {
			share = age.Seconds() / r.Seconds()
		}
		m.lagShare.WithLabelValues(l.Topic, part).Set(share)
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.descConsumed, m.descDropped, m.descDelivered, m.descDLQ, m.descCalls, m.descCredits, m.descUpsert, m.descRetries, m.descSkipped, m.descSaved,
		m.descCredits24h, m.descBuild, m.descTokenMints, m.descTokenFails, m.descTokenExpiry, m.descInFlight, m.descBuffered, m.descCallLimit} {
		ch <- d
	}
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.snapshot()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(m.descConsumed, s.Consumed)
	for _, r := range dropReasonList {
		if _, ok := s.Dropped[string(r)]; !ok {
			s.Dropped[string(r)] = 0 // every reason's series exists from the start
		}
	}
	for r, v := range s.Dropped {
		counter(m.descDropped, v, r)
	}
	counter(m.descDelivered, s.Delivered)
	for _, c := range knownCodes {
		if _, ok := s.DeadLettered[c]; !ok {
			s.DeadLettered[c] = 0
		}
	}
	for c, v := range s.DeadLettered {
		counter(m.descDLQ, v, c)
	}
	counter(m.descCalls, s.ZohoCalls)
	counter(m.descCredits, s.CreditsUsed)
	counter(m.descUpsert, s.Inserted, "insert")
	counter(m.descUpsert, s.Updated, "update")
	counter(m.descRetries, s.Retries)
	counter(m.descSkipped, s.Skipped)
	ch <- prometheus.MustNewConstMetric(m.descSaved, prometheus.CounterValue, s.CreditsSaved)
	now := time.Now()
	gauge(m.descCredits24h, float64(m.credits24h.sum(now)))
	gauge(m.descBuild, 1, m.buildLabels...)
	var mints, fails int
	var expiresIn time.Duration
	if m.tokens != nil {
		mints, fails = m.tokens.Mints(), m.tokens.RefreshFailures()
		if e := m.tokens.Expiry(); !e.IsZero() {
			expiresIn = max(e.Sub(now), 0)
		}
	}
	counter(m.descTokenMints, int64(mints))
	counter(m.descTokenFails, int64(fails))
	gauge(m.descTokenExpiry, expiresIn.Seconds())
	var inFlight, held, callLimit int
	if m.batcherStats != nil {
		inFlight, held, callLimit = m.batcherStats()
	}
	gauge(m.descInFlight, float64(inFlight))
	gauge(m.descBuffered, float64(held))
	gauge(m.descCallLimit, float64(callLimit))
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.callDuration, m.batchRecords, m.breakerState, m.ready, m.paused, m.commitLag,
		m.topicMissing, m.dlqTooSmall, m.dlqMaxBytes, m.fetchBytes,
		m.lagSeconds, m.lagShare, m.retention, m.commits, m.lastCommit, m.dlqWrites, m.dlqWriteDuration, m.breakerTransitions}
}

// rollingSum sums values added over the last window, in buckets of step: a
// value leaves the sum between window-step and window after it was added.
// Safe for concurrent use.
type rollingSum struct {
	mu      sync.Mutex
	step    time.Duration
	buckets []int64
	// last is the bucket number (time / step) of the newest bucket written.
	last int64
}

func newRollingSum(window, step time.Duration) *rollingSum {
	return &rollingSum{step: step, buckets: make([]int64, int(window/step))}
}

// advance clears the buckets that fell out of the window by now. Called with mu held.
func (r *rollingSum) advance(now time.Time) int64 {
	n := now.UnixNano() / int64(r.step)
	if gap := n - r.last; gap > 0 {
		for i := int64(1); i <= min(gap, int64(len(r.buckets))); i++ {
			r.buckets[(r.last+i)%int64(len(r.buckets))] = 0
		}
		r.last = n
	}
	return n
}

func (r *rollingSum) add(now time.Time, v int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.advance(now)
	r.buckets[n%int64(len(r.buckets))] += v
}

func (r *rollingSum) sum(now time.Time) (total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(now)
	for _, v := range r.buckets {
		total += v
	}
	return total
}
