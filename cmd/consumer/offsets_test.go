package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"
	"gopkg.in/yaml.v3"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/demo"
	"github.com/zohosink/zohosink/groupoffsets"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/wiring"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// opsEnv is the setup of the operators' command tests: a Kafka protocol broker
// (kfake, or $KAFKA_BROKERS), a source topic, a dead-letter topic, a group name,
// the Zoho simulator, and a YAML configuration file pointing at them.
type opsEnv struct {
	t        *testing.T
	brokers  []string
	topic    string
	dlqTopic string
	group    string
	sim      *zohosim.Server
	cfgPath  string
}

func newOpsEnv(t *testing.T, partitions int32) *opsEnv {
	t.Helper()
	return newOpsEnvOn(t, kafkatest.Brokers(t), partitions)
}

// newOpsEnvOn is newOpsEnv on the cluster of brokers (e.g. a
// kafkatest.SecureFakeCluster).
func newOpsEnvOn(t *testing.T, brokers []string, partitions int32) *opsEnv {
	t.Helper()
	e := &opsEnv{
		t:        t,
		brokers:  brokers,
		topic:    kafkatest.CreateTopic(t, brokers, partitions),
		dlqTopic: kafkatest.CreateTopic(t, brokers, 1),
		sim:      zohosim.New(zohosim.Options{}),
	}
	e.group = e.topic + "-group"
	t.Cleanup(e.sim.Close)
	e.cfgPath = e.writeConfig(e.settings())
	return e
}

// settings are the configuration of the environment as YAML sections; tests
// change them and write them with writeConfig.
func (e *opsEnv) settings() map[string]map[string]any {
	return map[string]map[string]any{
		"kafka": {
			"brokers": e.brokers, "topics": []string{e.topic}, "group": e.group, "dlq_topic": e.dlqTopic,
			"commit_interval": "50ms", "session_timeout": "10s",
			"tls": kafkatest.SecurityYAML(e.brokers)["tls"], "sasl": kafkatest.SecurityYAML(e.brokers)["sasl"],
		},
		"zoho": {
			"api_domain": e.sim.URL(), "accounts_url": e.sim.URL(),
			"client_id": e.sim.ClientID(), "client_secret": e.sim.ClientSecret(), "refresh_token": e.sim.RefreshToken(),
			"request_timeout": "10s", "token_cache_file": "", // never the user's real token cache
		},
		"batch":    {"linger": "50ms"},
		"delivery": {"retry_initial": "10ms", "retry_max": "100ms", "shutdown_grace": "5s"},
		"log":      {"level": "warn"},
	}
}

// writeConfig writes settings to a new YAML file and returns its path.
func (e *opsEnv) writeConfig(s map[string]map[string]any) string {
	e.t.Helper()
	b, err := yaml.Marshal(s)
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.t.TempDir(), "zohosink.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// writeConfigAs writes e's settings with the SASL credentials of user (on a
// cluster that requires SASL) and returns the file's path.
func (e *opsEnv) writeConfigAs(user, password string) string {
	e.t.Helper()
	s := e.settings()
	sasl := s["kafka"]["sasl"].(map[string]any)
	sasl["username"], sasl["password"] = user, password
	return e.writeConfig(s)
}

// run runs `consumer ARGS --config e.cfgPath` and returns its stdout.
func (e *opsEnv) run(args ...string) (string, error) {
	return runConsumer(e.cfgPath, args...)
}

// runConsumer runs the root command with args and --config path, capturing stdout.
func runConsumer(path string, args ...string) (string, error) {
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(slices.Clone(args), "--config", path))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// startPipeline runs the pipeline as `consumer run` wires it, from the
// configuration file; the returned function stops it (idempotent).
func (e *opsEnv) startPipeline() func() {
	e.t.Helper()
	cfg, err := config.Load(e.cfgPath, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	log := zaptest.NewLogger(e.t)
	p, err := wiring.NewPipeline(cfg, log)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("pipeline: %v", err)
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// waitCommitted waits until the group committed the end of every partition.
func (e *opsEnv) waitCommitted() {
	e.t.Helper()
	if err := demo.WaitCommitted(context.Background(), kafkatest.ConnOptions(e.t, e.brokers), e.group, e.topic, 60*time.Second); err != nil {
		e.t.Fatalf("waiting for the group to commit every record: %v", err)
	}
}

func (e *opsEnv) admin() *kadm.Client {
	return kadm.NewClient(kafkatest.Client(e.t, e.brokers))
}

// committed returns the group's committed offsets of the source topic.
func (e *opsEnv) committed() map[int32]int64 {
	e.t.Helper()
	return kafkatest.Committed(e.t, e.brokers, e.group, e.topic)
}

// endOffsets returns the log end offset of every partition of the source topic.
func (e *opsEnv) endOffsets() map[int32]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := e.admin().ListEndOffsets(ctx, e.topic)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// waitActive waits until the group is Stable with at least one member.
func (e *opsEnv) waitActive() {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		gs, err := e.admin().DescribeGroups(ctx, e.group)
		cancel()
		if err == nil && gs[e.group].State == "Stable" && len(gs[e.group].Members) > 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("group %s did not become Stable with a member", e.group)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// identify is an identify event of user with marketing consent, produced
// with record timestamp ts (zero: now) and keyed by user.
func identify(user string, ts time.Time) *kgo.Record {
	v, _ := json.Marshal(map[string]any{
		"type": "identify", "userId": user, "messageId": "m-" + user,
		"traits":  map[string]any{"email": user + "@example.com", "lastName": "L-" + user, "company": "Acme"},
		"context": map[string]any{"consent": map[string]any{"categories": map[string]any{"marketing": true}}},
	})
	return &kgo.Record{Key: []byte(user), Value: v, Timestamp: ts}
}

func leadEmails(sim *zohosim.Server) []string {
	var out []string
	for _, r := range sim.Records("Leads") {
		out = append(out, fmt.Sprint(r["Email"]))
	}
	sort.Strings(out)
	return out
}

// TestOffsetsResetDatetimeReplaysEventsAfterIt resets the group to a time
// between two sets of events and checks that the next run delivers exactly the
// events at or after it into Zoho, and nothing else.
func TestOffsetsResetDatetimeReplaysEventsAfterIt(t *testing.T) {
	e := newOpsEnv(t, 2)
	cut := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	var recs []*kgo.Record
	for i := range 4 {
		recs = append(recs, identify(fmt.Sprintf("before-%d", i), cut.Add(-time.Duration(10-i)*time.Minute)))
	}
	for i := range 3 {
		recs = append(recs, identify(fmt.Sprintf("after-%d", i), cut.Add(time.Duration(i+1)*time.Minute)))
	}
	kafkatest.Produce(t, e.brokers, e.topic, recs...)

	stop := e.startPipeline()
	e.waitCommitted()
	stop()
	if got := len(e.sim.Records("Leads")); got != 7 {
		t.Fatalf("first run: %d leads in Zoho, want 7", got)
	}
	e.sim.Reset() // forget the leads: what follows is the replay only

	out, err := e.run("offsets", "reset", "--to", "datetime="+cut.Format(time.RFC3339), "--execute")
	if err != nil {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Reset plan for group", "datetime=" + cut.Format(time.RFC3339),
		"Records to replay: 3; estimated Zoho API credits: at most 1",
		"Committed the new offsets of 2 partition(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("reset output lacks %q:\n%s", want, out)
		}
	}
	ends, committed := e.endOffsets(), e.committed()
	var behind int64
	for p, end := range ends {
		behind += end - committed[p]
	}
	if behind != 3 {
		t.Fatalf("after the reset the group is %d records behind the log end, want 3 (committed %v, ends %v)", behind, committed, ends)
	}

	stop = e.startPipeline()
	e.waitCommitted()
	stop()
	want := []string{"after-0@example.com", "after-1@example.com", "after-2@example.com"}
	if got := leadEmails(e.sim); !slices.Equal(got, want) {
		t.Errorf("replay delivered %v, want exactly %v", got, want)
	}
	if got := e.sim.Stats().RecordsReceived; got != 3 {
		t.Errorf("Zoho received %d records in the replay, want 3", got)
	}
}

// TestOffsetsResetRefusedWhileGroupActive checks that --execute is refused
// while a pipeline is a member of the group, and that nothing changes.
func TestOffsetsResetRefusedWhileGroupActive(t *testing.T) {
	e := newOpsEnv(t, 1)
	kafkatest.Produce(t, e.brokers, e.topic, identify("a", time.Time{}), identify("b", time.Time{}))
	e.startPipeline()
	e.waitCommitted()
	e.waitActive()
	before := e.committed()

	out, err := e.run("offsets", "reset", "--to", "earliest", "--execute")
	var active *groupoffsets.GroupActiveError
	if !errors.As(err, &active) {
		t.Fatalf("reset on an active group: err = %v, want a GroupActiveError\n%s", err, out)
	}
	msg := err.Error()
	for _, want := range []string{"Stable", "1 active member", "Stop every `consumer run` of group \"" + e.group + "\" first", "Nothing was changed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q: %s", want, msg)
		}
	}
	if !strings.Contains(out, "member ") {
		t.Errorf("refusal does not list the members:\n%s", out)
	}
	if after := e.committed(); !mapsEqual(before, after) {
		t.Errorf("committed offsets changed from %v to %v", before, after)
	}

	// A dry run still shows the plan, and warns that --execute would be refused.
	out, err = e.run("offsets", "reset", "--to", "earliest")
	if err != nil {
		t.Fatalf("dry run on an active group: %v", err)
	}
	if !strings.Contains(out, "Dry run: nothing changed. Note: --execute will be refused now") {
		t.Errorf("dry run does not warn about the active group:\n%s", out)
	}
}

// TestOffsetsResetDryRunChangesNothing checks the plan of a dry run (with
// clamping) and that neither the default nor --dry-run commits anything.
func TestOffsetsResetDryRunChangesNothing(t *testing.T) {
	e := newOpsEnv(t, 1)
	kafkatest.Produce(t, e.brokers, e.topic, identify("a", time.Time{}), identify("b", time.Time{}), identify("c", time.Time{}))
	stop := e.startPipeline()
	e.waitCommitted()
	stop()
	before := e.committed()
	calls := e.sim.Stats().UpsertCalls

	for _, args := range [][]string{
		{"offsets", "reset", "--to", "earliest"},
		{"offsets", "reset", "--to", "earliest", "--dry-run"},
	} {
		out, err := e.run(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		row := regexp.MustCompile(`│ ` + regexp.QuoteMeta(e.topic) + ` +│ 0 +│ 3 +│ 0 +│ 3 +│`)
		if !row.MatchString(out) || !strings.Contains(out, "Records to replay: 3") || !strings.Contains(out, "Dry run: nothing changed") {
			t.Errorf("%v: plan is not current 3 → target 0, 3 to replay:\n%s", args, out)
		}
	}
	out, err := e.run("offsets", "reset", "--to", "offset=1000", "--topic", e.topic+":0")
	if err != nil {
		t.Fatalf("offset=1000: %v\n%s", err, out)
	}
	if !strings.Contains(out, "1000 is past the log end: clamped to 3") {
		t.Errorf("offset=1000 is not clamped to the log end:\n%s", out)
	}
	if after := e.committed(); !mapsEqual(before, after) {
		t.Errorf("a dry run changed the committed offsets from %v to %v", before, after)
	}
	if got := e.sim.Stats().UpsertCalls; got != calls {
		t.Errorf("a dry run made %d upsert calls", got-calls)
	}

	if _, err := e.run("offsets", "reset", "--to", "earliest", "--dry-run", "--execute"); err == nil {
		t.Error("--dry-run together with --execute is accepted")
	}
	if _, err := e.run("offsets", "reset", "--to", "earliest", "--topic", "other"); err == nil || !strings.Contains(err.Error(), "not one of kafka.topics") {
		t.Errorf("--topic of another topic: err = %v", err)
	}
}

// TestOffsetsShow checks the table, the totals and the group's state, idle and
// with a running member.
func TestOffsetsShow(t *testing.T) {
	e := newOpsEnv(t, 2)
	out, err := e.run("offsets", "show")
	if err != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("Group %q: Dead, 0 member(s)", e.group)) || !strings.Contains(out, `"-": nothing committed yet`) {
		t.Errorf("show of a new group:\n%s", out)
	}

	kafkatest.Produce(t, e.brokers, e.topic, identify("a", time.Time{}), identify("b", time.Time{}), identify("c", time.Time{}), identify("d", time.Time{}))
	stop := e.startPipeline()
	e.waitCommitted()
	e.waitActive()
	out, err = e.run("offsets", "show")
	if err != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("Group %q: Stable, 1 member(s)", e.group)) || !strings.Contains(out, "partitions "+e.topic+"[0 1]") {
		t.Errorf("show of a running group lacks its state or member:\n%s", out)
	}
	stop()

	kafkatest.Produce(t, e.brokers, e.topic, identify("e", time.Time{}), identify("f", time.Time{}))
	out, err = e.run("offsets", "show")
	if err != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("Group %q: Empty, 0 member(s)", e.group)) {
		t.Errorf("show of a stopped group:\n%s", out)
	}
	committed, ends := e.committed(), e.endOffsets()
	for p := range int32(2) {
		row := fmt.Sprintf(`│ %s +│ %d +│ %d +│ 0 +│ %d +│ %d +│`, regexp.QuoteMeta(e.topic), p, committed[p], ends[p], ends[p]-committed[p])
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("no row %s:\n%s", row, out)
		}
	}
	if !regexp.MustCompile(`│ total +│ 2 partitions +│ +│ +│ 6 records +│ 2 +│`).MatchString(out) {
		t.Errorf("totals are not 6 records, lag 2:\n%s", out)
	}
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestOffsetsNeedOnlyKafkaConfig: an operator's machine without the Zoho
// secrets can still show and plan offsets; a Kafka problem still stops them.
func TestOffsetsNeedOnlyKafkaConfig(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	delete(s["zoho"], "client_secret")
	delete(s["zoho"], "refresh_token")
	path := e.writeConfig(s)
	if out, err := runConsumer(path, "offsets", "show"); err != nil || !strings.Contains(out, "Dead, 0 member(s)") {
		t.Errorf("offsets show without Zoho secrets: %v\n%s", err, out)
	}
	if out, err := runConsumer(path, "offsets", "reset", "--to", "earliest"); err != nil || !strings.Contains(out, "Dry run: nothing changed") {
		t.Errorf("offsets reset without Zoho secrets: %v\n%s", err, out)
	}
	s["kafka"]["group"] = ""
	if _, err := runConsumer(e.writeConfig(s), "offsets", "show"); err == nil || !strings.Contains(err.Error(), "kafka.group: is required") {
		t.Errorf("offsets show without kafka.group: err = %v", err)
	}
}

// TestOffsetsShowStartLatest: with kafka.start_offset latest, a partition
// without a commit is said to start at the log end, not at the log start.
func TestOffsetsShowStartLatest(t *testing.T) {
	e := newOpsEnv(t, 1)
	t.Setenv("ZOHOSINK_KAFKA_START_OFFSET", "latest")
	out, err := e.run("offsets", "show")
	if err != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if !strings.Contains(out, "the group starts at the log end (kafka.start_offset latest)") || strings.Contains(out, "starts at the log start") {
		t.Errorf("show of a new group starting at the log end:\n%s", out)
	}
}
