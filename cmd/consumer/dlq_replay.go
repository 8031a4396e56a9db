package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/dlq/replay"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/kafkaconn"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/wiring"
	"github.com/zohosink/zohosink/zohoapi"
)

func newDLQReplayCommand() *cobra.Command {
	var r dlqReplay
	cmd := &cobra.Command{
		Use:   "replay (--to-source | --direct) [--dry-run]",
		Short: "Send dead-letter records again, back to their source topic or straight to Zoho",
		Long: `Replay sends the selected dead-letter records again once the cause of their
rejection is fixed (a field mapping, a picklist value, a missing field in Zoho).

  --to-source  produces each record's original key and value back to its
               source.topic; the running pipeline then maps it again with
               today's configuration. Other consumers of that topic see the
               event again too. Records whose source topic is not one of
               kafka.topics are skipped, and so are records the source
               topic refuses as too large (its max.message.bytes): they
               stay in the dead-letter topic, for --direct with a --group
               of its own.
  --direct     maps each record's value with today's configuration and upserts
               it into zoho.module through the pipeline's own delivery path
               (batches, merge by email, retries, circuit breaker); records
               today's mapping drops (no consent, not a CRM event) are
               skipped. Needs the full Zoho configuration.

A record that fails again (Zoho rejects it, or today's mapping rejects it:
DECODE_ERROR, MISSING_EMAIL, INVALID_DATA) is written to the dead-letter topic
again with its new reason and its original source headers: it is never lost.
That new dead letter carries two more headers, replay.group (this run's
--group) and replay.count (how many replays the record has been through).

Position: replay remembers how far it has read in the dead-letter topic in a
consumer group of its own (offsets committed after each batch of records is
handled; no member ever joins), so running the same command again sends
nothing twice. The group is "<kafka.group>.dlq-replay", with ".code=C" and
".field=F" appended for --code/--field selections, so that the records a
selection leaves out stay available to other selections; --group names it
explicitly. Reading starts at the group's position, or at --from/--since when
they are further on; records before that, or left out by --since, are passed
over by the group. To replay records again, use a new --group.

One dead letter per source record: when the topic holds several of one
source record (source.topic/partition/offset; every offset reset that
replays a rejected record writes another), only the latest is replayed and
the others are skipped (tally "skipped: superseded").

Records that failed again under this group are not sent again: a later run
of the same group skips the dead letters whose replay.group is its own
(tally "skipped: already_replayed") and moves past them, so a second run sends
nothing new and the topic does not grow on every run. They stay in the topic
for dlq inspect and for other groups. After a further fix, --include-replayed
sends the ones the group has not moved past yet (or use a new --group); their
replay.count goes up.

--to-source marks each record it produces with the same replay.group and
replay.count headers (other consumers of the topic see them). The pipeline
copies them onto the dead letter of a record that fails again, so the next
--to-source run of the group skips it too.

Zoho's rate limits end a run instead of stalling it: the first time Zoho
throttles the access-token refresh (10 tokens per 10 minutes per refresh
token; every command that has no cached token mints one) or answers an
upsert with 429 (the day's API credits or the concurrency limit used up),
replay stops, keeps the position of what it handled, prints its tally and
says when to try again. Outages (5xx, timeouts) are retried as in the
pipeline; Ctrl-C stops a run and keeps its position.

--dry-run lists what would be sent and sends and commits nothing. For
--direct it shows the Zoho record today's mapping makes, converted by the
module's Fields metadata exactly as --direct sends it (the values a field's
type cannot take are listed as left out); it reads that metadata like --direct
(one API call, 1 credit; the cached access token or one mint) when the zoho.*
settings are complete, and otherwise, or when Zoho cannot be read, says that
the values are shown untyped.

A progress bar is shown on stderr when it is a terminal; a tally (selected,
sent, failed again, skipped) and the new position end the run.`,
		Example: `  # what failed, then what would be sent
  consumer dlq stats -c zohosink.yaml
  consumer dlq replay -c zohosink.yaml --code INVALID_DATA --field Plan__c --to-source --dry-run

  # after fixing mapping.fields: back through the pipeline
  consumer dlq replay -c zohosink.yaml --code INVALID_DATA --field Plan__c --to-source

  # or straight to Zoho, the last day's failures only
  consumer dlq replay -c zohosink.yaml --since 24h --direct

  # a second run skips what failed again under the first; after another fix:
  consumer dlq replay -c zohosink.yaml --direct --include-replayed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.sel.check(cmd); err != nil {
				return err
			}
			if !r.toSource && !r.direct {
				return errors.New("say where to send the records: --to-source (back through the pipeline) or --direct (straight to Zoho)")
			}
			load := loadKafkaConfig
			if r.direct && !r.dryRun {
				load = loadConfig
			}
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			r.cfg, r.out = cfg, cmd.OutOrStdout()
			if f, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(f.Fd())) && !r.dryRun {
				r.progress = f
			}
			if !cmd.Flags().Changed("group") {
				r.group = defaultReplayGroup(cfg.Kafka.Group, r.sel)
			}
			return withKafka(cfg, func(conn *kafkaconn.Conn) error { return r.run(cmd.Context(), conn) })
		},
	}
	r.sel.bind(cmd.Flags(), true)
	cmd.Flags().BoolVar(&r.toSource, "to-source", false, "produce the original key and value back to source.topic (the pipeline maps them again)")
	cmd.Flags().BoolVar(&r.direct, "direct", false, "map again and upsert straight into Zoho through the pipeline's delivery path")
	cmd.Flags().BoolVar(&r.dryRun, "dry-run", false, "list what would be sent; send nothing, commit nothing")
	cmd.Flags().StringVar(&r.group, "group", "", `consumer group keeping replay's position (default "<kafka.group>.dlq-replay[.code=C][.field=F]")`)
	cmd.Flags().BoolVar(&r.includeReplayed, "include-replayed", false, "also send the dead letters this group's earlier runs wrote (records that failed again under it); default: skip them as "+replay.SkipAlreadyReplayed)
	cmd.MarkFlagsMutuallyExclusive("to-source", "direct")
	return cmd
}

// defaultReplayGroup is the position group of a selection: one per --code and
// --field, case-insensitively like the filters.
func defaultReplayGroup(group string, sel dlqSelection) string {
	g := group + ".dlq-replay"
	if sel.code != "" {
		g += ".code=" + strings.ToLower(sel.code)
	}
	if sel.field != "" {
		g += ".field=" + strings.ToLower(sel.field)
	}
	return g
}

// dlqReplay is one "dlq replay" command: its flags and what it wires.
type dlqReplay struct {
	sel                      dlqSelection
	toSource, direct, dryRun bool
	includeReplayed          bool
	group                    string
	cfg                      *config.Config
	out                      io.Writer
	progress                 io.Writer // nil: no progress bar
}

// chunkSize is the records sent at once: for --direct, enough to fill every
// in-flight call; else 100 records.
func (r *dlqReplay) chunkSize() int {
	if r.direct && !r.dryRun {
		return max(r.cfg.Batch.MaxRecords, 1) * max(r.cfg.Delivery.MaxInFlight, 1)
	}
	return 0
}

func (r *dlqReplay) run(ctx context.Context, kc *kafkaconn.Conn) error {
	if err := r.sel.checkCode(ctx, r.cfg, kc); err != nil {
		return err
	}
	conn := kc.Options()
	cl, err := kgo.NewClient(conn...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	run, err := replay.Open(ctx, adm, replay.Config{
		Brokers: r.cfg.Kafka.Brokers, KafkaOptions: conn, DLQTopic: r.cfg.Kafka.DLQTopic, Group: r.group,
		Selection:       replay.Selection{Selection: r.sel.selection(), Limit: r.sel.limit},
		IncludeReplayed: r.includeReplayed, Chunk: r.chunkSize(),
	})
	if err != nil {
		return err
	}
	if r.dryRun {
		var preview func(dlq.Record) string
		if r.direct {
			mapper, err := r.dryRunMapper(ctx)
			if err != nil {
				return err
			}
			preview = func(d dlq.Record) string { return replay.PreviewDirect(mapper, r.cfg.Zoho.Module, d) }
		} else {
			preview = func(d dlq.Record) string { return replay.PreviewToSource(r.cfg.Kafka.Topics, d) }
		}
		planned, err := run.DryRun(ctx, preview)
		r.reportDryRun(run, planned)
		return err
	}
	target, closeFn, err := r.target(ctx, adm, conn)
	if err != nil {
		return err
	}
	defer closeFn()
	var bar *progressbar.ProgressBar
	var progress func(int)
	if r.progress != nil {
		n, err := run.Count(ctx)
		if err != nil {
			return err
		}
		bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(r.progress), progressbar.OptionSetDescription("replaying"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		progress = func(n int) { _ = bar.Add(n) }
	}
	err = run.Replay(ctx, target, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	r.report(run, err)
	return r.explain(err)
}

// target wires where the records go: a Replayer for --direct, a producer to
// the source topics for --to-source; both producers are sized from the
// topics' max.message.bytes (capped by kafka.max_message_bytes).
func (r *dlqReplay) target(ctx context.Context, adm *kadm.Client, conn []kgo.Opt) (replay.Target, func(), error) {
	log, err := wiring.Logger(r.cfg.Log.Level, r.cfg.Log.Format)
	if err != nil {
		return nil, nil, err
	}
	lim, err := replay.Limits(ctx, adm, r.cfg.Kafka.Topics, r.cfg.Kafka.DLQTopic, log)
	if err != nil {
		return nil, nil, err
	}
	if !r.direct {
		ts, err := replay.NewToSource(lim, r.cfg.Kafka.MaxMessageBytes, r.cfg.Kafka.Topics, r.cfg.Kafka.DLQTopic, r.group, conn...)
		if err != nil {
			return nil, nil, err
		}
		return ts, func() { ts.Close(); _ = log.Sync() }, nil
	}
	zc, err := wiring.ZohoClient(r.cfg, log)
	if err != nil {
		return nil, nil, err
	}
	o, err := wiring.ReplayOptions(r.cfg, zc, log, r.group, lim.ProducerLimit(r.cfg.Kafka.MaxMessageBytes))
	if err != nil {
		return nil, nil, err
	}
	if o.Mapping.Metadata, err = wiring.FieldsMetadata(ctx, r.cfg, zc); err != nil {
		log.Warn("cannot read the Fields metadata of the module: mapped values are sent untyped", zap.String("module", r.cfg.Zoho.Module), zap.Error(err))
	}
	rp, err := replay.NewReplayer(o)
	if err != nil {
		return nil, nil, err
	}
	return replay.Direct{R: rp}, func() { rp.Close(); _ = log.Sync() }, nil
}

// dryRunMapper is the mapper of a --direct dry run: today's mapping with the
// module's Fields metadata read as the real replay reads it
// (wiring.FieldsMetadata), so that the preview shows each record as --direct
// would send it, values converted by their fields' types. It says first which
// it is: when the metadata cannot be read (zoho.* incomplete, Zoho
// unreachable or refusing), the preview shows the values untyped and says why.
func (r *dlqReplay) dryRunMapper(ctx context.Context) (*mapping.Mapper, error) {
	mc := r.cfg.MapperConfig()
	module := r.cfg.Zoho.Module
	var err error
	if fes := config.FieldErrors(config.Scope(r.cfg.Validate(), zohoKey)); len(fes) > 0 {
		msgs := make([]string, len(fes))
		for i, fe := range fes {
			msgs[i] = fe.Error()
		}
		err = fmt.Errorf("the zoho.* settings are incomplete: %s", strings.Join(msgs, "; "))
	} else {
		var log *zap.Logger
		var zc *zohoapi.Client
		if log, err = wiring.Logger(r.cfg.Log.Level, r.cfg.Log.Format); err != nil {
			return nil, err
		}
		defer func() { _ = log.Sync() }()
		if zc, err = wiring.ZohoClient(r.cfg, log); err != nil {
			return nil, err
		}
		mc.Metadata, err = wiring.FieldsMetadata(ctx, r.cfg, zc)
	}
	if err != nil {
		fmt.Fprintf(r.out, "Values are shown untyped: the Fields metadata of %s could not be read (%v); --direct converts them by their fields' types when it can read it.\n", module, err)
	} else {
		fmt.Fprintf(r.out, "Values are converted by the Fields metadata of %s, as --direct sends them.\n", module)
	}
	return mapping.NewMapper(mc)
}

// explain turns a throttle that stopped the replay into what to do about it.
func (r *dlqReplay) explain(err error) error {
	var te *replay.ThrottledError
	if !errors.As(err, &te) {
		return err
	}
	var msg string
	var wait *zohoapi.MintWaitError
	if te.Token {
		what := "Zoho throttled token refreshes"
		if errors.As(err, &wait) {
			what = "the token mint budget is spent (asking Zoho again would lock the refresh token out)"
		}
		msg = fmt.Sprintf("%s (10 per 10 minutes per refresh token): try again after ~%s; ",
			what, te.RetryAfter().Local().Format("15:04"))
		if r.cfg.Zoho.TokenCacheFile == "" {
			msg += "keep zoho.token_cache_file on (the default; not \"\" or off) so that commands reuse one token"
		} else {
			msg += "the token cache " + r.cfg.Zoho.TokenCacheFile + " held no usable token, and every process or command using this refresh token without that cache mints its own"
		}
	} else {
		msg = "Zoho throttled the upserts (429 TOO_MANY_REQUESTS even one call at a time: the day's API credits are used up, or other callers take every concurrent-call slot of the org): try again later"
	}
	return &explainedError{msg: msg + ". The position of the records handled so far is saved: run the same command again to go on.", err: err}
}

// explainedError is an error whose message is written for the operator; the
// error it explains stays reachable with errors.Is/As.
type explainedError struct {
	msg string
	err error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// target names where the records go, for the report.
func (r *dlqReplay) targetName() string {
	if r.direct {
		return "Zoho (" + r.cfg.Zoho.Module + ")"
	}
	return "their source topics"
}

// reportDryRun prints the dry-run listing.
func (r *dlqReplay) reportDryRun(run *replay.Run, planned []replay.Planned) {
	if len(planned) > 0 {
		rows := make([][]string, len(planned))
		for i, p := range planned {
			d := p.Record
			rows[i] = []string{tables.Offset(d.DLQPartition, d.DLQOffset), tables.Time(d.FailedAt), d.Code, d.Field,
				fmt.Sprintf("%s/%d@%d", d.SourceTopic, d.SourcePartition, d.SourceOffset), tables.Printable(d.Key), p.Action}
		}
		tables.Fitted(r.out, tables.Width(r.out), []string{"Offset", "Failed at", "Code", "Field", "Source", "Key", "Would send"}, rows,
			[]bool{false, false, false, true, true, true, true})
	}
	t := run.Tally()
	skipped := ""
	if n := t.SkippedTotal(); n > 0 {
		var by []string
		for _, k := range sortedIntKeys(t.Skipped) {
			by = append(by, fmt.Sprintf("%s %d", k, t.Skipped[k]))
		}
		skipped = fmt.Sprintf(" (%d skipped: %s)", n, strings.Join(by, ", "))
	}
	fmt.Fprintf(r.out, "Dry run: %d of %d selected dead-letter records would be replayed to %s%s. Nothing was sent; the position of group %s was not moved (%s).\n",
		t.Selected-t.SkippedTotal(), t.Selected, r.targetName(), skipped, r.group, position(run))
}

// report prints the tally and the position.
func (r *dlqReplay) report(run *replay.Run, runErr error) {
	t := run.Tally()
	verb := "Replay of"
	if runErr != nil {
		verb = "Stopped replaying"
	}
	fmt.Fprintf(r.out, "%s dead-letter records of %s to %s (group %s):\n", verb, r.cfg.Kafka.DLQTopic, r.targetName(), r.group)
	fmt.Fprintf(r.out, "  selected      %d\n  sent          %d\n  failed again  %d\n  skipped       %d\n",
		t.Selected, t.Sent, t.FailedAgain, t.SkippedTotal())
	for _, k := range sortedIntKeys(t.Skipped) {
		fmt.Fprintf(r.out, "    %-12s %d\n", k, t.Skipped[k])
	}
	if r.direct {
		fmt.Fprintln(r.out, "  (sent: accepted by Zoho, inserted or updated; failed again: rejected again, not in Zoho)")
	}
	if len(t.TooLarge) > 0 {
		fmt.Fprintf(r.out, "Too large for their source topic, still in %s (send them with --direct and a --group of their own, e.g. --from %d --limit N): %s\n",
			r.cfg.Kafka.DLQTopic, t.TooLarge[0].Offset, listPositions(t.TooLarge, tooLargeListed))
	}
	if r.toSource && t.Sent > 0 {
		fmt.Fprintln(r.out, "The pipeline maps the sent records again; those that fail again appear in the dead-letter topic as new records.")
	}
	if r.direct && t.FailedAgain > 0 {
		fmt.Fprintln(r.out, "Records that failed again were written to the dead-letter topic with their new reason (see dlq inspect).")
	}
	fmt.Fprintf(r.out, "Position: %s\n", position(run))
}

// position describes the group's position per partition.
func position(run *replay.Run) string {
	var b []string
	for _, p := range run.Positions() {
		if p.Offset < 0 {
			b = append(b, fmt.Sprintf("partition %d: none yet", p.Partition))
		} else {
			b = append(b, fmt.Sprintf("partition %d: offset %d of %d", p.Partition, p.Offset, p.End))
		}
	}
	return strings.Join(b, ", ")
}

func sortedIntKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tooLargeListed is how many positions of records too large for their
// source topic a replay's report lists.
const tooLargeListed = 20

// listPositions is positions as partition@offset, comma-separated, at most
// n of them and then how many more.
func listPositions(positions []replay.DLQPosition, n int) string {
	parts := make([]string, 0, min(len(positions), n)+1)
	for _, p := range positions[:min(len(positions), n)] {
		parts = append(parts, fmt.Sprintf("%d@%d", p.Partition, p.Offset))
	}
	if len(positions) > n {
		parts = append(parts, fmt.Sprintf("and %d more", len(positions)-n))
	}
	return strings.Join(parts, ", ")
}
