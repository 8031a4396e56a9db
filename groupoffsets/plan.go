package groupoffsets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/zohosink/zohosink/zohoapi"
)

// Input is one partition's offsets as a plan needs them.
type Input struct {
	PartitionState
	// AtTime is the first offset whose record timestamp is at or after the
	// datetime target (the log end when there is none); -1 when not listed.
	AtTime int64
}

// Row is one partition of a reset plan.
type Row struct {
	Topic     string
	Partition int32
	// Current is where the group resumes now: the committed offset, or the
	// log start when nothing is committed (HasCommit false) or it expired.
	Current   int64
	HasCommit bool
	// Target is the offset to commit, within [log start, log end].
	Target int64
	// Replay is Current − Target when the target is before the current
	// position: records read again; else 0.
	Replay int64
	// Skip is Target − Current when the target is past the current
	// position: records that will never reach Zoho; else 0.
	Skip int64
	// Note explains clamping and other adjustments ("; "-separated); "" when none.
	Note string
}

// Plan is a reset plan: one Row per selected partition, in the order of
// the snapshot (topic, then partition).
type Plan []Row

// NewPlan computes the new offsets of a reset. It is pure: every input comes
// from in (log range, committed offsets, offsets at the datetime target).
// Targets are clamped to [log start, log end]; shift moves from Current.
func NewPlan(target Target, in []Input) Plan {
	rows := make(Plan, 0, len(in))
	for _, p := range in {
		r := Row{Topic: p.Topic, Partition: p.Partition, Current: p.Resume(), HasCommit: p.Committed >= 0}
		var notes []string
		if !r.HasCommit {
			notes = append(notes, "nothing committed: current is the log start")
		} else if p.Committed < p.Start {
			notes = append(notes, fmt.Sprintf("committed %d expired: current is the log start", p.Committed))
		}
		want := p.Start
		switch target.Kind {
		case TargetEarliest:
			want = p.Start
		case TargetLatest:
			want = p.End
		case TargetOffset:
			want = target.Offset
		case TargetShift:
			want = r.Current + target.Shift
		case TargetDatetime:
			want = p.AtTime
			if p.AtTime == p.End {
				notes = append(notes, "no record at or after the time: target is the log end")
			}
		}
		r.Target = want
		switch {
		case want < p.Start:
			r.Target = p.Start
			notes = append(notes, fmt.Sprintf("%d is before the log start: clamped to %d", want, p.Start))
		case want > p.End:
			r.Target = p.End
			notes = append(notes, fmt.Sprintf("%d is past the log end: clamped to %d", want, p.End))
		}
		r.Replay, r.Skip = max(r.Current-r.Target, 0), max(r.Target-r.Current, 0)
		if r.Skip > 0 {
			notes = append(notes, fmt.Sprintf("skips %d record(s): they never reach Zoho", r.Skip))
		}
		r.Note = strings.Join(notes, "; ")
		rows = append(rows, r)
	}
	return rows
}

// Totals are the records the plan replays and skips.
func (p Plan) Totals() (replay, skip int64) {
	for _, r := range p {
		replay += r.Replay
		skip += r.Skip
	}
	return replay, skip
}

// Credits is the most Zoho API credits the replay costs: every replayed
// record upserted again, 1 credit per 10 records (zohoapi.Credits). Dropped
// events cost nothing and records merged by email cost less, so this is an
// upper bound.
func (p Plan) Credits() int {
	replay, _ := p.Totals()
	return zohoapi.Credits(int(replay))
}

// PlanReset reads the group (Take) over the selected topics and plans moving
// the selected partitions to target. For a datetime target it lists the
// offsets at that time (ListOffsetsAfterMilli). It changes nothing. Errors:
// Take's, a selected partition that does not exist, and a failed listing.
func PlanReset(ctx context.Context, adm *kadm.Client, group string, sel Selection, target Target) (*Snapshot, Plan, error) {
	snap, err := Take(ctx, adm, group, sel.Topics())
	if err != nil {
		return nil, nil, err
	}
	var inputs []Input
	for _, p := range snap.Partitions {
		if sel.Has(p.Topic, p.Partition) {
			inputs = append(inputs, Input{PartitionState: p, AtTime: -1})
		}
	}
	if err := sel.Check(snap.Partitions); err != nil {
		return nil, nil, err
	}
	if target.Kind == TargetDatetime {
		listed, err := adm.ListOffsetsAfterMilli(ctx, target.Time.UnixMilli(), sel.Topics()...)
		if err != nil {
			return nil, nil, fmt.Errorf("list offsets at %s: %w", target.Time.Format(time.RFC3339), err)
		}
		for i := range inputs {
			in := &inputs[i]
			o, ok := listed.Lookup(in.Topic, in.Partition)
			if !ok || o.Err != nil {
				return nil, nil, fmt.Errorf("offset of %s[%d] at %s: %w", in.Topic, in.Partition, target.Time.Format(time.RFC3339), errors.Join(o.Err, errors.New("not listed")))
			}
			in.AtTime = o.Offset
		}
	}
	return snap, NewPlan(target, inputs), nil
}
