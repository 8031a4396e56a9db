package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/zohoapi"
)

// adminTimeout bounds every admin request of the operators' commands.
const adminTimeout = 30 * time.Second

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
offset shows "-": the group starts it at the log start.`,
		Example: `  consumer offsets show --config zohosink.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfigScoped(cmd, kafkaKey)
			if err != nil {
				return err
			}
			adm, closeAdm, err := newKafkaAdmin(cfg)
			if err != nil {
				return err
			}
			defer closeAdm()
			ctx, cancel := context.WithTimeout(cmd.Context(), adminTimeout)
			defer cancel()
			snap, err := snapshotGroup(ctx, adm, cfg.Kafka.Group, cfg.Kafka.Topics)
			if err != nil {
				return err
			}
			printOffsets(cmd.OutOrStdout(), snap)
			return nil
		},
	}
}

// loadConfigScoped loads the configuration like loadConfig but reports only the
// problems of keys that relevant accepts, so that a command needing only Kafka
// runs on an operator's machine without the Zoho secrets.
func loadConfigScoped(cmd *cobra.Command, relevant func(key string) bool) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(path, cmd.Flags())
	if cfg != nil && err == nil {
		warnSecurity(cmd.ErrOrStderr(), cfg)
	}
	if cfg == nil || err == nil {
		return cfg, err
	}
	fes := config.FieldErrors(err)
	if len(fes) == 0 {
		return nil, err
	}
	var problems []error
	for _, fe := range fes {
		if relevant(fe.Key) {
			problems = append(problems, fe)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configuration is not valid:\n%w", errors.Join(problems...))
	}
	warnSecurity(cmd.ErrOrStderr(), cfg)
	return cfg, nil
}

// kafkaKey selects the kafka.* keys for loadConfigScoped.
func kafkaKey(key string) bool { return strings.HasPrefix(key, "kafka.") }

// newKafkaAdmin returns an admin client for the configured brokers and a
// function that closes it.
func newKafkaAdmin(cfg *config.Config) (*kadm.Client, func(), error) {
	conn, err := kafkaOpts(cfg)
	if err != nil {
		return nil, nil, err
	}
	cl, err := kgo.NewClient(append(conn,
		kgo.ClientID(cfg.Kafka.ClientID+"-admin"),
		kgo.RetryTimeout(adminTimeout),
	)...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// partitionState is what the broker knows of one partition for a group.
type partitionState struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset, -1 when it has none.
	Committed int64
	// Start and End are the log start offset and the log end offset (the
	// offset the next record will get).
	Start, End int64
}

// resume is where the group resumes reading: the committed offset, or the
// log start when nothing is committed (kgo's default reset) or the committed
// offset has expired.
func (p partitionState) resume() int64 {
	if p.Committed < p.Start {
		return p.Start
	}
	return p.Committed
}

// lag is the number of records the group has not delivered yet.
func (p partitionState) lag() int64 { return max(0, p.End-p.resume()) }

// groupSnapshot is a consumer group's state and its offsets over some topics.
type groupSnapshot struct {
	Group      string
	State      string // Empty, Stable, PreparingRebalance, CompletingRebalance, Dead
	Members    []kadm.DescribedGroupMember
	Partitions []partitionState // sorted by topic, then partition
}

// inactive reports whether offsets may be reset: the group has no members
// (Kafka's kafka-consumer-groups allows resets only in the Empty and Dead states).
func (s *groupSnapshot) inactive() bool {
	return (s.State == "Empty" || s.State == "Dead") && len(s.Members) == 0
}

// snapshotGroup reads the group's state, members and committed offsets, and the
// log range of every partition of topics. A topic that does not exist is an error.
func snapshotGroup(ctx context.Context, adm *kadm.Client, group string, topics []string) (*groupSnapshot, error) {
	snap := &groupSnapshot{Group: group}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("describe group %q: %w", group, err)
	}
	switch dg, ok := described[group]; {
	case !ok || errors.Is(dg.Err, kerr.GroupIDNotFound):
		snap.State = "Dead"
	case dg.Err != nil:
		return nil, fmt.Errorf("describe group %q: %w", group, dg.Err)
	default:
		snap.State, snap.Members = dg.State, dg.Members
	}

	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list log end offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("fetch committed offsets of group %q: %w", group, err)
	}
	for _, topic := range topics {
		parts, ok := starts[topic]
		if !ok {
			return nil, fmt.Errorf("topic %q does not exist", topic)
		}
		for p, so := range parts {
			if so.Err != nil {
				if errors.Is(so.Err, kerr.UnknownTopicOrPartition) {
					return nil, fmt.Errorf("topic %q does not exist", topic)
				}
				return nil, fmt.Errorf("log start offset of %s[%d]: %w", topic, p, so.Err)
			}
			eo, ok := ends.Lookup(topic, p)
			if !ok || eo.Err != nil {
				return nil, fmt.Errorf("log end offset of %s[%d]: %w", topic, p, errors.Join(eo.Err, errors.New("not listed")))
			}
			ps := partitionState{Topic: topic, Partition: p, Committed: -1, Start: so.Offset, End: eo.Offset}
			if c, ok := committed.Lookup(topic, p); ok && c.Err == nil && c.At >= 0 {
				ps.Committed = c.At
			}
			snap.Partitions = append(snap.Partitions, ps)
		}
	}
	sort.Slice(snap.Partitions, func(i, j int) bool {
		a, b := snap.Partitions[i], snap.Partitions[j]
		return a.Topic < b.Topic || (a.Topic == b.Topic && a.Partition < b.Partition)
	})
	return snap, nil
}

// printGroup writes the group's state and members.
func printGroup(out io.Writer, s *groupSnapshot) {
	fmt.Fprintf(out, "Group %q: %s, %d member(s)\n", s.Group, s.State, len(s.Members))
	for _, m := range s.Members {
		assigned := "-"
		if c, ok := m.Assigned.AsConsumer(); ok && len(c.Topics) > 0 {
			var parts []string
			for _, t := range c.Topics {
				ps := slices.Clone(t.Partitions)
				slices.Sort(ps)
				parts = append(parts, fmt.Sprintf("%s%v", t.Topic, ps))
			}
			assigned = strings.Join(parts, " ")
		}
		fmt.Fprintf(out, "  member %s  client %s  host %s  partitions %s\n", m.MemberID, m.ClientID, m.ClientHost, assigned)
	}
}

// printOffsets writes the offsets table with totals, then the group.
func printOffsets(out io.Writer, s *groupSnapshot) {
	t := newTable(out)
	t.Header("Topic", "Partition", "Committed", "Log start", "Log end", "Lag")
	var totalLag, totalRecords int64
	uncommitted := false
	for _, p := range s.Partitions {
		committed := "-"
		if p.Committed >= 0 {
			committed = strconv.FormatInt(p.Committed, 10)
		} else {
			uncommitted = true
		}
		totalLag += p.lag()
		totalRecords += p.End - p.Start
		_ = t.Append(p.Topic, p.Partition, committed, p.Start, p.End, p.lag())
	}
	_ = t.Append("total", partitionsLabel(len(s.Partitions)), "", "", fmt.Sprintf("%d records", totalRecords), totalLag)
	_ = t.Render()
	if uncommitted {
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
			target, err := parseResetTarget(to)
			if err != nil {
				return err
			}
			cfg, err := loadConfigScoped(cmd, kafkaKey)
			if err != nil {
				return err
			}
			selection, err := parseTopicSelection(topics, cfg.Kafka.Topics)
			if err != nil {
				return err
			}
			adm, closeAdm, err := newKafkaAdmin(cfg)
			if err != nil {
				return err
			}
			defer closeAdm()
			ctx, cancel := context.WithTimeout(cmd.Context(), adminTimeout)
			defer cancel()
			return runOffsetsReset(ctx, cmd.OutOrStdout(), adm, cfg.Kafka.Group, selection, target, execute)
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

// groupActiveError refuses a reset while the group has members.
type groupActiveError struct {
	Group   string
	State   string
	Members int
}

func (e *groupActiveError) Error() string {
	return fmt.Sprintf("group %q is %s with %d active member(s): offsets can be reset only while nobody consumes (state Empty or Dead, as kafka-consumer-groups requires); "+
		"a running member keeps its own positions and overwrites the reset with its next commit. "+
		"Stop every `consumer run` of group %q first, wait until `consumer offsets show` says Empty, then retry. Nothing was changed",
		e.Group, e.State, e.Members, e.Group)
}

// runOffsetsReset reads the group's offsets, prints the plan and, with execute,
// commits it.
func runOffsetsReset(ctx context.Context, out io.Writer, adm *kadm.Client, group string, sel topicSelection, target resetTarget, execute bool) error {
	snap, err := snapshotGroup(ctx, adm, group, sel.topics())
	if err != nil {
		return err
	}
	var inputs []resetInput
	for _, p := range snap.Partitions {
		if !sel.has(p.Topic, p.Partition) {
			continue
		}
		inputs = append(inputs, resetInput{partitionState: p, AtTime: -1})
	}
	if err := sel.check(snap.Partitions); err != nil {
		return err
	}
	if target.Kind == targetDatetime {
		listed, err := adm.ListOffsetsAfterMilli(ctx, target.Time.UnixMilli(), sel.topics()...)
		if err != nil {
			return fmt.Errorf("list offsets at %s: %w", target.Time.Format(time.RFC3339), err)
		}
		for i := range inputs {
			in := &inputs[i]
			o, ok := listed.Lookup(in.Topic, in.Partition)
			if !ok || o.Err != nil {
				return fmt.Errorf("offset of %s[%d] at %s: %w", in.Topic, in.Partition, target.Time.Format(time.RFC3339), errors.Join(o.Err, errors.New("not listed")))
			}
			in.AtTime = o.Offset
		}
	}
	plan := planReset(target, inputs)

	fmt.Fprintf(out, "Reset plan for group %q to %s:\n", group, target)
	printPlan(out, plan)
	if !snap.inactive() {
		active := &groupActiveError{Group: group, State: snap.State, Members: len(snap.Members)}
		if execute {
			printGroup(out, snap)
			return active
		}
		fmt.Fprintf(out, "\nDry run: nothing changed. Note: --execute will be refused now: %v.\n", active)
		return nil
	}
	if !execute {
		fmt.Fprintln(out, "\nDry run: nothing changed. Run again with --execute to commit these offsets.")
		return nil
	}

	offsets := make(kadm.Offsets)
	for _, r := range plan {
		offsets.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.Target, LeaderEpoch: -1})
	}
	resp, err := adm.CommitOffsets(ctx, group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
			return fmt.Errorf("commit refused, a consumer joined group %q meanwhile (%w); stop every `consumer run` of the group first", group, err)
		}
		return fmt.Errorf("commit the new offsets of group %q: %w", group, err)
	}
	replay, _ := planTotals(plan)
	fmt.Fprintf(out, "\nCommitted the new offsets of %d partition(s) of group %q.\n", len(plan), group)
	fmt.Fprintf(out, "The next `consumer run` reads from the targets: %d record(s) read again (CRM events are upserted into Zoho again; the others are dropped, and rejected records dead-lettered again, as before).\n", replay)
	return nil
}

// targetKind names the kinds of reset target.
type targetKind int

const (
	targetEarliest targetKind = iota + 1
	targetLatest
	targetDatetime
	targetOffset
	targetShift
)

// resetTarget is a parsed --to value.
type resetTarget struct {
	Kind   targetKind
	Time   time.Time // targetDatetime
	Offset int64     // targetOffset
	Shift  int64     // targetShift
}

func (t resetTarget) String() string {
	switch t.Kind {
	case targetEarliest:
		return "earliest"
	case targetLatest:
		return "latest"
	case targetDatetime:
		return "datetime=" + t.Time.Format(time.RFC3339Nano)
	case targetOffset:
		return fmt.Sprintf("offset=%d", t.Offset)
	case targetShift:
		return fmt.Sprintf("shift=%+d", t.Shift)
	}
	return "?"
}

// parseResetTarget parses earliest, latest, datetime=RFC3339, offset=N or shift=±N.
func parseResetTarget(s string) (resetTarget, error) {
	kind, val, hasVal := strings.Cut(strings.TrimSpace(s), "=")
	bad := func(why string) (resetTarget, error) {
		return resetTarget{}, fmt.Errorf("--to %q: %s (want earliest, latest, datetime=RFC3339, offset=N or shift=±N)", s, why)
	}
	switch strings.ToLower(kind) {
	case "earliest", "latest":
		if hasVal {
			return bad("takes no value")
		}
		if strings.EqualFold(kind, "earliest") {
			return resetTarget{Kind: targetEarliest}, nil
		}
		return resetTarget{Kind: targetLatest}, nil
	case "datetime":
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return bad("the time is not RFC 3339, e.g. 2026-11-28T10:00:00Z")
		}
		return resetTarget{Kind: targetDatetime, Time: t}, nil
	case "offset":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return bad("the offset must be a whole number ≥ 0")
		}
		return resetTarget{Kind: targetOffset, Offset: n}, nil
	case "shift":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return bad("the shift must be a whole number, e.g. -100 or +50")
		}
		return resetTarget{Kind: targetShift, Shift: n}, nil
	case "":
		return bad("a target is required")
	}
	return bad("unknown target")
}

// topicSelection is the parsed --topic flags: topic → partitions (nil: all).
type topicSelection struct {
	order []string
	parts map[string][]int32
}

// parseTopicSelection parses --topic values ("T" or "T:0,1"); no value selects
// every configured topic. Topics must be among configured (kafka.topics).
func parseTopicSelection(args, configured []string) (topicSelection, error) {
	sel := topicSelection{parts: map[string][]int32{}}
	if len(args) == 0 {
		for _, t := range configured {
			if _, dup := sel.parts[t]; !dup {
				sel.order = append(sel.order, t)
				sel.parts[t] = nil
			}
		}
		return sel, nil
	}
	for _, a := range args {
		topic, list, hasParts := strings.Cut(a, ":")
		topic = strings.TrimSpace(topic)
		if !slices.Contains(configured, topic) {
			return sel, fmt.Errorf("--topic %q: %q is not one of kafka.topics (%s)", a, topic, strings.Join(configured, ", "))
		}
		prev, seen := sel.parts[topic]
		if !seen {
			sel.order = append(sel.order, topic)
		} else if prev == nil {
			continue // already the whole topic
		}
		if !hasParts {
			sel.parts[topic] = nil
			continue
		}
		parts := prev
		for _, ps := range strings.Split(list, ",") {
			p, err := strconv.ParseInt(strings.TrimSpace(ps), 10, 32)
			if err != nil || p < 0 {
				return sel, fmt.Errorf("--topic %q: %q is not a partition number", a, ps)
			}
			if !slices.Contains(parts, int32(p)) {
				parts = append(parts, int32(p))
			}
		}
		sel.parts[topic] = parts
	}
	return sel, nil
}

func (s topicSelection) topics() []string { return s.order }

func (s topicSelection) has(topic string, p int32) bool {
	parts, ok := s.parts[topic]
	return ok && (parts == nil || slices.Contains(parts, p))
}

// check reports selected partitions that do not exist.
func (s topicSelection) check(existing []partitionState) error {
	for _, t := range s.order {
		for _, p := range s.parts[t] {
			if !slices.ContainsFunc(existing, func(e partitionState) bool { return e.Topic == t && e.Partition == p }) {
				return fmt.Errorf("--topic %s: partition %d does not exist", t, p)
			}
		}
	}
	return nil
}

// resetInput is one partition's offsets as the plan needs them.
type resetInput struct {
	partitionState
	// AtTime is the first offset whose record timestamp is at or after the
	// datetime target (the log end when there is none); -1 when not listed.
	AtTime int64
}

// resetRow is one partition of a reset plan.
type resetRow struct {
	Topic     string
	Partition int32
	// Current is where the group resumes now: the committed offset, or the
	// log start when nothing is committed (HasCommit false).
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
	// Note explains clamping and other adjustments; "" when none.
	Note string
}

// planReset computes the new offsets of a reset. It is pure: every input comes
// from in (log range, committed offsets, offsets at the datetime target).
// Targets are clamped to [log start, log end]. shift moves from Current.
func planReset(target resetTarget, in []resetInput) []resetRow {
	rows := make([]resetRow, 0, len(in))
	for _, p := range in {
		r := resetRow{Topic: p.Topic, Partition: p.Partition, Current: p.resume(), HasCommit: p.Committed >= 0}
		var notes []string
		if !r.HasCommit {
			notes = append(notes, "nothing committed: current is the log start")
		} else if p.Committed < p.Start {
			notes = append(notes, fmt.Sprintf("committed %d expired: current is the log start", p.Committed))
		}
		want := p.Start
		switch target.Kind {
		case targetEarliest:
			want = p.Start
		case targetLatest:
			want = p.End
		case targetOffset:
			want = target.Offset
		case targetShift:
			want = r.Current + target.Shift
		case targetDatetime:
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

// planTotals returns the records replayed and skipped by a plan.
func planTotals(rows []resetRow) (replay, skip int64) {
	for _, r := range rows {
		replay += r.Replay
		skip += r.Skip
	}
	return replay, skip
}

// printPlan writes the plan table, its total and the credit estimate.
func printPlan(out io.Writer, rows []resetRow) {
	t := newTable(out)
	t.Header("Topic", "Partition", "Current", "Target", "To replay", "To skip", "Note")
	for _, r := range rows {
		current := strconv.FormatInt(r.Current, 10)
		if !r.HasCommit {
			current += " (none)"
		}
		_ = t.Append(r.Topic, r.Partition, current, r.Target, r.Replay, r.Skip, r.Note)
	}
	replay, skip := planTotals(rows)
	_ = t.Append("total", partitionsLabel(len(rows)), "", "", replay, skip, "")
	_ = t.Render()
	fmt.Fprintf(out, "Records to replay: %d; estimated Zoho API credits: at most %d (1 credit per 10 records; dropped events cost nothing, records merged by email cost less).\n",
		replay, zohoapi.Credits(int(replay)))
	if skip > 0 {
		fmt.Fprintf(out, "Records skipped: %d (never delivered to Zoho).\n", skip)
	}
}

// partitionsLabel is "1 partition" or "N partitions".
func partitionsLabel(n int) string {
	if n == 1 {
		return "1 partition"
	}
	return fmt.Sprintf("%d partitions", n)
}
