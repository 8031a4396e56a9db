package groupoffsets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

// TestTakePlanExecute reads a new group (Dead, nothing committed), commits
// offsets, plans a reset of one partition and executes it: the broker then
// holds exactly the planned target, and only for the selected partition.
func TestTakePlanExecute(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, 2)
	group := topic + "-group"
	var recs []*kgo.Record
	for i := range 20 { // keyed: murmur2 spreads them over both partitions, the same way every run
		recs = append(recs, &kgo.Record{Key: []byte{byte('a' + i)}, Value: []byte("v")})
	}
	kafkatest.Produce(t, brokers, topic, recs...)
	adm := kadm.NewClient(kafkatest.Client(t, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	snap, err := Take(ctx, adm, group, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != "Dead" || !snap.Inactive() || len(snap.Partitions) != 2 {
		t.Fatalf("new group: %+v", snap)
	}
	records, lag, uncommitted := snap.Totals()
	if records != 20 || lag != 20 || !uncommitted {
		t.Errorf("new group totals: %d records, lag %d, uncommitted %v; want 20, 20, true", records, lag, uncommitted)
	}
	end1 := snap.Partitions[1].End
	if end1 < 2 || snap.Partitions[0].End < 1 {
		t.Fatalf("the records did not spread over both partitions: %+v", snap.Partitions)
	}

	offs := make(kadm.Offsets)
	for p := range int32(2) {
		offs.Add(kadm.Offset{Topic: topic, Partition: p, At: snap.Partitions[p].End, LeaderEpoch: -1})
	}
	if _, err := adm.CommitOffsets(ctx, group, offs); err != nil {
		t.Fatal(err)
	}
	sel, err := ParseSelection([]string{topic + ":1"}, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	snap, plan, err := PlanReset(ctx, adm, group, sel, Target{Kind: TargetShift, Shift: -2})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || plan[0].Partition != 1 || plan[0].Current != end1 || plan[0].Target != end1-2 || plan[0].Replay != 2 {
		t.Fatalf("plan %+v, want partition 1 from %d to %d, replaying 2", plan, end1, end1-2)
	}
	if err := Execute(ctx, adm, snap, plan); err != nil {
		t.Fatal(err)
	}
	got := kafkatest.Committed(t, brokers, group, topic)
	if got[0] != snap.Partitions[0].End || got[1] != end1-2 {
		t.Errorf("committed %v after the reset, want partition 0 at its end %d (not selected) and 1 at %d", got, snap.Partitions[0].End, end1-2)
	}

	if _, err := Take(ctx, adm, group, []string{topic + "-missing"}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Take of a missing topic: err = %v", err)
	}
}

// TestExecuteRefusesActiveGroup: a snapshot with a member is never committed.
func TestExecuteRefusesActiveGroup(t *testing.T) {
	snap := &Snapshot{Group: "g", State: "Stable", Members: []Member{{MemberID: "m"}}}
	err := Execute(context.Background(), nil, snap, Plan{{Topic: "events", Target: 0}})
	var active *GroupActiveError
	if !errors.As(err, &active) || active.Members != 1 || active.State != "Stable" {
		t.Fatalf("Execute on an active group: %v", err)
	}
	if !strings.Contains(err.Error(), "Nothing was changed") {
		t.Errorf("refusal: %v", err)
	}
}
