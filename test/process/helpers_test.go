package process_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// consumerBin is the consumer binary TestMain builds for every test.
var consumerBin string

// EnvConsumerBin names an environment variable that, when set, is the path of
// a consumer binary to test instead of building ./cmd/consumer (e.g. a release
// build). It is not passed on to the consumer processes.
const EnvConsumerBin = "ZOHOSINK_TEST_CONSUMER_BIN"

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if bin := os.Getenv(EnvConsumerBin); bin != "" {
		consumerBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "zohosink-process-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "process tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	consumerBin = filepath.Join(dir, "consumer")
	args := []string{"build", "-o", consumerBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/zohosink/zohosink/cmd/consumer")
	cmd := exec.Command(goTool(), args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "process tests: go %s: %v\n", strings.Join(args, " "), err)
		return 1
	}
	return m.Run()
}

// goTool is the go command that runs these tests: `go test` puts
// $GOROOT/bin first on the PATH of its test binaries (Go 1.19 and later).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// env is one test's world: a broker, a fresh source topic, dead-letter topic
// and group, a Zoho simulator, and the consumer processes started so far.
type env struct {
	t        testing.TB
	dir      string
	brokers  []string
	topic    string
	dlqTopic string
	group    string
	sim      *zohosim.Server
	adm      *kadm.Client
	producer *kgo.Client

	mu    sync.Mutex
	procs []*proc
}

func newEnv(t testing.TB, partitions int32, simOpts zohosim.Options) *env {
	t.Helper()
	return newEnvOn(t, kafkatest.Brokers(t), partitions, simOpts)
}

// newEnvOn is newEnv on the cluster at brokers (a test's own kfake cluster,
// for a test that stops it).
func newEnvOn(t testing.TB, brokers []string, partitions int32, simOpts zohosim.Options) *env {
	t.Helper()
	e := &env{
		t:        t,
		dir:      t.TempDir(),
		brokers:  brokers,
		topic:    kafkatest.CreateTopic(t, brokers, partitions),
		dlqTopic: kafkatest.CreateTopic(t, brokers, 1),
		sim:      zohosim.New(simOpts),
		adm:      kadm.NewClient(kafkatest.Client(t, brokers)),
	}
	e.group = e.topic + ".group"
	e.producer = kafkatest.Client(t, brokers, kgo.DefaultProduceTopic(e.topic))
	// Cleanups run last-in first-out: processes stop before the simulator closes.
	t.Cleanup(e.sim.Close)
	t.Cleanup(e.stopAll)
	return e
}

// procConfig are the per-process settings a test varies; the rest are fast
// test values (short linger, commit interval and retries).
type procConfig struct {
	MaxRecords     int           // batch.max_records (default 10)
	MaxInFlight    int           // delivery.max_in_flight (default 2)
	SessionTimeout time.Duration // kafka.session_timeout (default 6s, Kafka's group.min.session.timeout.ms)
	ShutdownGrace  time.Duration // delivery.shutdown_grace (default 10s)
	RequestTimeout time.Duration // zoho.request_timeout (default 10s)
	Listen         string        // http.listen (default 127.0.0.1:0)
	// DefaultDelivery leaves delivery.* (but max_in_flight) and
	// zoho.request_timeout to the product's defaults instead of fast test values.
	DefaultDelivery bool
	// Defaults leaves every setting that has a default to the product's
	// (config.Defaults()): the file sets only where Kafka and Zoho are,
	// consent.required, http.listen and log.level. The other fields are ignored.
	Defaults bool
}

// writeConfig writes the configuration file of process name and returns its path.
func (e *env) writeConfig(name string, pc procConfig) string {
	e.t.Helper()
	if pc.MaxRecords == 0 {
		pc.MaxRecords = 10
	}
	if pc.MaxInFlight == 0 {
		pc.MaxInFlight = 2
	}
	if pc.SessionTimeout == 0 {
		pc.SessionTimeout = 6 * time.Second
	}
	if pc.ShutdownGrace == 0 {
		pc.ShutdownGrace = 10 * time.Second
	}
	if pc.RequestTimeout == 0 {
		pc.RequestTimeout = 10 * time.Second
	}
	if pc.Listen == "" {
		pc.Listen = "127.0.0.1:0"
	}
	cfg := map[string]any{
		"kafka": map[string]any{
			"brokers":         e.brokers,
			"topics":          []string{e.topic},
			"group":           e.group,
			"dlq_topic":       e.dlqTopic,
			"client_id":       name,
			"commit_interval": "100ms",
			"session_timeout": pc.SessionTimeout.String(),
			"tls":             kafkatest.SecurityYAML(e.brokers)["tls"],
			"sasl":            kafkatest.SecurityYAML(e.brokers)["sasl"],
		},
		"zoho": map[string]any{
			"api_domain":             e.sim.URL(),
			"accounts_url":           e.sim.URL(),
			"module":                 "Leads",
			"client_id":              e.sim.ClientID(),
			"client_secret":          e.sim.ClientSecret(),
			"refresh_token":          e.sim.RefreshToken(),
			"duplicate_check_fields": []string{"Email"},
			"request_timeout":        pc.RequestTimeout.String(),
			"token_cache_file":       "", // never the user's real token cache
		},
		"consent": map[string]any{"required": []string{"marketing"}},
		"batch":   map[string]any{"max_records": pc.MaxRecords, "linger": "20ms"},
		"delivery": map[string]any{
			"max_in_flight":        pc.MaxInFlight,
			"retry_initial":        "50ms",
			"retry_max":            "500ms",
			"throttle_backoff":     "200ms",
			"breaker_open_timeout": "500ms",
			"shutdown_grace":       pc.ShutdownGrace.String(),
		},
		"http": map[string]any{"listen": pc.Listen},
		"log":  map[string]any{"level": "warn"},
	}
	if pc.Defaults {
		k, z := cfg["kafka"].(map[string]any), cfg["zoho"].(map[string]any)
		delete(k, "commit_interval")
		delete(k, "session_timeout")
		delete(z, "request_timeout")
		delete(cfg, "batch")
		delete(cfg, "delivery")
	}
	if pc.DefaultDelivery {
		cfg["delivery"] = map[string]any{"max_in_flight": pc.MaxInFlight}
		delete(cfg["zoho"].(map[string]any), "request_timeout")
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// proc is one `consumer run` process.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	state   *os.ProcessState
	// stopping is set before the test signals the process: an exit after it is expected.
	stopping bool
}

// start runs `consumer run --config FILE` as process name; its stdout and
// stderr go to a file of the test's directory.
func (e *env) start(name string, pc procConfig) *proc {
	e.t.Helper()
	cfgPath := e.writeConfig(name, pc)
	logPath := filepath.Join(e.dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(consumerBin, "run", "--config", cfgPath)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		e.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		e.mu.Lock()
		p.state = cmd.ProcessState
		e.mu.Unlock()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	e.t.Logf("started %s (pid %d)", name, cmd.Process.Pid)
	return p
}

// childEnv is this process's environment without ZOHOSINK_* variables, so
// that only the configuration file configures the consumer.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ZOHOSINK_") {
			out = append(out, kv)
		}
	}
	if raceEnabled {
		out = append(out, "GORACE=halt_on_error=0")
	}
	return out
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process, marking its exit as expected.
func (e *env) signal(p *proc, sig syscall.Signal) {
	e.t.Helper()
	e.mu.Lock()
	p.stopping = true
	e.mu.Unlock()
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		e.t.Fatalf("signal %v to %s: %v", sig, p.name, err)
	}
	e.t.Logf("sent %v to %s", sig, p.name)
}

// kill ends the process with SIGKILL (a crash: nothing is shut down) and waits for it.
func (e *env) kill(p *proc) {
	e.t.Helper()
	e.signal(p, syscall.SIGKILL)
	<-p.done
}

// terminate sends SIGTERM and waits up to within for the process to exit; it
// returns the exit status (-1 for a signal) and fails the test when the
// process does not exit in time.
func (e *env) terminate(p *proc, within time.Duration) int {
	e.t.Helper()
	e.signal(p, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(within):
		e.t.Fatalf("%s did not exit within %v of SIGTERM", p.name, within)
	}
	return p.state.ExitCode()
}

// stopAll kills the processes still running, fails the test on a data race
// reported by any process, and prints every process's output when the test failed.
func (e *env) stopAll() {
	e.mu.Lock()
	procs := append([]*proc(nil), e.procs...)
	e.mu.Unlock()
	for _, p := range procs {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	for _, p := range procs {
		out, _ := os.ReadFile(p.logPath)
		if bytes.Contains(out, []byte("WARNING: DATA RACE")) {
			e.t.Errorf("%s reported a data race", p.name)
		}
		if e.t.Failed() {
			e.t.Logf("---- output of %s (%s) ----\n%s---- end of %s ----", p.name, p.state, out, p.name)
		}
	}
}

// waitLog waits until p's output contains text.
func (e *env) waitLog(p *proc, timeout time.Duration, text string) {
	e.t.Helper()
	e.eventually(timeout, p.name+" logs "+strconv.Quote(text), func() bool {
		out, _ := os.ReadFile(p.logPath)
		return bytes.Contains(out, []byte(text))
	})
}

// checkAlive fails the test when a process exited without being told to.
func (e *env) checkAlive() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.procs {
		if !p.stopping && p.state != nil {
			e.t.Fatalf("%s exited on its own: %v", p.name, p.state)
		}
	}
}

// eventually polls cond every 50ms until it holds, failing the test after
// timeout or as soon as a process exits on its own.
func (e *env) eventually(timeout time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		e.checkAlive()
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// identify is an identify event of user i (email user-i@example.com) with
// marketing consent; its Last_Name carries seq, so the Lead shows which event
// Zoho saw last.
func identify(user, seq int) *kgo.Record {
	userID := fmt.Sprintf("user-%03d", user)
	v, _ := json.Marshal(map[string]any{
		"type":      "identify",
		"messageId": fmt.Sprintf("m-%s-%d", userID, seq),
		"userId":    userID,
		"traits": map[string]any{
			"email":    email(user),
			"lastName": lastName(seq),
			"company":  "Acme Ltd",
		},
		"context": map[string]any{"consent": map[string]any{"categories": map[string]any{"marketing": true}}},
	})
	return &kgo.Record{Key: []byte(userID), Value: v}
}

func email(user int) string   { return fmt.Sprintf("user-%03d@example.com", user) }
func lastName(seq int) string { return fmt.Sprintf("seq-%05d", seq) }

// stream is a sequence of identify events over users emails, round robin: the
// i-th event is user i%users with sequence value i/users, so every user's
// values increase with its events' offsets.
type stream struct {
	users int
	next  int // index of the next event
}

// take returns the next n events.
func (s *stream) take(n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for k := range recs {
		recs[k] = identify(s.next%s.users, s.next/s.users)
		s.next++
	}
	return recs
}

// last returns the sequence value of each user's last event so far (-1: none).
func (s *stream) last(user int) int {
	if user >= s.next {
		return -1
	}
	return (s.next - 1 - user) / s.users
}

// produce writes recs to the source topic, partitioned by key, and waits for the acks.
func (e *env) produce(recs []*kgo.Record) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if err := e.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		e.t.Fatalf("produce %d records: %v", len(recs), err)
	}
}

// endOffsets returns the log end offset of every partition of topic.
func (e *env) endOffsets(topic string) map[int32]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := e.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		e.t.Fatalf("end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// committed returns the group's committed offset per partition of the source
// topic (absent: nothing committed).
func (e *env) committed() map[int32]int64 {
	e.t.Helper()
	return kafkatest.Committed(e.t, e.brokers, e.group, e.topic)
}

// behind returns how many records of the source topic lie between the
// committed offsets and ends.
func behind(ends, committed map[int32]int64) int64 {
	var n int64
	for p, end := range ends {
		n += end - committed[p]
	}
	return n
}

// waitCommitted waits until the group's committed offsets reach the current
// log end of every partition of the source topic.
func (e *env) waitCommitted(timeout time.Duration) {
	e.t.Helper()
	ends := e.endOffsets(e.topic)
	var last map[int32]int64
	e.eventually(timeout, "the committed offsets reach the log end", func() bool {
		last = e.committed()
		return behind(ends, last) == 0
	})
	e.t.Logf("committed offsets reached the log end: %v", sortedOffsets(ends))
}

func sortedOffsets(m map[int32]int64) string {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%d:%d ", p, m[p])
	}
	return strings.TrimSpace(b.String())
}

// checkLeads asserts the exact final state: one Lead per user, each holding
// the sequence value of its user's last event, and nothing rejected or
// dead-lettered.
func (e *env) checkLeads(s *stream) {
	e.t.Helper()
	bad := 0
	for u := range s.users {
		want := s.last(u)
		if want < 0 {
			continue
		}
		lead, ok := e.sim.Lead(email(u))
		switch {
		case !ok:
			e.t.Errorf("%s: no Lead in Zoho, want Last_Name %s", email(u), lastName(want))
			bad++
		case lead["Last_Name"] != lastName(want):
			e.t.Errorf("%s: Lead has Last_Name %v, want %s (its last event)", email(u), lead["Last_Name"], lastName(want))
			bad++
		}
		if bad > 20 {
			e.t.Fatal("too many wrong Leads, stopping here")
		}
	}
	if n := len(e.sim.Records("Leads")); n != min(s.users, s.next) {
		e.t.Errorf("Zoho holds %d Leads, want %d (one per email)", n, min(s.users, s.next))
	}
	st := e.sim.Stats()
	if st.RecordErrors != 0 {
		e.t.Errorf("Zoho rejected %d records: %v", st.RecordErrors, st.RecordErrorCodes)
	}
	if n := behind(e.endOffsets(e.dlqTopic), nil); n != 0 {
		e.t.Errorf("%d records were dead-lettered, want none", n)
	}
	e.t.Logf("zoho: %d upsert calls, %d records received, %d inserts, %d updates, statuses %v",
		st.UpsertCalls, st.RecordsReceived, st.Inserts, st.Updates, st.Status)
}

// members returns, per client id, the partitions of the source topic assigned
// to the group's members (a member without any is listed too), or nil
// while the group is not stable.
func (e *env) members() map[string][]int32 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	groups, err := e.adm.DescribeGroups(ctx, e.group)
	if err != nil {
		return nil // the coordinator may be moving; the caller polls
	}
	g, ok := groups[e.group]
	if !ok || g.Err != nil || g.State != "Stable" {
		return nil
	}
	out := map[string][]int32{}
	for _, m := range g.Members {
		parts := out[m.ClientID]
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				if t.Topic == e.topic {
					parts = append(parts, t.Partitions...)
				}
			}
		}
		out[m.ClientID] = parts
	}
	return out
}
