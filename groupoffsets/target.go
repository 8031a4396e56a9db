package groupoffsets

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TargetKind names the kinds of reset target.
type TargetKind int

// The reset targets of `consumer offsets reset --to`.
const (
	TargetEarliest TargetKind = iota + 1 // the log start
	TargetLatest                         // the log end
	TargetDatetime                       // the first record at or after Target.Time
	TargetOffset                         // Target.Offset
	TargetShift                          // the current position moved by Target.Shift
)

// Target is where a reset moves each partition.
type Target struct {
	Kind   TargetKind
	Time   time.Time // TargetDatetime
	Offset int64     // TargetOffset, ≥ 0
	Shift  int64     // TargetShift, negative to replay
}

// String is the target as ParseTarget reads it: earliest, latest,
// datetime=RFC3339, offset=N or shift=±N.
func (t Target) String() string {
	switch t.Kind {
	case TargetEarliest:
		return "earliest"
	case TargetLatest:
		return "latest"
	case TargetDatetime:
		return "datetime=" + t.Time.Format(time.RFC3339Nano)
	case TargetOffset:
		return fmt.Sprintf("offset=%d", t.Offset)
	case TargetShift:
		return fmt.Sprintf("shift=%+d", t.Shift)
	}
	return "?"
}

// ParseTarget parses earliest, latest (case-insensitive), datetime=RFC3339,
// offset=N (N ≥ 0) or shift=±N. The error quotes s as the --to flag and lists
// the forms.
func ParseTarget(s string) (Target, error) {
	kind, val, hasVal := strings.Cut(strings.TrimSpace(s), "=")
	bad := func(why string) (Target, error) {
		return Target{}, fmt.Errorf("--to %q: %s (want earliest, latest, datetime=RFC3339, offset=N or shift=±N)", s, why)
	}
	switch strings.ToLower(kind) {
	case "earliest", "latest":
		if hasVal {
			return bad("takes no value")
		}
		if strings.EqualFold(kind, "earliest") {
			return Target{Kind: TargetEarliest}, nil
		}
		return Target{Kind: TargetLatest}, nil
	case "datetime":
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return bad("the time is not RFC 3339, e.g. 2026-11-28T10:00:00Z")
		}
		return Target{Kind: TargetDatetime, Time: t}, nil
	case "offset":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return bad("the offset must be a whole number ≥ 0")
		}
		return Target{Kind: TargetOffset, Offset: n}, nil
	case "shift":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return bad("the shift must be a whole number, e.g. -100 or +50")
		}
		return Target{Kind: TargetShift, Shift: n}, nil
	case "":
		return bad("a target is required")
	}
	return bad("unknown target")
}
