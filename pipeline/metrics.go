package pipeline

import (
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
}

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
	consumed, delivered, inserted, updated      atomic.Int64
	zohoCalls, recordsSent, answered, credits   atomic.Int64
	retries                                     atomic.Int64
	mu                                          sync.Mutex
	dropped, deadLettered                       map[string]int64
	callDuration                                *prometheus.HistogramVec
	batchRecords                                prometheus.Histogram
	breakerState, ready, paused                 prometheus.Gauge
	commitLag                                   *prometheus.GaugeVec
	topicMissing, dlqTooSmall                   *prometheus.GaugeVec
	dlqMaxBytes                                 prometheus.Gauge
	descConsumed, descDropped, descDelivered    *prometheus.Desc
	descDLQ, descCalls, descCredits, descUpsert *prometheus.Desc
	descRetries                                 *prometheus.Desc
}

func newMetrics() *metrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("zohosink_"+name, help, labels, nil)
	}
	return &metrics{
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
		paused:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "zohosink_fetch_paused", Help: "1 while fetching is paused (breaker open, Zoho throttling, dead-letter topic unavailable, configuration error)."}),
		commitLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zohosink_commit_lag_records",
			Help: "Records between the committed offset and the log end seen by the last fetch, per partition.",
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
		descConsumed:  d("records_consumed_total", "Records fetched from the source topics."),
		descDropped:   d("records_dropped_total", "Records dropped without reaching Zoho, by reason.", "reason"),
		descDelivered: d("records_delivered_total", "Records whose Zoho record was acknowledged."),
		descDLQ:       d("records_dead_lettered_total", "Records written to the dead-letter topic, by error code.", "code"),
		descCalls:     d("zoho_calls_total", "Zoho upsert calls made, answered or not."),
		descCredits:   d("zoho_credits_used_total", "Zoho API credits spent by upsert calls (1 per 10 records)."),
		descUpsert:    d("zoho_records_upserted_total", "Zoho records acknowledged, by action.", "action"),
		descRetries:   d("zoho_retries_total", "Upsert attempts that failed transiently and were retried."),
	}
}

// dropReasonList orders the drop reasons for the per-poll counters.
var dropReasonList = [...]DropReason{DropTombstone, DropNotCRM, DropNoConsent}

// dropReasons is the number of drop reasons.
const dropReasons = len(dropReasonList)

// dropIndex is the position of r in dropReasonList.
func dropIndex(r DropReason) int {
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
	}
}

func (m *metrics) setLags(lags []lag) {
	m.commitLag.Reset()
	for _, l := range lags {
		m.commitLag.WithLabelValues(l.topic, strconv.Itoa(int(l.partition))).Set(float64(l.records))
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.descConsumed, m.descDropped, m.descDelivered, m.descDLQ, m.descCalls, m.descCredits, m.descUpsert, m.descRetries} {
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
	counter(m.descConsumed, s.Consumed)
	for r, v := range s.Dropped {
		counter(m.descDropped, v, r)
	}
	counter(m.descDelivered, s.Delivered)
	for c, v := range s.DeadLettered {
		counter(m.descDLQ, v, c)
	}
	counter(m.descCalls, s.ZohoCalls)
	counter(m.descCredits, s.CreditsUsed)
	counter(m.descUpsert, s.Inserted, "insert")
	counter(m.descUpsert, s.Updated, "update")
	counter(m.descRetries, s.Retries)
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.callDuration, m.batchRecords, m.breakerState, m.ready, m.paused, m.commitLag, m.topicMissing, m.dlqTooSmall, m.dlqMaxBytes}
}
