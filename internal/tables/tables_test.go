package tables

import (
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
)

// TestFitted: a table of long cells fits the width, shrinkable columns are
// cut with "…", the others stay whole, and cells become one line.
func TestFitted(t *testing.T) {
	var out strings.Builder
	rows := [][]string{{"1200", strings.Repeat("long message ", 20), "a\nb"}}
	Fitted(&out, 60, []string{"Offset", "Message", "Key"}, rows, []bool{false, true, true})
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if w := runewidth.StringWidth(line); w > 60 {
			t.Errorf("line of %d columns (> 60): %s", w, line)
		}
	}
	if s := out.String(); !strings.Contains(s, "│ 1200 ") || !strings.Contains(s, "…") || !strings.Contains(s, "a b") {
		t.Errorf("table:\n%s", s)
	}
}

func TestFormats(t *testing.T) {
	if Offset(0, 7) != "7" || Offset(2, 37) != "2:37" {
		t.Errorf("Offset: %q %q", Offset(0, 7), Offset(2, 37))
	}
	if Partitions(1) != "1 partition" || Partitions(3) != "3 partitions" {
		t.Error("Partitions")
	}
	if Printable(nil) != "-" || Printable([]byte("u1")) != "u1" || Printable([]byte{0xff}) != `"\xff"` {
		t.Errorf("Printable: %q", Printable([]byte{0xff}))
	}
	if Time(time.Time{}) != "-" || Time(time.Date(2026, 11, 28, 11, 0, 0, 0, time.FixedZone("x", 3600))) != "2026-11-28T10:00:00Z" {
		t.Error("Time")
	}
	if Shorten("abc\ndef", 5) != "abc …" {
		t.Errorf("Shorten: %q", Shorten("abc\ndef", 5))
	}
}
