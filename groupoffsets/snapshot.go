package groupoffsets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// PartitionState is what the broker knows of one partition for a group.
type PartitionState struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset, -1 when it has none.
	Committed int64
	// Start and End are the log start offset and the log end offset (the
	// offset the next record will get).
	Start, End int64
}

// Resume is where the group resumes reading: the committed offset, or the
// log start when nothing is committed (kgo's default reset) or the committed
// offset has expired (is before the log start).
func (p PartitionState) Resume() int64 {
	if p.Committed < p.Start {
		return p.Start
	}
	return p.Committed
}

// Lag is the number of records the group has not delivered yet: End − Resume,
// never negative.
func (p PartitionState) Lag() int64 { return max(0, p.End-p.Resume()) }

// Member is one member of the group, as DescribeGroups reports it.
type Member struct {
	MemberID, ClientID, ClientHost string
	// Assigned are the member's partitions by topic, topics in the order the
	// assignment lists them, partitions sorted; nil when it has none (or its
	// assignment is not a consumer protocol's).
	Assigned []TopicPartitions
}

// TopicPartitions is a topic and some of its partitions.
type TopicPartitions struct {
	Topic      string
	Partitions []int32
}

// Snapshot is a consumer group's state and its offsets over some topics.
type Snapshot struct {
	Group string
	// State is the group's state as the broker names it: Empty, Stable,
	// PreparingRebalance, CompletingRebalance, or Dead (also for a group the
	// broker does not know).
	State      string
	Members    []Member
	Partitions []PartitionState // sorted by topic, then partition
}

// Inactive reports whether offsets may be reset: the group has no members
// (Kafka's kafka-consumer-groups allows resets only in the Empty and Dead
// states).
func (s *Snapshot) Inactive() bool {
	return (s.State == "Empty" || s.State == "Dead") && len(s.Members) == 0
}

// Totals are the records in the logs (End − Start summed), the lag summed,
// and whether some partition has nothing committed.
func (s *Snapshot) Totals() (records, lag int64, uncommitted bool) {
	for _, p := range s.Partitions {
		records += p.End - p.Start
		lag += p.Lag()
		uncommitted = uncommitted || p.Committed < 0
	}
	return records, lag, uncommitted
}

// Take reads the group's state, members and committed offsets, and the log
// range of every partition of topics. A group the broker does not know is
// Dead with nothing committed. A topic that does not exist is an error
// ("topic %q does not exist"), as is any failed admin request.
func Take(ctx context.Context, adm *kadm.Client, group string, topics []string) (*Snapshot, error) {
	snap := &Snapshot{Group: group}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("describe group %q: %w", group, err)
	}
	switch dg, ok := described[group]; {
	case !ok || errors.Is(dg.Err, kerr.GroupIDNotFound):
		snap.State = "Dead"
	case dg.Err != nil:
		return nil, fmt.Errorf("describe group %q: %w", group, dg.Err)
	default:
		snap.State = dg.State
		for _, m := range dg.Members {
			snap.Members = append(snap.Members, memberOf(m))
		}
	}

	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list log end offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("fetch committed offsets of group %q: %w", group, err)
	}
	for _, topic := range topics {
		parts, ok := starts[topic]
		if !ok {
			return nil, fmt.Errorf("topic %q does not exist", topic)
		}
		for p, so := range parts {
			if so.Err != nil {
				if errors.Is(so.Err, kerr.UnknownTopicOrPartition) {
					return nil, fmt.Errorf("topic %q does not exist", topic)
				}
				return nil, fmt.Errorf("log start offset of %s[%d]: %w", topic, p, so.Err)
			}
			eo, ok := ends.Lookup(topic, p)
			if !ok || eo.Err != nil {
				return nil, fmt.Errorf("log end offset of %s[%d]: %w", topic, p, errors.Join(eo.Err, errors.New("not listed")))
			}
			ps := PartitionState{Topic: topic, Partition: p, Committed: -1, Start: so.Offset, End: eo.Offset}
			if c, ok := committed.Lookup(topic, p); ok && c.Err == nil && c.At >= 0 {
				ps.Committed = c.At
			}
			snap.Partitions = append(snap.Partitions, ps)
		}
	}
	sort.Slice(snap.Partitions, func(i, j int) bool {
		a, b := snap.Partitions[i], snap.Partitions[j]
		return a.Topic < b.Topic || (a.Topic == b.Topic && a.Partition < b.Partition)
	})
	return snap, nil
}

// memberOf is m with its consumer-protocol assignment decoded.
func memberOf(m kadm.DescribedGroupMember) Member {
	out := Member{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost}
	if c, ok := m.Assigned.AsConsumer(); ok {
		for _, t := range c.Topics {
			ps := slices.Clone(t.Partitions)
			slices.Sort(ps)
			out.Assigned = append(out.Assigned, TopicPartitions{Topic: t.Topic, Partitions: ps})
		}
	}
	return out
}
