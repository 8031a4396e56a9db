package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/kafkaconn"
	"github.com/zohosink/zohosink/preflight"
)

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or print the effective configuration",
		Long: `The configuration comes from the YAML file (--config), ZOHOSINK_* environment
variables (ZOHOSINK_ + the key upper-cased, "." → "_", e.g.
ZOHOSINK_ZOHO_CLIENT_SECRET) and defaults: the environment wins over the
file, the file over the defaults. An empty variable counts as unset; a
ZOHOSINK_* variable that is not a key's (a typo) is reported as a problem,
like an unknown key in the file.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newConfigValidateCommand(), newConfigPrintCommand())
	return cmd
}

func newConfigPrintCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration with each value's source; secrets redacted",
		Long: `Print writes the effective configuration as YAML, every key with a comment
naming where its value came from: "file", "env ZOHOSINK_…" or "default".
Values that do not say what they mean carry a note after the source (an
empty zoho.token_cache_file, batch.max_buffered: 0 and its effective value).
Secrets (zoho.client_secret, zoho.refresh_token) print as [redacted]. An
invalid configuration is printed as far as it could be loaded, with a note on
stderr; "consumer config validate" lists the problems.`,
		Example: `  consumer config print --config zohosink.yaml
  ZOHOSINK_BATCH_LINGER=250ms consumer config print -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("config")
			cfg, err := config.Load(path, cmd.Flags())
			if cfg == nil {
				return err
			}
			if perr := config.Print(cmd.OutOrStdout(), cfg); perr != nil {
				return perr
			}
			if n := len(config.FieldErrors(err)); n > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "# the configuration has %d problem(s): run `consumer config validate` to list them\n", n)
			}
			return nil
		},
	}
}

func newConfigValidateCommand() *cobra.Command {
	var online bool
	cmd := &cobra.Command{
		Use:   "validate [--online]",
		Short: "List every configuration problem at once; --online also checks Zoho and Kafka",
		Long: `Validate loads the configuration and lists every problem at once, one per line,
with its key (batch.max_records, zoho.api_domain, mapping.fields[0].to …). It
exits 1 when there is a problem, 0 otherwise.

With --online it also prints a checklist of what a deploy needs, OK or not:
  - Zoho token: refreshes an access token with zoho.refresh_token (one token
    mint; Zoho allows 10 per 10 minutes; a cached token is not reused, so the
    refresh token itself is proven, but the new token is stored in
    zoho.token_cache_file, so the next consumer run reuses it instead of
    minting another), explains a data-center mismatch, a wrong
    client ID or secret and a revoked refresh token in plain words, and warns
    when the token's api_domain is not the API host zohosink calls;
  - Zoho fields: reads zoho.module's field metadata and checks that every field
    zohosink writes (the Lead Capture preset's Email, First_Name, Last_Name,
    Phone, Company, Lead_Source, Description and the targets of
    mapping.fields) exists, is writable and takes text, and that the module's
    system-mandatory fields are mapped;
  - Kafka: connects as every command does (kafka.brokers, kafka.tls.*,
    kafka.sasl.*) and tells apart a broker that cannot be reached, a failed
    TLS handshake (unknown certificate authority, name mismatch, client
    certificate refused, not a TLS listener), failed SASL authentication and
    a client an ACL denies a topic or the group; then checks that the source
    topics and the dead-letter topic exist, that the broker lets zohosink
    read and write them, that it may use kafka.group, and that the
    dead-letter topic accepts records as large as every source topic does
    (max.message.bytes; a kafka.max_message_bytes below that is a warning).
The last line is the verdict: every check passed, or how many failed.`,
		Example: `  consumer config validate --config zohosink.yaml
  consumer config validate --online -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("config")
			cfg, err := config.Load(path, cmd.Flags())
			if cfg == nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err != nil {
				problems := config.FieldErrors(err)
				if len(problems) == 0 {
					return err
				}
				fmt.Fprintf(out, "The configuration has %d problem(s):\n", len(problems))
				for _, p := range problems {
					fmt.Fprintf(out, "  ✗ %s\n", p)
				}
				if online {
					fmt.Fprintln(out, "Online checks skipped: fix the problems above first.")
				}
				return exitCode(1)
			}
			if !online {
				fmt.Fprintln(out, "✓ The configuration is valid.")
				for _, w := range cfg.Kafka.SecurityWarnings() {
					fmt.Fprintf(out, "  ! %s\n", w)
				}
				return nil
			}
			// The verdict on the whole comes last, after the online checks.
			fmt.Fprintln(out, "✓ The configuration is valid (offline checks).")
			ctx, cancel := context.WithTimeout(cmd.Context(), kafkaconn.AdminTimeout)
			defer cancel()
			report := preflight.Run(ctx, cfg)
			printReport(out, report)
			fmt.Fprintln(out)
			if n := report.Failed(); n > 0 {
				fmt.Fprintf(out, "✗ %d online check(s) failed, %d warning(s): not ready to deploy.\n", n, report.Warnings())
				return exitCode(1)
			}
			fmt.Fprintf(out, "✓ All checks passed (%d warning(s)).\n", report.Warnings())
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also check Zoho (token, field metadata) and Kafka (topics)")
	return cmd
}

// printReport writes the checklist: each section after a blank line, each
// check as "  ✓ …" (passed), "  ✗ …" (failed) or "  ! …" (warning).
func printReport(out io.Writer, r *preflight.Report) {
	mark := map[preflight.Status]string{preflight.Pass: "✓", preflight.Fail: "✗", preflight.Warn: "!"}
	for _, sec := range r.Sections {
		fmt.Fprintf(out, "\n%s\n", sec.Title)
		for _, c := range sec.Checks {
			fmt.Fprintf(out, "  %s %s\n", mark[c.Status], c.Message)
		}
	}
}
