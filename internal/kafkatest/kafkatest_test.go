package kafkatest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

func TestCreateTopicIsUniqueWithAllPartitionsLed(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	a := kafkatest.CreateTopic(t, brokers, 12)
	b := kafkatest.CreateTopic(t, brokers, 1)
	if a == b {
		t.Fatalf("two CreateTopic calls returned the same name %q", a)
	}
	adm := kadm.NewClient(kafkatest.Client(t, brokers))
	md, err := adm.Metadata(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{a: 12, b: 1} {
		td := md.Topics[name]
		if td.Err != nil || len(td.Partitions) != want {
			t.Errorf("topic %s: err %v, %d partitions, want %d", name, td.Err, len(td.Partitions), want)
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 {
				t.Errorf("topic %s partition %d has no leader", name, p.Partition)
			}
		}
	}
}

// TestProduceConsumeRoundTrip: keyed records keep their key, value, headers,
// and per-key order across a multi-partition topic.
func TestProduceConsumeRoundTrip(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 3)
	const users, perUser = 5, 6
	var recs []*kgo.Record
	for i := 0; i < perUser; i++ {
		for u := 0; u < users; u++ {
			recs = append(recs, &kgo.Record{
				Key:     []byte(fmt.Sprintf("user-%d", u)),
				Value:   []byte(fmt.Sprintf(`{"seq":%d}`, i)),
				Headers: []kgo.RecordHeader{{Key: "n", Value: []byte(fmt.Sprint(i))}},
			})
		}
	}
	kafkatest.Produce(t, brokers, topic, recs...)

	got := kafkatest.Consume(t, brokers, topic, len(recs))
	if len(got) != len(recs) {
		t.Fatalf("consumed %d records, want %d", len(got), len(recs))
	}
	next := map[string]int{}
	partitionOf := map[string]int32{}
	for _, r := range got {
		k := string(r.Key)
		if p, ok := partitionOf[k]; ok && p != r.Partition {
			t.Errorf("key %s in partitions %d and %d", k, p, r.Partition)
		}
		partitionOf[k] = r.Partition
		want := fmt.Sprintf(`{"seq":%d}`, next[k])
		if string(r.Value) != want {
			t.Errorf("key %s: value %s, want %s (per-key order)", k, r.Value, want)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "n" || string(r.Headers[0].Value) != fmt.Sprint(next[k]) {
			t.Errorf("key %s: headers %v", k, r.Headers)
		}
		next[k]++
	}
	for u := 0; u < users; u++ {
		if k := fmt.Sprintf("user-%d", u); next[k] != perUser {
			t.Errorf("key %s: %d records, want %d", k, next[k], perUser)
		}
	}
}

// TestGroupCommitRoundTrip: offsets a group member commits are what the
// broker reports for the group, and a new member of the group resumes after
// them, receiving only later records.
func TestGroupCommitRoundTrip(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 2)
	group := "g." + topic
	var first []*kgo.Record
	for i := 0; i < 10; i++ {
		first = append(first, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("first-%d", i))})
	}
	kafkatest.Produce(t, brokers, topic, first...)

	consumeGroup := func(n int) []*kgo.Record {
		t.Helper()
		cl, err := kgo.NewClient(append(kafkatest.ConnOptions(t, brokers),
			kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(),
		)...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
		defer cancel()
		var got []*kgo.Record
		for len(got) < n {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("group consumed %d of %d records", len(got), n)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s[%d]: %v", topic, p, err) })
			got = append(got, fs.Records()...)
		}
		if err := cl.CommitRecords(ctx, got...); err != nil {
			t.Fatalf("commit: %v", err)
		}
		cl.LeaveGroup()
		return got
	}

	got := consumeGroup(len(first))
	if len(got) != len(first) {
		t.Fatalf("first member got %d records, want %d", len(got), len(first))
	}

	adm := kadm.NewClient(kafkatest.Client(t, brokers))
	ctx := context.Background()
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(e kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, e.Partition)
		if e.Offset == 0 {
			return // nothing was written there, nothing to commit
		}
		if !ok || c.Err != nil || c.At != e.Offset {
			t.Errorf("partition %d: committed %+v (found %v), want %d", e.Partition, c, ok, e.Offset)
		}
	})

	var second []*kgo.Record
	for i := 0; i < 4; i++ {
		second = append(second, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("second-%d", i))})
	}
	kafkatest.Produce(t, brokers, topic, second...)
	got = consumeGroup(len(second))
	if len(got) != len(second) {
		t.Fatalf("second member got %d records, want %d", len(got), len(second))
	}
	for _, r := range got {
		if !strings.HasPrefix(string(r.Value), "second-") {
			t.Errorf("second member re-read committed record %s", r.Value)
		}
	}
}

func TestExternalMatchesEnv(t *testing.T) {
	t.Setenv(kafkatest.EnvBrokers, "")
	t.Setenv(kafkatest.EnvTestcontainers, "")
	if kafkatest.External() {
		t.Error("External() with no env = true")
	}
	t.Setenv(kafkatest.EnvBrokers, "127.0.0.1:1")
	if !kafkatest.External() {
		t.Error("External() with KAFKA_BROKERS set = false")
	}
}

func rec(key, value string) *kgo.Record {
	return &kgo.Record{Key: []byte(key), Value: []byte(value)}
}
