package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// EnvBrokers names the environment variable that points the tests at an
// existing cluster: a comma-separated list of host:port bootstrap addresses,
// e.g. KAFKA_BROKERS=127.0.0.1:19092 (what scripts/kafka-local prints).
const EnvBrokers = "KAFKA_BROKERS"

// EnvTestcontainers names the environment variable that, set to "1", makes
// Brokers start an Apache Kafka container through testcontainers-go when
// EnvBrokers is not set. The test binary must be built with -tags
// testcontainers, and the test is skipped when no Docker engine answers.
const EnvTestcontainers = "ZOHOSINK_TESTCONTAINERS"

// Timeout bounds every wait of this package: broker readiness, topic
// creation, produce and consume. It is generous because a real broker on a
// loaded two-core CI machine can take seconds to elect partition leaders.
const Timeout = 60 * time.Second

// Brokers returns the bootstrap addresses of the cluster this test should use.
//
// With $KAFKA_BROKERS set, it returns those addresses after checking that the
// cluster answers metadata and group-coordinator requests (fatal otherwise).
// With $ZOHOSINK_TESTCONTAINERS=1, it returns a container broker shared by the
// whole test binary (see EnvTestcontainers). Otherwise it starts an in-process
// kfake cluster that t.Cleanup closes; each call gets its own cluster (secured
// as $KAFKATEST_FAKE_SECURITY says, see EnvFakeSecurity).
func Brokers(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvBrokers); env != "" {
		brokers := splitBrokers(env)
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := WaitReady(ctx, brokers); err != nil {
			t.Fatalf("kafkatest: %s=%s does not answer: %v (is scripts/kafka-local running?)", EnvBrokers, env, err)
		}
		return brokers
	}
	if os.Getenv(EnvTestcontainers) == "1" {
		return containerBrokers(t)
	}
	return fakeBrokers(t)
}

// External reports whether Brokers returns a cluster outside the test process
// (a real broker from $KAFKA_BROKERS or a container). Tests that inject faults
// through kfake's control hooks skip themselves when it is true.
func External() bool {
	return os.Getenv(EnvBrokers) != "" || os.Getenv(EnvTestcontainers) == "1"
}

func splitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// FakeCluster starts an in-process kfake cluster with the settings described
// in the package doc, plus opts, and closes it on t.Cleanup. Use it directly
// when a test needs kfake's fault-injection hooks (Cluster.ControlKey).
func FakeCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	base := []kfake.Opt{
		kfake.NumBrokers(3),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(time.Second),
	}
	c, err := kfake.NewCluster(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func fakeBrokers(t testing.TB) []string {
	t.Helper()
	if sec := os.Getenv(EnvFakeSecurity); sec != "" {
		return secureFakeBrokers(t, sec)
	}
	return FakeCluster(t).ListenAddrs()
}

// Client returns a franz-go client for brokers (connected with ConnOptions:
// TLS and SASL when the cluster is secured) with opts added, closed on
// t.Cleanup. Its retries are bounded by Timeout, and it refreshes metadata
// after 100ms rather than kgo's default 5s, so a topic created a moment ago
// is seen at once (kgo answers metadata requests from its cache until then).
func Client(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := append(ConnOptions(t, brokers), kgo.RetryTimeout(Timeout), kgo.MetadataMinAge(100*time.Millisecond))
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// WaitReady polls brokers until the cluster answers a metadata request that
// lists at least one broker and a FindCoordinator request for a consumer group
// (which, on a fresh broker, creates __consumer_offsets). It returns the last
// error seen, wrapped, when ctx ends first.
func WaitReady(ctx context.Context, brokers []string) error {
	conn, err := connOptions(brokers)
	if err != nil {
		return fmt.Errorf("kafkatest: connection options: %w", err)
	}
	cl, err := kgo.NewClient(append(conn, kgo.RequestRetries(0))...)
	if err != nil {
		return fmt.Errorf("kafkatest: new client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last error
	for {
		last = readyOnce(ctx, adm, cl)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafkatest: cluster not ready: %w", errors.Join(last, ctx.Err()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readyOnce(ctx context.Context, adm *kadm.Client, cl *kgo.Client) error {
	reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	md, err := adm.BrokerMetadata(reqCtx)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("metadata lists no broker")
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType = 0 // group
	req.CoordinatorKey = "zohosink-kafkatest-ready"
	req.CoordinatorKeys = []string{req.CoordinatorKey}
	resp, err := req.RequestWith(reqCtx, cl)
	if err != nil {
		return fmt.Errorf("find coordinator: %w", err)
	}
	code := resp.ErrorCode
	if len(resp.Coordinators) > 0 {
		code = resp.Coordinators[0].ErrorCode
	}
	if err := kerr.ErrorForCode(code); err != nil {
		return fmt.Errorf("find coordinator: %w", err)
	}
	return nil
}

// uniqueName returns a topic name derived from the test's name plus 8 random
// hex characters; only [a-zA-Z0-9._-] survive, at most 200 characters.
func uniqueName(t testing.TB) string {
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 180 {
		name = name[:180]
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return "kt." + name + "." + hex.EncodeToString(rnd[:])
}

// CreateTopic creates a topic with a unique name derived from t.Name(), the
// given number of partitions and replication factor 1, waits until metadata
// shows every partition with a leader, and returns its name. The topic is
// deleted (best effort) on t.Cleanup.
func CreateTopic(t testing.TB, brokers []string, partitions int32) string {
	t.Helper()
	return CreateTopicWithConfigs(t, brokers, partitions, nil)
}

// TopicName returns a unique topic name derived from t.Name(), as CreateTopic
// names topics, without creating the topic.
func TopicName(t testing.TB) string { return uniqueName(t) }

// CreateTopicWithConfigs is CreateTopic with topic configs (for example
// "max.message.bytes"); nil configs take the broker's defaults.
func CreateTopicWithConfigs(t testing.TB, brokers []string, partitions int32, configs map[string]*string) string {
	t.Helper()
	name := uniqueName(t)
	adm := kadm.NewClient(Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, partitions, 1, configs, name); err != nil {
		t.Fatalf("kafkatest: create topic %s (%d partitions): %v", name, partitions, err)
	}
	for {
		md, err := adm.Metadata(ctx, name)
		if err == nil {
			if td, ok := md.Topics[name]; ok && td.Err == nil && allLed(td, partitions) {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kafkatest: topic %s has no leader for all %d partitions after %v (last metadata error: %v)", name, partitions, Timeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adm.DeleteTopic(ctx, name); err != nil {
			t.Logf("kafkatest: deleting topic %s: %v", name, err)
		}
	})
	return name
}

func allLed(td kadm.TopicDetail, partitions int32) bool {
	if int32(len(td.Partitions)) != partitions {
		return false
	}
	for _, p := range td.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// Produce writes recs to topic (records whose Topic is empty get topic) and
// waits until the broker acknowledged all of them; any failure is fatal.
// Records without a partition set are placed by franz-go's default
// partitioner: by key hash when they have a key, as a producer in production
// would.
func Produce(t testing.TB, brokers []string, topic string, recs ...*kgo.Record) {
	t.Helper()
	cl := Client(t, brokers, kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: produce %d records to %s: %v", len(recs), topic, err)
	}
}

// Consume reads topic from the start of every partition, without a consumer
// group, until it has n records, and returns them in the order fetched
// (offset order within a partition). It fails the test when fewer than n
// arrive within Timeout.
func Consume(t testing.TB, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := Client(t, brokers,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("kafkatest: consumed %d of %d records from %s within %v", len(out), n, topic, Timeout)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("kafkatest: consuming %s[%d]: %v", topic, p, err)
		})
		out = append(out, fs.Records()...)
	}
	return out
}

// Committed returns group's committed offset per partition of topic; a
// partition with nothing committed (or a group that does not exist yet) is
// absent. Any other failure is fatal.
func Committed(t testing.TB, brokers []string, group, topic string) map[int32]int64 {
	t.Helper()
	adm := kadm.NewClient(Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	out := map[int32]int64{}
	resp, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return out
	}
	if err != nil {
		t.Fatalf("kafkatest: committed offsets of %s: %v", group, err)
	}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

// ClosedAddr returns a loopback host:port nothing listens on (a port just
// released), for tests of unreachable brokers.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
