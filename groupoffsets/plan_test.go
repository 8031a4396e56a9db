package groupoffsets

import (
	"slices"
	"strings"
	"testing"
)

func TestNewPlan(t *testing.T) {
	part := func(committed, start, end, atTime int64) []Input {
		return []Input{{PartitionState: PartitionState{Topic: "events", Partition: 0, Committed: committed, Start: start, End: end}, AtTime: atTime}}
	}
	cases := []struct {
		name         string
		target       string
		in           []Input
		target0      int64
		replay, skip int64
		noteContains string
	}{
		{"earliest", "earliest", part(80, 10, 100, -1), 10, 70, 0, ""},
		{"latest skips the lag", "latest", part(80, 10, 100, -1), 100, 0, 20, "skips 20 record(s)"},
		{"offset inside", "offset=50", part(80, 10, 100, -1), 50, 30, 0, ""},
		{"offset below start is clamped", "offset=3", part(80, 10, 100, -1), 10, 70, 0, "3 is before the log start: clamped to 10"},
		{"offset past end is clamped", "offset=500", part(80, 10, 100, -1), 100, 0, 20, "500 is past the log end: clamped to 100"},
		{"shift back", "shift=-30", part(80, 10, 100, -1), 50, 30, 0, ""},
		{"shift forward", "shift=+5", part(80, 10, 100, -1), 85, 0, 5, "skips 5"},
		{"shift back past start", "shift=-1000", part(80, 10, 100, -1), 10, 70, 0, "clamped to 10"},
		{"shift without commit starts at log start", "shift=-5", part(-1, 10, 100, -1), 10, 0, 0, "nothing committed"},
		{"datetime", "datetime=2026-11-28T10:00:00Z", part(80, 10, 100, 42), 42, 38, 0, ""},
		{"datetime after the last record", "datetime=2026-11-28T10:00:00Z", part(80, 10, 100, 100), 100, 0, 20, "no record at or after the time"},
		{"expired commit", "earliest", part(5, 10, 100, -1), 10, 0, 0, "committed 5 expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target, err := ParseTarget(c.target)
			if err != nil {
				t.Fatal(err)
			}
			plan := NewPlan(target, c.in)
			if len(plan) != 1 {
				t.Fatalf("%d rows", len(plan))
			}
			r := plan[0]
			if r.Target != c.target0 || r.Replay != c.replay || r.Skip != c.skip {
				t.Errorf("target %d, replay %d, skip %d; want %d, %d, %d", r.Target, r.Replay, r.Skip, c.target0, c.replay, c.skip)
			}
			if r.Replay < 0 || r.Skip < 0 || (r.Replay > 0 && r.Skip > 0) {
				t.Errorf("row replays %d and skips %d: want one non-negative direction", r.Replay, r.Skip)
			}
			if r.Target < c.in[0].Start || r.Target > c.in[0].End {
				t.Errorf("target %d is outside the log [%d, %d]", r.Target, c.in[0].Start, c.in[0].End)
			}
			if c.noteContains == "" && r.Note != "" || !strings.Contains(r.Note, c.noteContains) {
				t.Errorf("note %q, want it to contain %q", r.Note, c.noteContains)
			}
		})
	}
}

func TestPlanTotalsAndCredits(t *testing.T) {
	plan := Plan{{Replay: 25}, {Skip: 4}, {Replay: 6}}
	if replay, skip := plan.Totals(); replay != 31 || skip != 4 {
		t.Errorf("totals: replay %d, skip %d; want 31, 4", replay, skip)
	}
	if got := plan.Credits(); got != 4 { // 31 records, 10 per credit, rounded up
		t.Errorf("credits %d, want 4", got)
	}
	if got := (Plan{}).Credits(); got != 0 {
		t.Errorf("an empty plan costs %d credits", got)
	}
}

func TestParseTarget(t *testing.T) {
	for _, ok := range []string{"earliest", "latest", "LATEST", "datetime=2026-11-28T10:00:00Z", "datetime=2026-11-28T10:00:00.5+01:00", "offset=0", "shift=-3", "shift=+3", "shift=3"} {
		if _, err := ParseTarget(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "earliest=1", "datetime=yesterday", "datetime=2026-11-28", "offset=-1", "offset=x", "shift=", "begin"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%q is accepted", bad)
		}
	}
	if got, _ := ParseTarget("shift=3"); got.String() != "shift=+3" {
		t.Errorf("shift=3 prints as %q", got)
	}
}

func TestParseSelection(t *testing.T) {
	configured := []string{"events", "signups"}
	sel, err := ParseSelection([]string{"events:0,2", "events:2,3"}, configured)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sel.Topics(), []string{"events"}) || !sel.Has("events", 3) || sel.Has("events", 1) || sel.Has("signups", 0) {
		t.Errorf("selection %+v", sel)
	}
	if err := sel.Check([]PartitionState{{Topic: "events", Partition: 0}, {Topic: "events", Partition: 2}}); err == nil || !strings.Contains(err.Error(), "partition 3 does not exist") {
		t.Errorf("Check of a missing partition: %v", err)
	}
	sel, _ = ParseSelection(nil, configured)
	if !sel.Has("signups", 7) || !sel.Has("events", 0) {
		t.Errorf("no --topic does not select every configured topic: %+v", sel)
	}
	for _, bad := range [][]string{{"other"}, {"events:x"}, {"events:-1"}} {
		if _, err := ParseSelection(bad, configured); err == nil {
			t.Errorf("%v is accepted", bad)
		}
	}
}
