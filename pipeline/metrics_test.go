package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// scrape is one /metrics answer: the text and its parsed families.
type scrape struct {
	text     []byte
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t *testing.T, h http.Handler) scrape {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return scrape{text: body, families: fams}
}

// value returns the value of the series of family name whose labels include
// want, and whether there is one.
func (s scrape) value(name string, want map[string]string) (float64, bool) {
	f, ok := s.families[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// promtool returns the path of promtool, or skips the test (fails it under CI=true).
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found and CI=true (apt-get install prometheus)")
		}
		t.Skip("promtool not found (apt-get install prometheus); skipping the lint of /metrics")
	}
	return path
}

// TestMetricsOperatorsNeed: a live /metrics has the Go runtime and process
// metrics, build info, token, commit, dead-letter, breaker, batcher, credit
// and lag series, with every known label value present at 0 before its first
// event; promtool check metrics finds nothing to complain about; and every
// metric the alerts and the dashboard use is among them.
func TestMetricsOperatorsNeed(t *testing.T) {
	h := newHarness(t, 2, zohosim.Options{})
	h.produce(
		event("identify", "", map[string]any{"email": "ops@example.com", "lastName": "Ops", "company": "C"}, nil, "ops-1"),
		event("track", "Signed Up", map[string]any{"lastName": "NoEmail"}, nil, "ops-2"), // MISSING_EMAIL
		event("page", "", nil, nil, "ops-3"),
	)
	o := h.options()
	o.Tokens = o.Zoho.(*zohoapi.Client).Tokens()
	r := h.start(o)
	h.waitCommitted(30 * time.Second)
	var s scrape
	h.eventually(10*time.Second, "the last commit shows on /metrics", func() bool {
		s = scrapeMetrics(t, r.p.Handler())
		v, _ := s.value("zohosink_last_commit_timestamp_seconds", nil)
		return v > 0
	})

	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if _, ok := s.families[name]; !ok {
			t.Errorf("%s missing: no Go runtime or process collector", name)
		}
	}
	if _, ok := s.value("zohosink_build_info", map[string]string{"goversion": runtime.Version()}); !ok {
		t.Errorf("zohosink_build_info{goversion=%q} missing", runtime.Version())
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
		what   string
	}{
		{"zohosink_records_dead_lettered_total", map[string]string{"code": "MISSING_EMAIL"}, eq(1), "1"},
		{"zohosink_records_dead_lettered_total", map[string]string{"code": "MANDATORY_NOT_FOUND"}, eq(0), "0 before any"},
		{"zohosink_records_dead_lettered_total", map[string]string{"code": "DECODE_ERROR"}, eq(0), "0 before any"},
		{"zohosink_records_dropped_total", map[string]string{"reason": "not_crm_event"}, eq(1), "1"},
		{"zohosink_records_dropped_total", map[string]string{"reason": "no_consent"}, eq(0), "0 before any"},
		{"zohosink_records_delivered_total", nil, eq(1), "1"},
		{"zohosink_commits_total", map[string]string{"outcome": "ok"}, atLeast(1), ">= 1"},
		{"zohosink_commits_total", map[string]string{"outcome": "failed"}, eq(0), "0"},
		{"zohosink_dead_letter_writes_total", map[string]string{"outcome": "ok"}, eq(1), "1"},
		{"zohosink_dead_letter_writes_total", map[string]string{"outcome": "failed"}, eq(0), "0"},
		{"zohosink_dead_letter_write_duration_seconds", nil, atLeast(1), "an observation"},
		{"zohosink_breaker_transitions_total", map[string]string{"to": "open"}, eq(0), "0 before any"},
		{"zohosink_breaker_transitions_total", map[string]string{"to": "half-open"}, eq(0), "0 before any"},
		{"zohosink_breaker_transitions_total", map[string]string{"to": "closed"}, eq(0), "0 before any"},
		{"zohosink_breaker_state", nil, eq(0), "0 (closed)"},
		{"zohosink_zoho_token_mints_total", nil, eq(1), "1"},
		{"zohosink_zoho_token_refresh_failures_total", nil, eq(0), "0"},
		{"zohosink_zoho_token_expiry_seconds", nil, func(v float64) bool { return v > 1800 && v <= 3600 }, "about an hour"},
		{"zohosink_zoho_credits_used_24h", nil, eq(1), "1 (one call of one record)"},
		{"zohosink_zoho_credits_used_total", nil, eq(1), "1"},
		{"zohosink_batches_in_flight", nil, eq(0), "0"},
		{"zohosink_records_buffered", nil, eq(0), "0"},
		{"zohosink_delivery_concurrency_limit", nil, func(v float64) bool { return v >= 1 && v <= 4 }, "1..delivery.max_in_flight (4)"},
		{"zohosink_ready", nil, eq(1), "1"},
		{"zohosink_consumer_lag_seconds", map[string]string{"topic": h.topic, "partition": "0"}, eq(0), "0 (all done)"},
		{"zohosink_consumer_lag_seconds", map[string]string{"topic": h.topic, "partition": "1"}, eq(0), "0 (all done)"},
		{"zohosink_consumer_lag_retention_ratio", map[string]string{"topic": h.topic, "partition": "1"}, eq(0), "0 (all done)"},
		{"zohosink_commit_lag_records", map[string]string{"topic": h.topic, "partition": "1"}, eq(0), "0 (all done)"},
		{"zohosink_source_topic_missing", map[string]string{"topic": h.topic}, eq(0), "0 (it exists)"},
		{"zohosink_dead_letter_topic_too_small", map[string]string{"source_topic": h.topic}, eq(0), "0 (large enough)"},
	} {
		v, ok := s.value(c.name, c.labels)
		if !ok || !c.want(v) {
			t.Errorf("%s%v = %v (present %v), want %s", c.name, c.labels, v, ok, c.what)
		}
	}

	t.Run("promtool check metrics", func(t *testing.T) {
		cmd := exec.Command(promtool(t), "check", "metrics")
		cmd.Stdin = bytes.NewReader(s.text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("alerts and dashboard name exposed metrics", func(t *testing.T) {
		exprs := deployExpressions(t)
		if len(exprs) < 10 {
			t.Fatalf("found %d expressions in deploy/, want the alerts' and the dashboard's", len(exprs))
		}
		for _, e := range exprs {
			for _, name := range metricNames(t, e) {
				if !s.exposes(name) {
					t.Errorf("%s: %q names %s, which /metrics does not expose", e.where, e.expr, name)
				}
			}
		}
	})
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

// exposes reports whether name is a series name of the scrape: a family, or a
// histogram's or summary's _bucket, _sum or _count.
func (s scrape) exposes(name string) bool {
	if _, ok := s.families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := s.families[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				return suffix != "_bucket" || f.GetType() == dto.MetricType_HISTOGRAM
			}
		}
	}
	return false
}

// promExpr is one PromQL expression of deploy/ and where it is.
type promExpr struct{ where, expr string }

// deployExpressions are the expressions of the alerting rules and of every
// Grafana dashboard panel target.
func deployExpressions(t *testing.T) []promExpr {
	t.Helper()
	var out []promExpr
	raw, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, promExpr{"alerts.yml " + r.Alert, r.Expr})
		}
	}
	dashboards, _ := filepath.Glob("../deploy/grafana/dashboards/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboard in deploy/grafana/dashboards")
	}
	for _, file := range dashboards {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				out = append(out, promExpr{filepath.Base(file) + " panel " + strconv.Quote(p.Title), tg.Expr})
			}
		}
	}
	return out
}

// metricNames parses e (Grafana's $__rate_interval and $__interval become 5m)
// and returns the metric names its selectors name.
func metricNames(t *testing.T, e promExpr) []string {
	t.Helper()
	text := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "5m", "$__range", "1h").Replace(e.expr)
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(text)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", e.where, e.expr, err)
		return nil
	}
	seen := map[string]bool{}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				name = m.Value
			}
		}
		if name == "" {
			t.Errorf("%s: %q has a selector without a metric name", e.where, e.expr)
		}
		seen[name] = true
		return nil
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestLagInTimeAndRetention: while Zoho is down, the age of the oldest
// undelivered record shows per partition, as seconds and as a share of the
// topic's retention.ms (read at start), and the breaker's transitions are
// counted; once Zoho answers, the lag goes back to 0.
func TestLagInTimeAndRetention(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	const retention = 2 * time.Hour
	adm := kadm.NewClient(kafkatest.Client(t, h.brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms := strconv.FormatInt(retention.Milliseconds(), 10)
	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &ms}}, h.topic)
	if err == nil {
		_, err = resps.On(h.topic, nil)
	}
	if err != nil {
		t.Fatalf("setting retention.ms: %v", err)
	}
	h.sim.FailNext(1_000_000, 503)
	age := time.Hour
	kafkatest.Produce(t, h.brokers, h.topic, &kgo.Record{
		Key:       []byte("lag-1"),
		Value:     event("identify", "", map[string]any{"email": "lag@example.com", "lastName": "L", "company": "C"}, nil, "lag-1"),
		Timestamp: time.Now().Add(-age),
	})
	o := h.options()
	o.BreakerFailures = 2
	r := h.start(o)

	part := map[string]string{"topic": h.topic, "partition": "0"}
	var s scrape
	h.eventually(20*time.Second, "lag in time shows the hour-old record, the breaker opened and zohosink_ready is 0", func() bool {
		s = scrapeMetrics(t, r.p.Handler())
		lag, _ := s.value("zohosink_consumer_lag_seconds", part)
		opened, _ := s.value("zohosink_breaker_transitions_total", map[string]string{"to": "open"})
		ready, _ := s.value("zohosink_ready", nil)
		return lag >= age.Seconds() && opened >= 1 && ready == 0 // a scrape gathers metrics concurrently: one may precede the opening
	})
	if v, ok := s.value("zohosink_topic_retention_seconds", map[string]string{"topic": h.topic}); !ok || v != retention.Seconds() {
		t.Errorf("zohosink_topic_retention_seconds = %v (present %v), want %v", v, ok, retention.Seconds())
	}
	lag, _ := s.value("zohosink_consumer_lag_seconds", part)
	if share, _ := s.value("zohosink_consumer_lag_retention_ratio", part); share < 0.5 || share > lag/retention.Seconds()+0.01 {
		t.Errorf("zohosink_consumer_lag_retention_ratio = %v, want lag/retention = %v", share, lag/retention.Seconds())
	}

	h.sim.FailNext(0, 0)
	h.eventually(30*time.Second, "the lag goes back to 0 once Zoho answers", func() bool {
		s = scrapeMetrics(t, r.p.Handler())
		lag, ok := s.value("zohosink_consumer_lag_seconds", part)
		closed, _ := s.value("zohosink_breaker_transitions_total", map[string]string{"to": "closed"})
		return ok && lag == 0 && closed >= 1
	})
}

// TestTokenRefreshFailuresCounted: a refused refresh token shows as token
// refresh failures, with no token (expiry 0) and no mints.
func TestTokenRefreshFailuresCounted(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	o := h.options()
	eps, err := zohoapi.ResolveEndpoints("", h.sim.URL(), h.sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: "wrong", RefreshToken: h.sim.RefreshToken()},
	})
	o.Zoho = zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
	o.Tokens = ts
	h.produce(event("identify", "", map[string]any{"email": "tok@example.com", "lastName": "L", "company": "C"}, nil, "tok-1"))
	r := h.start(o)
	h.eventually(20*time.Second, "a refresh failure shows on /metrics", func() bool {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_zoho_token_refresh_failures_total", nil)
		return v >= 1
	})
	s := scrapeMetrics(t, r.p.Handler())
	for name, want := range map[string]float64{"zohosink_zoho_token_mints_total": 0, "zohosink_zoho_token_expiry_seconds": 0} {
		if v, ok := s.value(name, nil); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}
