package demo

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// TestDemo runs the demo (`consumer demo`) as a newcomer would and checks its summary:
// the seed's Jane Doe lead with the seed payload's fields, the repeat
// submission not sent (the credit saver), the dead-letter codes, and the counts.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), &out, zap.NewNop()); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	jane := regexp.MustCompile(`│ jane\.doe@example\.com +│ Jane +│ Doe +│ Acme Ltd +│ +│ Website +│ Request a Demo +│`)
	if !jane.MatchString(s) {
		t.Errorf("the seed's Jane Doe lead is not in the summary:\n%s", s)
	}
	for _, want := range []string{
		"Leads in Zoho CRM (simulator): 6",
		"Dead-letter topic: 6 records",
		"MANDATORY_NOT_FOUND", "MISSING_EMAIL", "DECODE_ERROR", "INVALID_DATA",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	checkREADMEExcerpt(t, s)
	for _, row := range [][2]string{
		{"events consumed", "33"}, {"dropped: not_crm_event", "9"}, {"dropped: no_consent", "3"},
		{"events delivered to Zoho", "12"}, {"as Zoho records inserted (same-email events merged)", "6"}, {"as Zoho records updated", "0"},
		{"not sent: Zoho holds them already (credit saver)", "2"},
	} {
		if !regexp.MustCompile(`│ ` + regexp.QuoteMeta(row[0]) + ` +│ ` + row[1] + ` +│`).MatchString(s) {
			t.Errorf("summary row %q is not %s:\n%s", row[0], row[1], s)
		}
	}
}

// checkREADMEExcerpt checks that the demo output README.md shows under
// "$ make run" is the real one: every line of it is in out, up to what
// changes from run to run (the simulator's port, the partitions and offsets of
// the dead-letter sources, and so the column widths).
func checkREADMEExcerpt(t *testing.T, out string) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, excerpt, found := strings.Cut(string(readme), "$ make run\ngo run ./cmd/consumer demo\n")
	excerpt, _, closed := strings.Cut(excerpt, "```")
	if !found || !closed {
		t.Fatal("README.md has no make run excerpt")
	}
	norm := func(line string) string {
		line = regexp.MustCompile(`events/\d+@\d+`).ReplaceAllString(line, "events/P@O")
		line = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(line, "127.0.0.1:PORT")
		return regexp.MustCompile(`( )+|(─)+`).ReplaceAllString(line, "$1$2")
	}
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[norm(l)] = true
	}
	for _, l := range strings.Split(excerpt, "\n") {
		if !have[norm(l)] {
			t.Errorf("README's demo excerpt has %q, the demo does not print it", l)
		}
	}
}
