package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/internal/simtest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// harness is one end-to-end setup: a Kafka protocol broker (kfake, or the
// broker in KAFKA_BROKERS), fresh topics and group, and a Zoho simulator.
type harness struct {
	t        *testing.T
	brokers  []string
	topic    string
	dlqTopic string
	group    string
	sim      *zohosim.Server
}

func newHarness(t *testing.T, partitions int32, simOpts zohosim.Options) *harness {
	t.Helper()
	return newHarnessOn(t, kafkatest.Brokers(t), partitions, simOpts)
}

// newHarnessOn is newHarness on the cluster of brokers (e.g. a
// kafkatest.SecureFakeCluster).
func newHarnessOn(t *testing.T, brokers []string, partitions int32, simOpts zohosim.Options) *harness {
	t.Helper()
	h := &harness{
		t:        t,
		brokers:  brokers,
		topic:    kafkatest.CreateTopic(t, brokers, partitions),
		dlqTopic: kafkatest.CreateTopic(t, brokers, 1),
		sim:      zohosim.New(simOpts),
	}
	h.group = h.topic + "-group"
	t.Cleanup(h.sim.Close)
	return h
}

// zohoClient is a real zohoapi client for the simulator.
func (h *harness) zohoClient() *zohoapi.Client {
	eps, err := zohoapi.ResolveEndpoints("", h.sim.URL(), h.sim.URL())
	if err != nil {
		h.t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: h.sim.ClientSecret(), RefreshToken: h.sim.RefreshToken()},
		HTTPClient:  hc,
	})
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
}

// options are fast test settings: short linger, retries and commit interval.
func (h *harness) options() pipeline.Options {
	return pipeline.Options{
		Brokers:            h.brokers,
		KafkaOptions:       kafkatest.ConnOptions(h.t, h.brokers),
		Topics:             []string{h.topic},
		Group:              h.group,
		DLQTopic:           h.dlqTopic,
		Module:             "Leads",
		Zoho:               h.zohoClient(),
		Mapping:            mapping.MapperConfig{ConsentRequired: []string{"marketing"}},
		Batch:              batcher.Config{MaxRecords: 100, Linger: 50 * time.Millisecond, MaxInFlight: 4, MaxBuffered: 600},
		CommitInterval:     50 * time.Millisecond,
		SessionTimeout:     10 * time.Second,
		RetryInitial:       10 * time.Millisecond,
		RetryMax:           100 * time.Millisecond,
		ThrottleBackoff:    100 * time.Millisecond,
		BreakerFailures:    5,
		BreakerOpenTimeout: 200 * time.Millisecond,
		ShutdownGrace:      5 * time.Second,
		Logger:             zaptest.NewLogger(h.t),
	}
}

// running is a pipeline running in the background.
type running struct {
	p    *pipeline.Pipeline
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error
}

// start runs a pipeline; the test's cleanup stops it.
func (h *harness) start(o pipeline.Options) *running {
	h.t.Helper()
	p, err := pipeline.New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	h.t.Cleanup(func() { r.shutdown() })
	return r
}

// shutdown stops the pipeline as SIGTERM would and returns Run's error.
func (r *running) shutdown() error {
	r.once.Do(func() {
		r.stop()
		r.err = <-r.done
	})
	return r.err
}

// produce sends values keyed as a tracking pipeline keys them (by userId, else
// anonymousId); an empty value is a tombstone.
func (h *harness) produce(values ...[]byte) []*kgo.Record {
	h.t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		r := &kgo.Record{Value: v}
		if len(v) == 0 {
			r.Value = nil
		}
		key := gjson.GetBytes(v, "userId").String()
		if key == "" {
			key = gjson.GetBytes(v, "anonymousId").String()
		}
		if key != "" {
			r.Key = []byte(key)
		}
		recs[i] = r
	}
	kafkatest.Produce(h.t, h.brokers, h.topic, recs...)
	return recs
}

// lines splits an ndjson file into values (an empty line is an empty value).
func lines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// endOffsets returns the log end offset of every partition of the source topic.
func (h *harness) endOffsets() map[int32]int64 {
	h.t.Helper()
	adm := kadm.NewClient(kafkatest.Client(h.t, h.brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, h.topic)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// committed returns the group's committed offset per partition of the source topic.
func (h *harness) committed() map[int32]int64 {
	h.t.Helper()
	return kafkatest.Committed(h.t, h.brokers, h.group, h.topic)
}

// waitCommitted waits until the committed offsets reach the end of every partition.
func (h *harness) waitCommitted(timeout time.Duration) {
	h.t.Helper()
	ends := h.endOffsets()
	h.eventually(timeout, "committed offsets reach the log end", func() bool {
		c := h.committed()
		for p, end := range ends {
			if end > 0 && c[p] != end {
				return false
			}
		}
		return true
	})
}

// eventually polls cond every 20ms until it holds, failing the test after timeout.
func (h *harness) eventually(timeout time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deadLetters reads n records of the dead-letter topic.
func (h *harness) deadLetters(n int) []*kgo.Record {
	h.t.Helper()
	if n == 0 {
		return nil
	}
	return kafkatest.Consume(h.t, h.brokers, h.dlqTopic, n)
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, hd := range r.Headers {
		m[hd.Key] = string(hd.Value)
	}
	return m
}

// event builds an envelope with marketing consent (simtest.Event).
var event = simtest.Event

// notReady is the reason of a *pipeline.NotReadyError in err ("" when err is nil).
func notReady(err error) pipeline.NotReady {
	var nr *pipeline.NotReadyError
	if errors.As(err, &nr) {
		return nr.Reason
	}
	return ""
}

// pausedBy reports whether p's fetching is paused for reason (and only
// paused: readiness fails for no other reason first).
func pausedBy(p *pipeline.Pipeline, reason delivery.PauseReason) bool {
	var nr *pipeline.NotReadyError
	return errors.As(p.Ready(), &nr) && nr.Reason == pipeline.NotReadyPaused && slices.Contains(nr.Paused, reason)
}
