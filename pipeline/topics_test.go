package pipeline_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// bigTopic is the max.message.bytes of the large source topics below (16 MiB).
const bigTopic = 16 << 20

// produceBig writes records of up to bigTopic bytes to topic.
func produceBig(t *testing.T, brokers []string, topic string, values ...[]byte) {
	t.Helper()
	cl := kafkatest.Client(t, brokers, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(bigTopic))
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Key: []byte("k" + strconv.Itoa(i)), Value: v}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// maxMessageBytes reads a topic's max.message.bytes.
func maxMessageBytes(t *testing.T, brokers []string, topic string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	lim, err := topics.Describe(ctx, kadm.NewClient(kafkatest.Client(t, brokers)), nil, topic)
	if err != nil || lim.DLQMissing {
		t.Fatalf("describe %s: %v (missing %v)", topic, err, lim.DLQMissing)
	}
	return lim.MaxMessageBytes[topic]
}

// metric returns the /metrics lines of p that start with prefix.
func metric(t *testing.T, p *pipeline.Pipeline, prefix string) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var out []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestLargeRecordIsDeadLettered: records of about 1 MiB that a source topic
// with max.message.bytes 16 MiB accepted (one not JSON, one Zoho rejects with
// its zoho.record) reach a dead-letter topic that the pipeline creates, with
// no kafka.max_message_bytes set, and the records after them are committed.
// Before, the producer's 1 MiB default refused them and the partition stopped.
func TestLargeRecordIsDeadLettered(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.topic = kafkatest.CreateTopicWithConfigs(t, h.brokers, 1, map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(bigTopic))})
	h.dlqTopic = kafkatest.TopicName(t) // missing: the pipeline creates it
	big := strings.Repeat("D", 1100<<10)
	notJSON := []byte("{" + big)
	rejected := event("identify", "", map[string]any{"email": "big@example.com", "firstName": big}, nil, "big") // Zoho rejects it
	produceBig(t, h.brokers, h.topic, notJSON, rejected, leads("after", 1)[0])

	r := h.start(h.options())
	h.waitCommitted(60 * time.Second)
	r.shutdown()
	dead := h.deadLetters(2)
	byValue := map[string]*kgo.Record{}
	for _, d := range dead {
		byValue[string(d.Value)] = d
	}
	if d := byValue[string(notJSON)]; d == nil || headers(d)["error.code"] != "DECODE_ERROR" {
		t.Error("no DECODE_ERROR dead letter with the original value")
	}
	d := byValue[string(rejected)] // Zoho's answer: MULTIPLE_OR_MULTI_ERRORS today (no Last_Name, First_Name too long)
	if d == nil {
		t.Fatal("no dead letter with the rejected record's original value")
	}
	if hd := headers(d); !strings.Contains(hd["zoho.record"], big) {
		t.Errorf("zoho.record left out (%d bytes; message %q) though the dead-letter topic has room", len(hd["zoho.record"]), hd["error.message"])
	}
	if _, ok := h.sim.Lead("after0@example.com"); !ok {
		t.Error("the record after the large ones was not delivered")
	}
	if got := maxMessageBytes(t, h.brokers, h.dlqTopic); got < bigTopic {
		t.Errorf("created dead-letter topic has max.message.bytes %d, want ≥ the source topic's %d", got, bigTopic)
	}
}

// TestSmallDeadLetterTopicReported: a dead-letter topic that accepts smaller
// records than a source topic is reported at start (log and metric), and
// the producer is sized from the dead-letter topic, not from the setting.
func TestSmallDeadLetterTopicReported(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.topic = kafkatest.CreateTopicWithConfigs(t, h.brokers, 1, map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(bigTopic))})
	h.dlqTopic = kafkatest.CreateTopicWithConfigs(t, h.brokers, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("2000000")})
	core, logs := observer.New(zap.InfoLevel)
	o := h.options()
	o.Logger = zap.New(core)
	o.MaxMessageBytes = 1 << 20 // below the source topic's: a warning
	r := h.start(o)
	h.eventually(30*time.Second, "the dead-letter topic reported too small", func() bool {
		return slices.Contains(metric(t, r.p, "zohosink_dead_letter_topic_too_small"), `zohosink_dead_letter_topic_too_small{source_topic="`+h.topic+`"} 1`)
	})
	if got := metric(t, r.p, "zohosink_dead_letter_max_message_bytes "); !slices.Equal(got, []string{"zohosink_dead_letter_max_message_bytes 1.048576e+06"}) {
		t.Errorf("producer limit %v, want the setting 1048576 (below the dead-letter topic's 2000000)", got)
	}
	for _, want := range []string{`dead-letter topic "` + h.dlqTopic + `" accepts 2000000 bytes`, "kafka.max_message_bytes 1048576 is below source topic"} {
		if logs.FilterMessageSnippet(want).Len() != 1 {
			t.Errorf("no warning %q at start", want)
		}
	}
}

// TestMissingSourceTopicRecovers: a source topic that does not exist makes
// the pipeline not ready, naming the topic (a *MissingTopicsError, /readyz
// 503, zohosink_source_topic_missing 1, logged once); creating it later is
// noticed, readiness recovers and its records are delivered.
func TestMissingSourceTopicRecovers(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.topic = kafkatest.TopicName(t)
	core, logs := observer.New(zap.InfoLevel)
	o := h.options()
	o.Logger = zap.New(core)
	o.TopicCheckInterval = 200 * time.Millisecond
	r := h.start(o)
	var missing *pipeline.MissingTopicsError
	h.eventually(30*time.Second, "readiness names the missing topic", func() bool {
		return errors.As(r.p.Ready(), &missing) && slices.Equal(missing.Topics, []string{h.topic})
	})
	rec := httptest.NewRecorder()
	r.p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if body, _ := io.ReadAll(rec.Body); rec.Code != http.StatusServiceUnavailable || !strings.Contains(string(body), h.topic) {
		t.Errorf("/readyz %d %q, want 503 naming %s", rec.Code, body, h.topic)
	}
	gauge := `zohosink_source_topic_missing{topic="` + h.topic + `"} `
	if got := metric(t, r.p, gauge); !slices.Equal(got, []string{gauge + "1"}) {
		t.Errorf("metric %v, want %s1", got, gauge)
	}

	adm := kadm.NewClient(kafkatest.Client(t, h.brokers))
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, h.topic); err != nil {
		t.Fatal(err)
	}
	h.produce(leads("late", 3)...)
	h.eventually(60*time.Second, "readiness recovers", func() bool { return r.p.Ready() == nil })
	h.waitCommitted(60 * time.Second)
	for i := range 3 {
		if _, ok := h.sim.Lead("late" + strconv.Itoa(i) + "@example.com"); !ok {
			t.Errorf("lead %d of the late topic not delivered", i)
		}
	}
	if got := metric(t, r.p, gauge); !slices.Equal(got, []string{gauge + "0"}) {
		t.Errorf("metric %v after creation, want %s0", got, gauge)
	}
	if n := logs.FilterMessageSnippet("source topic does not exist").Len(); n != 1 {
		t.Errorf("missing topic logged %d times, want once", n)
	}
}

// TestStartOffsetEarliest: a new group starts at the log start and says at
// start how many records that is and the estimated Zoho credits.
func TestStartOffsetEarliest(t *testing.T) {
	h := newHarness(t, 2, zohosim.Options{})
	h.produce(leads("old", 25)...)
	core, logs := observer.New(zap.InfoLevel)
	o := h.options()
	o.Logger = zap.New(core)
	r := h.start(o)
	h.waitCommitted(60 * time.Second)
	// A source topic that exists has its missing-topic series at 0 (rate and
	// absence alerts need the series).
	gauge := `zohosink_source_topic_missing{topic="` + h.topic + `"} `
	if got := metric(t, r.p, gauge); !slices.Equal(got, []string{gauge + "0"}) {
		t.Errorf("metric %v, want %s0", got, gauge)
	}
	r.shutdown()
	if n := len(h.sim.Records("Leads")); n != 25 {
		t.Errorf("%d leads in Zoho, want all 25", n)
	}
	start := logs.FilterMessageSnippet("start at the log start")
	if start.Len() != 1 {
		t.Fatalf("start position logged %d times, want once (warnings: %v)", start.Len(), logs.FilterMessageSnippet("could not read").All())
	}
	f := start.All()[0].ContextMap()
	if f["records"] != int64(25) || f["estimated_zoho_credits"] != int64(zohoapi.Credits(25)) || f["partitions"] != int64(2) {
		t.Errorf("start log %v, want 25 records on 2 partitions, %d credits", f, zohoapi.Credits(25))
	}
}

// TestStartOffsetLatest: with StartAtLatest (kafka.start_offset: latest) a new
// group skips the records already in the topic and delivers only new ones.
func TestStartOffsetLatest(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.produce(leads("old", 5)...)
	core, logs := observer.New(zap.InfoLevel)
	o := h.options()
	o.Logger = zap.New(core)
	o.StartAtLatest = true
	h.start(o)
	// The start log counts the records there at start: produce new ones
	// only after it, or it may count them too.
	h.eventually(30*time.Second, "the start log", func() bool {
		return logs.FilterMessageSnippet("start at the log end").Len() > 0
	})
	// Until the group has its position, a new record may still be taken
	// for an old one: keep producing new ones until one arrives.
	for i := 0; ; i++ {
		h.produce(leads("new"+strconv.Itoa(i)+"-", 1)...)
		if h.waitLead("new"+strconv.Itoa(i)+"-0@example.com", time.Second) {
			break
		}
		if i == 60 {
			t.Fatal("no new record delivered")
		}
	}
	for i := range 5 {
		if _, ok := h.sim.Lead("old" + strconv.Itoa(i) + "@example.com"); ok {
			t.Errorf("old lead %d delivered, want it skipped", i)
		}
	}
	if f := logs.FilterMessageSnippet("start at the log end").All(); len(f) != 1 || f[0].ContextMap()["records"] != int64(5) {
		t.Errorf("start log %v, want one line with 5 records", f)
	}
}

// waitLead reports whether the simulator has a lead for email within d.
func (h *harness) waitLead(email string, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, ok := h.sim.Lead(email); ok {
			return true
		}
	}
	return false
}
