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
	return root
}
