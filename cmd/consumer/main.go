// Command consumer is zohosink's binary: the Kafka → Zoho CRM delivery worker
// (`consumer run`), a self-contained demo (`consumer demo`), and the operators'
// commands. It holds cobra commands, flags and the rendering of what the
// packages return; the behaviour lives in wiring (config into the running
// parts), pipeline, groupoffsets (offsets show/reset), preflight (config
// validate --online), demo, dlq and config.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		var ex exitCode
		if errors.As(err, &ex) {
			os.Exit(int(ex))
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a code after the command printed its own report.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "consumer",
		Short: "zohosink: deliver first-party website events from Kafka into Zoho CRM",
		Long: `zohosink reads website events (identify and track calls) from Kafka topics,
keeps those a CRM should see (identify, "Lead Generated", "Signed Up", with
marketing consent), and upserts them as Zoho CRM Leads in batches of up to 100.
Records Zoho rejects go to a dead-letter topic; offsets are committed only once
Zoho or the dead-letter topic acknowledged every record before them.

Configuration: a YAML file (--config) and ZOHOSINK_* environment variables,
e.g. ZOHOSINK_ZOHO_CLIENT_SECRET for zoho.client_secret.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringP("config", "c", "", "YAML configuration file (optional; ZOHOSINK_* environment variables apply on top)")
	root.AddCommand(newRunCommand(), newDemoCommand())
	root.AddCommand(newDLQCommand())
	root.AddCommand(newOffsetsCommand(), newConfigCommand(), newZohoCommand())
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
	}
	return root
}

// refuseUnknownSubcommands makes cmd, when it is a command group (it has
// subcommands and no action of its own), and every group below it fail on
// an argument that names no subcommand, as cobra fails for the root:
// `unknown command "count" for "consumer dlq"` with cobra's suggestions
// (SuggestionsFor: edit distance, prefixes, SuggestFor) and exit code 1.
// Cobra itself prints a group's help and succeeds, so a typo in a script
// would pass unnoticed. A group without arguments still prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	if !cmd.HasSubCommands() {
		return
	}
	if cmd.Run == nil && cmd.RunE == nil {
		// Cobra's own default distance (2), which it sets only on the root
		// while it looks up a command: below it SuggestionsFor would match
		// prefixes alone ("inspct" would get no suggestion).
		cmd.SuggestionsMinimumDistance = 2
		cmd.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
			}
			return fmt.Errorf("%s\nRun '%s --help' for usage", msg, cmd.CommandPath())
		}
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
}
