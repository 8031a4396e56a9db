package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestUnknownSubcommandFails: every command group, nested ones included,
// fails on an argument that names none of its subcommands (exit code 1 in
// main) with cobra's wording and suggestions, instead of printing its help
// and succeeding; without arguments a group still prints its help.
func TestUnknownSubcommandFails(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "count", "-c", "x.yaml"}, "unknown command \"count\" for \"consumer dlq\"\n\nDid you mean this?\n\tstats\n"},
		{[]string{"offsets", "sho"}, "unknown command \"sho\" for \"consumer offsets\"\n\nDid you mean this?\n\tshow\n"},
		{[]string{"zoho", "token", "exchang"}, "unknown command \"exchang\" for \"consumer zoho token\"\n\nDid you mean this?\n\texchange\n"},
		{[]string{"config", "validat"}, "unknown command \"validat\" for \"consumer config\"\n\nDid you mean this?\n\tvalidate\n"},
		{[]string{"dlq", "inspct"}, "unknown command \"inspct\" for \"consumer dlq\"\n\nDid you mean this?\n\tinspect\n"},
		{[]string{"dlq", "list"}, "unknown command \"list\" for \"consumer dlq\"\n\nDid you mean this?\n\tinspect\n"},
		{[]string{"offsets", "rest"}, "unknown command \"rest\" for \"consumer offsets\"\n\nDid you mean this?\n\treset\n"},
	} {
		_, _, err := execRoot(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("consumer %s: error %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	var groups []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.HasParent() {
			groups = append(groups, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand())
	if len(groups) < 5 {
		t.Fatalf("found %d command groups, want dlq, offsets, config, zoho, zoho token at least", len(groups))
	}
	for _, g := range groups {
		path := strings.Fields(g.CommandPath())[1:]
		_, _, err := execRoot(append(path, "nosuchcommand")...)
		if want := `unknown command "nosuchcommand" for "` + g.CommandPath() + `"`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s nosuchcommand: error %v, want %q", g.CommandPath(), err, want)
		}
		out, _, err := execRoot(path...)
		if err != nil || !strings.Contains(out, "Available Commands") {
			t.Errorf("%s: error %v, output %q; want its help", g.CommandPath(), err, out)
		}
	}
}

// execRoot runs the root command with args, returning stdout and stderr.
func execRoot(args ...string) (string, string, error) {
	root := newRootCommand()
	var out, errOut strings.Builder
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}
