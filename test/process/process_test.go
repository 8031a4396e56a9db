package process_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestCrashAndRestart kills a process with SIGKILL while it delivers (nothing
// shut down, in-flight calls cut off), produces more events, and starts a new
// process: once the group has committed everything, every Lead holds its
// email's last value. Re-deliveries of what the first process sent but did not
// commit are expected; upserts are idempotent.
func TestCrashAndRestart(t *testing.T) {
	// 100ms per call, 10 records per call, 2 calls in flight: delivering the
	// first 300 events takes over a second, so the kill lands mid-stream.
	e := newEnv(t, 4, zohosim.Options{Latency: 100 * time.Millisecond})
	s := &stream{users: 50}
	e.produce(s.take(300))

	first := e.start("crash-1", procConfig{})
	e.eventually(60*time.Second, "Zoho received the first records", func() bool {
		return e.sim.Stats().RecordsReceived >= 30
	})
	e.kill(first)
	left := behind(e.endOffsets(e.topic), e.committed())
	if left == 0 {
		t.Fatalf("crash-1 committed all 300 events before it was killed: the test did not crash it mid-stream")
	}
	t.Logf("killed crash-1 with %d of 300 events uncommitted; Zoho had received %d records", left, e.sim.Stats().RecordsReceived)

	e.produce(s.take(200))
	second := e.start("crash-2", procConfig{})
	e.waitCommitted(90 * time.Second)
	e.checkLeads(s)
	if code := e.terminate(second, 20*time.Second); code != 0 {
		t.Errorf("crash-2 exited with status %d after SIGTERM, want 0", code)
	}
}

// TestRebalanceThreeProcesses runs three processes in one group over a
// 12-partition topic while events keep arriving: two start at once, a third
// joins mid-stream (cooperative rebalance: partitions move from the first two
// to it), then one of the first two is killed with SIGKILL (its partitions are
// reassigned once its session expires). When the group has committed
// everything, every Lead is in the exact expected state: its email's last value.
func TestRebalanceThreeProcesses(t *testing.T) {
	e := newEnv(t, 12, zohosim.Options{Latency: 10 * time.Millisecond, Jitter: 30 * time.Millisecond})
	s := &stream{users: 200}
	// 3 processes × 3 calls in flight stay under the simulator's limit of 10.
	pc := procConfig{MaxRecords: 20, MaxInFlight: 3}
	e.start("member-a", pc)
	b := e.start("member-b", pc)

	const rounds, perRound, burst = 40, 50, 200
	for r := range rounds {
		e.produce(s.take(perRound))
		switch r {
		case 10:
			e.eventually(60*time.Second, "Zoho received the first records", func() bool {
				return e.sim.Stats().RecordsReceived > 0
			})
			e.start("member-c", pc)
		case 25:
			var group map[string][]int32
			e.eventually(60*time.Second, "all three members own partitions", func() bool {
				group = e.members()
				return len(group) == 3 && len(group["member-a"]) > 0 && len(group["member-b"]) > 0 && len(group["member-c"]) > 0
			})
			// A burst, so that member-b has work when it is killed: the kill
			// comes as soon as Zoho starts receiving the burst.
			before := e.sim.Stats().RecordsReceived
			e.produce(s.take(burst))
			e.eventually(60*time.Second, "Zoho receives the burst", func() bool {
				return e.sim.Stats().RecordsReceived > before
			})
			ends, committed := e.endOffsets(e.topic), e.committed()
			var left int64
			for _, p := range group["member-b"] {
				left += ends[p] - committed[p]
			}
			e.kill(b)
			t.Logf("killed member-b (partitions %v) with %d of its events uncommitted; group was %v", group["member-b"], left, group)
		}
		e.checkAlive()
		time.Sleep(50 * time.Millisecond) // pacing, not an assertion: events keep arriving during the rebalances
	}
	t.Logf("produced %d events over %d emails", s.next, s.users)

	// member-b's partitions move once its session (6s) expires.
	e.waitCommitted(90 * time.Second)
	e.checkLeads(s)
	t.Logf("group at the end: %v", e.members())
	for _, p := range e.procs {
		if p == b {
			continue
		}
		if code := e.terminate(p, 20*time.Second); code != 0 {
			t.Errorf("%s exited with status %d after SIGTERM, want 0", p.name, code)
		}
	}
}

// TestCleanShutdown stops a process with SIGTERM mid-stream, twice: once with
// calls that finish within the shutdown grace, once with calls that cannot
// (Zoho slower than the grace: they are abandoned). Each time the process
// exits 0 and the committed offsets pass no record Zoho has not acknowledged;
// a last process delivers the rest.
func TestCleanShutdown(t *testing.T) {
	e := newEnv(t, 4, zohosim.Options{Latency: 100 * time.Millisecond})
	s := &stream{users: 50}
	var produced []*kgo.Record
	produce := func(n int) {
		recs := s.take(n)
		e.produce(recs)
		produced = append(produced, recs...)
	}
	produce(400)

	// In-flight calls (100ms) finish well within the grace.
	const grace = 10 * time.Second
	first := e.start("term-1", procConfig{ShutdownGrace: grace})
	e.eventually(60*time.Second, "Zoho received the first records", func() bool {
		return e.sim.Stats().RecordsReceived >= 20
	})
	if code := e.terminate(first, grace); code != 0 {
		t.Fatalf("term-1 exited with status %d after SIGTERM, want 0", code)
	}
	left := e.checkCommitNotPastUndelivered(produced)
	t.Logf("term-1 stopped with %d of %d events uncommitted", left, len(produced))

	// In-flight calls (Zoho answers after 3s) outlast the grace (1s): they are
	// abandoned and their records must stay uncommitted.
	produce(100)
	e.sim.SetLatency(3*time.Second, 0)
	const shortGrace = time.Second
	second := e.start("term-2", procConfig{ShutdownGrace: shortGrace})
	e.eventually(60*time.Second, "term-2 has an upsert call in flight", func() bool {
		return e.sim.Stats().InFlight > 0
	})
	// The process waits out the grace, then commits, leaves the group and exits.
	if code := e.terminate(second, shortGrace+10*time.Second); code != 0 {
		t.Fatalf("term-2 exited with status %d after SIGTERM, want 0", code)
	}
	left = e.checkCommitNotPastUndelivered(produced)
	if left == 0 {
		t.Fatalf("term-2 committed every event although its calls were abandoned")
	}
	t.Logf("term-2 stopped with %d of %d events uncommitted", left, len(produced))

	e.sim.SetLatency(0, 0)
	third := e.start("term-3", procConfig{})
	e.waitCommitted(60 * time.Second)
	e.checkLeads(s)
	if code := e.terminate(third, grace); code != 0 {
		t.Errorf("term-3 exited with status %d after SIGTERM, want 0", code)
	}
}

// checkCommitNotPastUndelivered asserts that every produced record below its
// partition's committed offset reached Zoho: its email's Lead holds its value
// or a later one (values increase per email and Zoho sees them in order). It
// returns the number of records not yet committed. Call it while no process runs.
func (e *env) checkCommitNotPastUndelivered(produced []*kgo.Record) int64 {
	e.t.Helper()
	committed := e.committed()
	bad := 0
	for _, r := range produced {
		if r.Offset >= committed[r.Partition] {
			continue
		}
		var ev struct {
			Traits struct {
				Email    string `json:"email"`
				LastName string `json:"lastName"`
			} `json:"traits"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			e.t.Fatal(err)
		}
		lead, ok := e.sim.Lead(ev.Traits.Email)
		got, _ := lead["Last_Name"].(string)
		if !ok || got < ev.Traits.LastName {
			e.t.Errorf("partition %d offset %d (%s, %s) is committed (committed offset %d) but Zoho has %q",
				r.Partition, r.Offset, ev.Traits.Email, ev.Traits.LastName, committed[r.Partition], got)
			if bad++; bad > 20 {
				e.t.FailNow()
			}
		}
	}
	return behind(e.endOffsets(e.topic), committed)
}
