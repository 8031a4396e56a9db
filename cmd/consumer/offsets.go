package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/groupoffsets"
	"github.com/zohosink/zohosink/internal/tables"
)

func newOffsetsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Show or reset the consumer group's offsets (replay history into Zoho)",
		Long: `The consumer group (kafka.group) remembers, per partition of kafka.topics, the
first offset that is not yet delivered to Zoho (or dead-lettered). "offsets
show" reports it with the log range and the lag; "offsets reset" moves it, so
that the next "consumer run" replays history into Zoho. Replays are safe:
upserts are idempotent, records are re-upserted in event order, and each 10
records cost at most one Zoho API credit.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newOffsetsShowCommand(), newOffsetsResetCommand())
	return cmd
}

func newOffsetsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Committed offset, log range and lag per partition; group state and members",
		Long: `Show lists, for every partition of kafka.topics, the offset committed by the
consumer group kafka.group, the log start and log end offsets and the lag
(records not yet delivered), with totals; then the group's state and its
members with their assigned partitions. A partition without a committed
offset shows "-": the group starts it at the log start (at the log end with
kafka.start_offset latest).`,
		Example: `  consumer offsets show --config zohosink.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfigScoped(cmd, kafkaKey)
			if err != nil {
				return err
			}
			return withKafkaAdmin(cmd.Context(), cfg, func(ctx context.Context, adm *kadm.Client) error {
				snap, err := groupoffsets.Take(ctx, adm, cfg.Kafka.Group, cfg.Kafka.Topics)
				if err != nil {
					return err
				}
				printOffsets(cmd.OutOrStdout(), snap, cfg.Kafka.StartOffset == config.StartLatest)
				return nil
			})
		},
	}
}

// loadConfigScoped loads the configuration like loadConfig but reports only the
// problems of keys that relevant accepts (config.Scope), so that a command
// needing only Kafka runs on an operator's machine without the Zoho secrets.
func loadConfigScoped(cmd *cobra.Command, relevant func(key string) bool) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(path, cmd.Flags())
	if cfg == nil {
		return nil, err
	}
	if err := config.Scope(err, relevant); err != nil {
		if len(config.FieldErrors(err)) == 0 {
			return nil, err
		}
		return nil, fmt.Errorf("configuration is not valid:\n%w", err)
	}
	warnSecurity(cmd.ErrOrStderr(), cfg)
	return cfg, nil
}

// kafkaKey selects the kafka.* keys for loadConfigScoped.
func kafkaKey(key string) bool { return strings.HasPrefix(key, "kafka.") }

// zohoKey selects the zoho.* keys for loadConfigScoped and config.Scope.
func zohoKey(key string) bool { return strings.HasPrefix(key, "zoho.") }

// printGroup writes the group's state and members.
func printGroup(out io.Writer, s *groupoffsets.Snapshot) {
	fmt.Fprintf(out, "Group %q: %s, %d member(s)\n", s.Group, s.State, len(s.Members))
	for _, m := range s.Members {
		assigned := "-"
		if len(m.Assigned) > 0 {
			parts := make([]string, len(m.Assigned))
			for i, t := range m.Assigned {
				parts[i] = fmt.Sprintf("%s%v", t.Topic, t.Partitions)
			}
			assigned = strings.Join(parts, " ")
		}
		fmt.Fprintf(out, "  member %s  client %s  host %s  partitions %s\n", m.MemberID, m.ClientID, m.ClientHost, assigned)
	}
}

// printOffsets writes the offsets table with totals, then the group;
// startLatest is kafka.start_offset latest (where partitions without a
// commit start).
func printOffsets(out io.Writer, s *groupoffsets.Snapshot, startLatest bool) {
	t := tables.New(out)
	t.Header("Topic", "Partition", "Committed", "Log start", "Log end", "Lag")
	for _, p := range s.Partitions {
		committed := "-"
		if p.Committed >= 0 {
			committed = strconv.FormatInt(p.Committed, 10)
		}
		_ = t.Append(p.Topic, p.Partition, committed, p.Start, p.End, p.Lag())
	}
	records, lag, uncommitted := s.Totals()
	_ = t.Append("total", tables.Partitions(len(s.Partitions)), "", "", fmt.Sprintf("%d records", records), lag)
	_ = t.Render()
	switch {
	case uncommitted && startLatest:
		fmt.Fprintln(out, `"-": nothing committed yet; the group starts at the log end (kafka.start_offset latest) and skips the records before it, which the lag shown counts from the log start.`)
	case uncommitted:
		fmt.Fprintln(out, `"-": nothing committed yet; the group starts at the log start (the lag counts from there).`)
	}
	printGroup(out, s)
}

func newOffsetsResetCommand() *cobra.Command {
	var (
		to      string
		topics  []string
		dryRun  bool
		execute bool
	)
	cmd := &cobra.Command{
		Use:   "reset --to earliest|latest|datetime=RFC3339|offset=N|shift=±N [--topic T[:P,…]] [--dry-run | --execute]",
		Short: "Move the group's offsets to replay (or skip) events; a dry run unless --execute",
		Long: `Reset computes new committed offsets for the consumer group kafka.group and
prints the plan: per partition the current position, the target, and the
records to replay or to skip (never both), with totals and the
Zoho API credits the replay costs at most (1 credit per 10 records; dropped
events and records merged by email cost less). Nothing changes without
--execute.

Targets:
  earliest              the log start
  latest                the log end (skip everything not yet delivered)
  datetime=RFC3339      the first record whose timestamp is at or after the time
  offset=N              offset N
  shift=±N              the current position moved by N (shift=-100 replays 100)
Targets outside the log are clamped to [log start, log end], and the plan says so.

--topic limits the reset to one topic of kafka.topics, or to some of its
partitions (--topic events:0,2); repeat it for several. Default: all of them.

The group must have no active member (state Empty or Dead, as
kafka-consumer-groups requires): a running member keeps its own positions
and would overwrite the reset with its next commit. Stop every "consumer run"
of the group first.

What a replay does to Zoho: the next "consumer run" reads from the target and
upserts the events again, in event order per email. Upserts are idempotent
(deduplicated on Email), so existing leads are updated, not duplicated; the
fields get the values of the replayed events, and workflows run again unless
zoho.trigger is [].`,
		Example: `  # what would a replay of the last day cost?
  consumer offsets reset --to datetime=2026-11-27T10:00:00Z -c zohosink.yaml
  # stop the consumers, then replay it
  consumer offsets reset --to datetime=2026-11-27T10:00:00Z --execute -c zohosink.yaml
  # replay the last 500 records of partition 2 only
  consumer offsets reset --to shift=-500 --topic events:2 --execute -c zohosink.yaml
  # skip everything not yet delivered
  consumer offsets reset --to latest --execute -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := groupoffsets.ParseTarget(to)
			if err != nil {
				return err
			}
			cfg, err := loadConfigScoped(cmd, kafkaKey)
			if err != nil {
				return err
			}
			selection, err := groupoffsets.ParseSelection(topics, cfg.Kafka.Topics)
			if err != nil {
				return err
			}
			return withKafkaAdmin(cmd.Context(), cfg, func(ctx context.Context, adm *kadm.Client) error {
				return runOffsetsReset(ctx, cmd.OutOrStdout(), adm, cfg.Kafka.Group, selection, target, execute)
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "target: earliest, latest, datetime=RFC3339, offset=N or shift=±N (required)")
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "limit to a topic of kafka.topics, optionally to partitions: T or T:0,1 (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only print the plan (the default)")
	cmd.Flags().BoolVar(&execute, "execute", false, "commit the new offsets")
	_ = cmd.MarkFlagRequired("to")
	cmd.MarkFlagsMutuallyExclusive("dry-run", "execute")
	return cmd
}

// runOffsetsReset plans the reset, prints the plan and, with execute,
// commits it (groupoffsets.Execute refuses an active group).
func runOffsetsReset(ctx context.Context, out io.Writer, adm *kadm.Client, group string, sel groupoffsets.Selection, target groupoffsets.Target, execute bool) error {
	snap, plan, err := groupoffsets.PlanReset(ctx, adm, group, sel, target)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Reset plan for group %q to %s:\n", group, target)
	printPlan(out, plan)
	if !execute {
		if active := groupoffsets.CheckInactive(snap); active != nil {
			fmt.Fprintf(out, "\nDry run: nothing changed. Note: --execute will be refused now: %v.\n", active)
		} else {
			fmt.Fprintln(out, "\nDry run: nothing changed. Run again with --execute to commit these offsets.")
		}
		return nil
	}
	if err := groupoffsets.Execute(ctx, adm, snap, plan); err != nil {
		var active *groupoffsets.GroupActiveError
		if errors.As(err, &active) {
			printGroup(out, snap)
		}
		return err
	}
	replay, _ := plan.Totals()
	fmt.Fprintf(out, "\nCommitted the new offsets of %d partition(s) of group %q.\n", len(plan), group)
	fmt.Fprintf(out, "The next `consumer run` reads from the targets: %d record(s) read again (CRM events are upserted into Zoho again; the others are dropped, and rejected records dead-lettered again, as before).\n", replay)
	return nil
}

// printPlan writes the plan table, its total and the credit estimate.
func printPlan(out io.Writer, plan groupoffsets.Plan) {
	t := tables.New(out)
	t.Header("Topic", "Partition", "Current", "Target", "To replay", "To skip", "Note")
	for _, r := range plan {
		current := strconv.FormatInt(r.Current, 10)
		if !r.HasCommit {
			current += " (none)"
		}
		_ = t.Append(r.Topic, r.Partition, current, r.Target, r.Replay, r.Skip, r.Note)
	}
	replay, skip := plan.Totals()
	_ = t.Append("total", tables.Partitions(len(plan)), "", "", replay, skip, "")
	_ = t.Render()
	fmt.Fprintf(out, "Records to replay: %d; estimated Zoho API credits: at most %d (1 credit per 10 records; dropped events cost nothing, records merged by email cost less).\n",
		replay, plan.Credits())
	if skip > 0 {
		fmt.Fprintf(out, "Records skipped: %d (never delivered to Zoho).\n", skip)
	}
}
