package process_test

import (
	"os"
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// EnvKnownIssues names an environment variable that, set to "1", runs the
// tests of known, not yet fixed issues (they are skipped otherwise).
const EnvKnownIssues = "ZOHOSINK_TEST_KNOWN_ISSUES"

// TestRevokeAfterGraceKeepsOrder: a process whose upsert call hangs loses half
// of its partitions to a second process that joins; the revocation's grace
// (1s) runs out while the call still hangs. The new owner delivers the moved
// partitions' events, old and new; then the old owner's call times out. The
// final state must still be each email's last value.
//
// Known issue (fails today): pipeline.send filters out records of forgotten
// partitions once, before the first attempt, but deliver retries the same
// batch until it succeeds; revoked (after its grace) and lost forget the
// partitions without stopping those deliveries. The old owner's retry then
// re-sends the older values of the moved partitions after the new owner
// delivered and committed newer ones, and Zoho keeps the older value.
func TestRevokeAfterGraceKeepsOrder(t *testing.T) {
	if os.Getenv(EnvKnownIssues) != "1" {
		t.Skipf("known issue: a batch of revoked partitions is retried after the revocation's grace and overwrites the new owner's newer values (set %s=1 to run)", EnvKnownIssues)
	}
	e := newEnv(t, 4, zohosim.Options{})
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range e.sim.Calls() {
				t.Logf("zoho call %s→%s: status %d %s, %d records, emails %v",
					c.Start.Format("15:04:05.000"), c.End.Format("15:04:05.000"), c.Status, c.Code, c.Records, c.Emails)
			}
		}
	})
	s := &stream{users: 40}
	e.produce(s.take(40)) // seq 0 for every email

	pc := procConfig{MaxRecords: 100, MaxInFlight: 1, ShutdownGrace: time.Second, RequestTimeout: 10 * time.Second}
	e.sim.HangNext(1)
	e.start("owner-a", pc)
	e.eventually(30*time.Second, "owner-a's first call hangs in Zoho", func() bool { return e.sim.Stats().InFlight > 0 })
	e.start("owner-b", pc)
	e.eventually(30*time.Second, "owner-b owns partitions", func() bool {
		m := e.members()
		return len(m["owner-a"]) > 0 && len(m["owner-b"]) > 0
	})
	t.Logf("group: %v", e.members())
	e.produce(s.take(40)) // seq 1 for every email
	e.waitCommitted(60 * time.Second)
	e.checkLeads(s)
}
