package process_test

import (
	"testing"
	"time"

	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestRevokeAfterGraceKeepsOrder: a process whose upsert call hangs loses half
// of its partitions to a second process that joins; the revocation's grace
// (1s) runs out while the call still hangs. The new owner delivers the moved
// partitions' events, old and new; then the old owner's call times out. The
// final state must still be each email's last value.
//
// The old owner's retry must not re-send the moved partitions' older values:
// pipeline.deliver drops records of forgotten partitions before every attempt.
func TestRevokeAfterGraceKeepsOrder(t *testing.T) {
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
