package groupoffsets

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// GroupActiveError refuses a reset while the group has members.
type GroupActiveError struct {
	Group   string
	State   string
	Members int
}

func (e *GroupActiveError) Error() string {
	return fmt.Sprintf("group %q is %s with %d active member(s): offsets can be reset only while nobody consumes (state Empty or Dead, as kafka-consumer-groups requires); "+
		"a running member keeps its own positions and overwrites the reset with its next commit. "+
		"Stop every `consumer run` of group %q first, wait until `consumer offsets show` says Empty, then retry. Nothing was changed",
		e.Group, e.State, e.Members, e.Group)
}

// CheckInactive is nil when snap's group may be reset (Snapshot.Inactive),
// else a *GroupActiveError.
func CheckInactive(snap *Snapshot) error {
	if snap.Inactive() {
		return nil
	}
	return &GroupActiveError{Group: snap.Group, State: snap.State, Members: len(snap.Members)}
}

// Execute commits the plan's targets as snap's group's offsets. It refuses
// with a *GroupActiveError while the group is active (CheckInactive), and
// explains a commit the broker refused because a consumer joined meanwhile
// (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS; the kerr
// error stays reachable with errors.Is).
func Execute(ctx context.Context, adm *kadm.Client, snap *Snapshot, plan Plan) error {
	if err := CheckInactive(snap); err != nil {
		return err
	}
	offsets := make(kadm.Offsets)
	for _, r := range plan {
		offsets.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.Target, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, snap.Group, offsets)
	if err == nil {
		err = resp.Error()
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress):
		return fmt.Errorf("commit refused, a consumer joined group %q meanwhile (%w); stop every `consumer run` of the group first", snap.Group, err)
	}
	return fmt.Errorf("commit the new offsets of group %q: %w", snap.Group, err)
}
