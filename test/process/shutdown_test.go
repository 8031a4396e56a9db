package process_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// shutdownBudget is how soon after SIGTERM a process must have exited with
// default settings, in every state (DESIGN.md: "Shutdown is bounded").
// Kubernetes gives 30s in all before SIGKILL.
const shutdownBudget = 15 * time.Second

// TestShutdownWithinBudgetInEveryState stops a process with default delivery
// settings (retry_max 30s, throttle_backoff 30s, breaker_open_timeout 30s,
// shutdown_grace, zoho.request_timeout) with SIGTERM in each state in which
// it waits: retrying 5xx answers, throttled by 429, breaker open, dead-letter
// writes failing (the dead-letter topic refuses a record as too large), and a
// Zoho call hanging longer than the grace. Each time the process exits 0
// within shutdownBudget, its committed offsets pass no record that Zoho or the
// dead-letter topic has not acknowledged, and once the fault is gone a
// restart delivers the rest.
func TestShutdownWithinBudgetInEveryState(t *testing.T) {
	pc := procConfig{DefaultDelivery: true}
	cases := []struct {
		name string
		// fault starts the state, reached starts waiting until the process is in it,
		// heal ends it before the restart.
		fault   func(e *env)
		reached func(e *env, p *proc)
		heal    func(e *env)
		// deadLetter produces a record that must go to the dead-letter topic.
		deadLetter bool
	}{
		{
			name:  "retrying_5xx",
			fault: func(e *env) { e.sim.SetFailRate(1, 500) },
			reached: func(e *env, _ *proc) {
				e.eventually(60*time.Second, "Zoho answered 500 to a retry", func() bool { return e.sim.Stats().UpsertCalls >= 3 })
			},
			heal: func(e *env) { e.sim.SetFailRate(0, 0) },
		},
		{
			name:  "throttled_429",
			fault: func(e *env) { e.sim.SetFailRate(1, 429) },
			reached: func(e *env, p *proc) {
				e.waitLog(p, 60*time.Second, "zoho_throttled")
			},
			heal: func(e *env) { e.sim.SetFailRate(0, 0) },
		},
		{
			name:  "breaker_open",
			fault: func(e *env) { e.sim.SetFailRate(1, 503) },
			reached: func(e *env, p *proc) {
				e.waitLog(p, 60*time.Second, `"to": "open"`)
			},
			heal: func(e *env) { e.sim.SetFailRate(0, 0) },
		},
		{
			name:       "dead_letter_writes_failing",
			deadLetter: true,
			reached: func(e *env, p *proc) {
				e.waitLog(p, 60*time.Second, "dead_letter_write_failing")
			},
			heal: func(e *env) {
				e.setTopicConfig(e.dlqTopic, "max.message.bytes", "1048588")
			},
		},
		{
			name:  "zoho_call_hanging",
			fault: func(e *env) { e.sim.HangNext(1000) },
			reached: func(e *env, _ *proc) {
				e.eventually(60*time.Second, "an upsert call hangs in Zoho", func() bool { return e.sim.Stats().InFlight > 0 })
			},
			heal: func(e *env) { e.sim.HangNext(0) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2, zohosim.Options{})
			if tc.deadLetter {
				// A dead-letter topic that refuses what the source topic
				// accepted: the dead-letter write fails until the limit is raised.
				e.dlqTopic = e.createTopic(1, map[string]*string{"max.message.bytes": ptr("1024")})
			}
			p := e.start("stop-"+tc.name, pc)
			// First events delivered and committed, then the fault holds the rest.
			s := &stream{users: 20}
			produced := s.take(20)
			e.produce(produced)
			e.waitCommitted(60 * time.Second)
			var bad *kgo.Record
			if tc.deadLetter {
				// An identify event without an email: MISSING_EMAIL, dead-lettered.
				// Random padding, so that compression cannot bring it under the limit.
				pad := make([]byte, 2000)
				_, _ = rand.Read(pad)
				bad = &kgo.Record{Key: []byte("user-bad"), Value: []byte(`{"type":"identify","userId":"user-bad","traits":{"company":"` + hex.EncodeToString(pad) + `"},"context":{"consent":{"categories":{"marketing":true}}}}`)}
				e.produce([]*kgo.Record{bad})
				produced = append(produced, bad)
			} else {
				tc.fault(e)
			}
			more := s.take(40)
			e.produce(more)
			produced = append(produced, more...)
			tc.reached(e, p)
			start := time.Now()
			if code := e.terminate(p, shutdownBudget); code != 0 {
				t.Fatalf("exited with status %d after SIGTERM, want 0", code)
			}
			t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))

			var delivered []*kgo.Record
			for _, r := range produced {
				if r != bad {
					delivered = append(delivered, r)
				}
			}
			left := e.checkCommitNotPastUndelivered(delivered)
			if bad != nil {
				if c := e.committed()[bad.Partition]; c > bad.Offset {
					t.Errorf("partition %d committed to %d past offset %d, which the dead-letter topic never acknowledged", bad.Partition, c, bad.Offset)
				}
			}
			if left == 0 {
				t.Fatal("everything was committed: the fault did not hold the process")
			}
			t.Logf("%d of %d records uncommitted at shutdown", left, len(produced))

			tc.heal(e)
			again := e.start("restart-"+tc.name, pc)
			e.waitCommitted(90 * time.Second)
			if bad == nil {
				e.checkLeads(s)
			} else if n := behind(e.endOffsets(e.dlqTopic), nil); n != 1 {
				t.Errorf("%d dead-letter records after the restart, want 1", n)
			}
			if code := e.terminate(again, shutdownBudget); code != 0 {
				t.Errorf("restart exited with status %d after SIGTERM, want 0", code)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// createTopic creates a topic with the given configuration, deleted at the end of the test.
func (e *env) createTopic(partitions int32, configs map[string]*string) string {
	e.t.Helper()
	name := kafkatest.CreateTopic(e.t, e.brokers, partitions)
	e.setTopicConfigs(name, configs)
	return name
}

// setTopicConfig sets one configuration key of topic.
func (e *env) setTopicConfig(topic, key, value string) {
	e.t.Helper()
	e.setTopicConfigs(topic, map[string]*string{key: ptr(value)})
}

func (e *env) setTopicConfigs(topic string, configs map[string]*string) {
	e.t.Helper()
	var alter []kadm.AlterConfig
	for k, v := range configs {
		alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	resp, err := e.adm.AlterTopicConfigs(ctx, alter, topic)
	if err == nil {
		_, err = resp.On(topic, nil)
	}
	if err == nil {
		for _, r := range resp {
			err = r.Err
		}
	}
	if err != nil {
		e.t.Fatalf("set %v on %s: %v", configs, topic, err)
	}
}

// TestShutdownWithKafkaUnreachable stops a process with SIGTERM while no
// broker answers (the cluster went away while a batch was being retried): the
// final commit and leaving the group cannot succeed, and the process still
// exits 0 within shutdownBudget. It runs on a kfake cluster of its own, which
// the test closes, whatever KAFKA_BROKERS names.
func TestShutdownWithKafkaUnreachable(t *testing.T) {
	cluster := kafkatest.FakeCluster(t)
	e := newEnvOn(t, cluster.ListenAddrs(), 2, zohosim.Options{})
	p := e.start("stop-kafka-down", procConfig{DefaultDelivery: true})
	s := &stream{users: 20}
	e.produce(s.take(20))
	e.waitCommitted(60 * time.Second)
	e.sim.SetFailRate(1, 500)
	e.produce(s.take(20))
	e.eventually(60*time.Second, "Zoho answered 500 to a retry", func() bool { return e.sim.Stats().UpsertCalls >= 3 })
	cluster.Close()
	e.waitLog(p, 60*time.Second, "kafka unreachable")
	start := time.Now()
	if code := e.terminate(p, shutdownBudget); code != 0 {
		t.Fatalf("exited with status %d after SIGTERM, want 0", code)
	}
	t.Logf("exited %v after SIGTERM with Kafka unreachable", time.Since(start).Round(time.Millisecond))
}
