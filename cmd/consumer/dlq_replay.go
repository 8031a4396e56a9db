package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/term"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/zohoapi"
)

// Skip reasons of "dlq replay".
const (
	skipNoSourceTopic   = "no_source_topic"
	skipNotASourceTopic = "source_topic_not_in_kafka.topics"
	// skipAlreadyReplayed: the dead letter was written by an earlier run of
	// the same replay group (the record failed again then).
	skipAlreadyReplayed = "already_replayed"
	// skipSuperseded: a later dead letter of the same source record is in
	// the topic (an offset reset or a replay dead-lettered it again); that
	// one is replayed instead, so each source record is sent once.
	skipSuperseded       = "superseded"
	toSourceChunkRecords = 100
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
               kafka.topics are skipped.
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

--dry-run lists what would be sent (for --direct: the Zoho record today's
mapping makes) and sends and commits nothing.

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
			return r.run(cmd.Context())
		},
	}
	r.sel.bind(cmd.Flags(), true)
	cmd.Flags().BoolVar(&r.toSource, "to-source", false, "produce the original key and value back to source.topic (the pipeline maps them again)")
	cmd.Flags().BoolVar(&r.direct, "direct", false, "map again and upsert straight into Zoho through the pipeline's delivery path")
	cmd.Flags().BoolVar(&r.dryRun, "dry-run", false, "list what would be sent; send nothing, commit nothing")
	cmd.Flags().StringVar(&r.group, "group", "", `consumer group keeping replay's position (default "<kafka.group>.dlq-replay[.code=C][.field=F]")`)
	cmd.Flags().BoolVar(&r.includeReplayed, "include-replayed", false, "also send the dead letters this group's earlier runs wrote (records that failed again under it); default: skip them as "+skipAlreadyReplayed)
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

// dlqReplay is one "dlq replay" run.
type dlqReplay struct {
	sel                      dlqSelection
	toSource, direct, dryRun bool
	includeReplayed          bool
	group                    string
	cfg                      *config.Config
	out                      io.Writer
	progress                 io.Writer // nil: no progress bar

	adm      *kadm.Client
	conn     []kgo.Opt // the connection of kafka.* (kafkaconn)
	topic    string
	pos, end map[int32]int64 // per partition: where this run starts (-1: log start) and stops
	tally    replayTally
	latest   dlq.LatestBySource // the latest dead letter of each source record, up to end
	send     func(ctx context.Context, recs []replayItem) (handled []bool, err error)
	preview  func(r dlq.Record) string
	dryRows  [][]string
	bar      *progressbar.ProgressBar
}

// replayItem is a dead-letter record with its replay marks.
type replayItem struct {
	dlq.Record
	mark dlq.ReplayMark
}

type replayTally struct {
	selected, sent, failedAgain int
	skipped                     map[string]int
}

func (r *dlqReplay) run(ctx context.Context) error {
	r.topic = r.cfg.Kafka.DLQTopic
	r.tally.skipped = map[string]int{}
	conn, err := kafkaOpts(r.cfg)
	if err != nil {
		return err
	}
	r.conn = conn
	cl, err := kgo.NewClient(conn...)
	if err != nil {
		return err
	}
	defer cl.Close()
	r.adm = kadm.NewClient(cl)
	if err := r.loadPosition(ctx); err != nil {
		return err
	}
	if err := r.loadLatest(ctx); err != nil {
		return err
	}
	switch {
	case r.dryRun && r.direct:
		mapper, err := mapping.NewMapper(pipelineOptions(r.cfg, nil, nil).Mapping)
		if err != nil {
			return err
		}
		r.preview = func(d dlq.Record) string { return previewDirect(mapper, r.cfg.Zoho.Module, d) }
	case r.dryRun:
		r.preview = func(d dlq.Record) string { return previewToSource(r.cfg, d) }
	case r.direct:
		closeFn, err := r.directSender()
		if err != nil {
			return err
		}
		defer closeFn()
	default:
		closeFn, err := r.toSourceSender()
		if err != nil {
			return err
		}
		defer closeFn()
	}
	if r.progress != nil {
		n, err := r.count(ctx)
		if err != nil {
			return err
		}
		r.bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(r.progress), progressbar.OptionSetDescription("replaying"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	err = r.replay(ctx)
	if r.bar != nil {
		_ = r.bar.Finish()
	}
	r.report(err)
	return r.explain(err)
}

// explain turns a throttle that stopped the replay into what to do about it.
func (r *dlqReplay) explain(err error) error {
	var te *pipeline.ThrottledError
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
		msg = "Zoho throttled the upserts (429 TOO_MANY_REQUESTS: the day's API credits or the concurrent-call limit are used up): try again later, or lower delivery.max_in_flight"
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

// loadPosition reads the dead-letter topic's log range and the group's
// committed offsets, and refuses a group that has active members.
func (r *dlqReplay) loadPosition(ctx context.Context) error {
	described, err := r.adm.DescribeGroups(ctx, r.group)
	if err == nil {
		if g, ok := described[r.group]; ok && g.Err == nil && len(g.Members) > 0 {
			return fmt.Errorf("consumer group %s has %d active members (state %s): another consumer uses it; stop it or pick another --group", r.group, len(g.Members), g.State)
		}
	}
	ends, err := r.adm.ListEndOffsets(ctx, r.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", r.topic, err)
	}
	r.end, r.pos = map[int32]int64{}, map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == r.topic {
			r.end[o.Partition], r.pos[o.Partition] = o.Offset, -1
		}
	})
	if len(r.end) == 0 {
		return fmt.Errorf("dead-letter topic %s: %w", r.topic, kerr.UnknownTopicOrPartition)
	}
	committed, err := r.adm.FetchOffsets(ctx, r.group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("reading the position of group %s: %w", r.group, err)
	}
	for p := range r.pos {
		if o, ok := committed.Lookup(r.topic, p); ok && o.Err == nil && o.At >= 0 {
			r.pos[p] = o.At
		}
	}
	return nil
}

// loadLatest notes the latest dead letter of every source record from where
// this run starts up to its end, whatever the selection: a later dead letter
// with another code still supersedes an earlier one.
func (r *dlqReplay) loadLatest(ctx context.Context) error {
	return dlq.Read(ctx, r.cfg.Kafka.Brokers, r.topic, r.startPoint(time.Now()), dlq.Filter{}, func(d dlq.Record) error {
		if d.DLQOffset < r.end[d.DLQPartition] {
			r.latest.Add(d)
		}
		return nil
	}, r.conn...)
}

// skipReason is why a selected dead letter is not sent: superseded by a later
// one of its source record, or written by this group's earlier run; "" to send it.
func (r *dlqReplay) skipReason(it replayItem) string {
	switch {
	case r.latest.Superseded(it.Record):
		return skipSuperseded
	case !r.includeReplayed && it.mark.Group == r.group:
		return skipAlreadyReplayed
	}
	return ""
}

// startPoint is where dlq.Read starts: the selection's start point, moved up
// to the group's position when every partition has one further on. Records
// before a partition's own position are skipped by replay.
func (r *dlqReplay) startPoint(now time.Time) dlq.StartPoint {
	minPos := int64(-1)
	for _, p := range r.pos {
		if p < 0 {
			return r.sel.start(now)
		}
		if minPos < 0 || p < minPos {
			minPos = p
		}
	}
	if r.sel.since > 0 || minPos <= 0 || r.sel.from >= minPos {
		return r.sel.start(now)
	}
	return dlq.FromOffset(minPos)
}

// visit reads the selected records of this run (after the position, before
// the end seen at the start) with their replay marks and calls fn with them
// in chunks of n.
func (r *dlqReplay) visit(ctx context.Context, n int, fn func([]replayItem) error) error {
	now := time.Now()
	var chunk []replayItem
	seen := 0
	err := dlq.Read(ctx, r.cfg.Kafka.Brokers, r.topic, r.startPoint(now), r.sel.filter(now), func(d dlq.Record) error {
		if d.DLQOffset < r.pos[d.DLQPartition] || d.DLQOffset >= r.end[d.DLQPartition] {
			return nil
		}
		chunk = append(chunk, replayItem{Record: d, mark: dlq.ReplayMarkOf(d.Extra)})
		seen++
		if len(chunk) == n || (r.sel.limit > 0 && seen >= r.sel.limit) {
			err := fn(chunk)
			chunk = nil
			if err != nil {
				return err
			}
		}
		if r.sel.limit > 0 && seen >= r.sel.limit {
			return dlq.ErrStop
		}
		return nil
	}, r.conn...)
	if err == nil && len(chunk) > 0 {
		err = fn(chunk)
	}
	return err
}

// count is the number of records this run would replay (for the progress bar).
func (r *dlqReplay) count(ctx context.Context) (int, error) {
	n := 0
	err := r.visit(ctx, toSourceChunkRecords, func(c []replayItem) error { n += len(c); return nil })
	return n, err
}

func (r *dlqReplay) chunkSize() int {
	if r.direct && !r.dryRun {
		return max(r.cfg.Batch.MaxRecords, 1) * max(r.cfg.Delivery.MaxInFlight, 1)
	}
	return toSourceChunkRecords
}

// replay handles every selected record and commits the position after each
// chunk; at the end (no --limit stop, nothing left unhandled) it moves the
// position to the end seen at the start, past the records not selected.
func (r *dlqReplay) replay(ctx context.Context) error {
	limited := false
	err := r.visit(ctx, r.chunkSize(), func(chunk []replayItem) error {
		r.tally.selected += len(chunk)
		if r.sel.limit > 0 && r.tally.selected >= r.sel.limit {
			limited = true
		}
		if r.dryRun {
			for _, it := range chunk {
				d, preview := it.Record, ""
				if reason := r.skipReason(it); reason != "" {
					preview = "skip: " + reason
				} else {
					preview = r.preview(d)
				}
				r.dryRows = append(r.dryRows, []string{dlqPlace(d), formatTime(d.FailedAt), d.Code, d.Field,
					fmt.Sprintf("%s/%d@%d", d.SourceTopic, d.SourcePartition, d.SourceOffset), printable(d.Key), preview})
			}
			return nil
		}
		handled := make([]bool, len(chunk))
		var todo []replayItem
		var index []int
		for i, it := range chunk {
			if reason := r.skipReason(it); reason != "" {
				r.tally.skipped[reason]++
				handled[i] = true
				continue
			}
			todo = append(todo, it)
			index = append(index, i)
		}
		var sendErr error
		if len(todo) > 0 {
			var sent []bool
			sent, sendErr = r.send(ctx, todo)
			for j, ok := range sent {
				handled[index[j]] = ok
			}
		}
		next := map[int32]int64{}
		blocked := map[int32]bool{}
		for i, d := range chunk {
			switch {
			case blocked[d.DLQPartition]:
			case handled[i]:
				next[d.DLQPartition] = d.DLQOffset + 1
			default:
				blocked[d.DLQPartition] = true
			}
		}
		if err := r.commit(ctx, next); err != nil {
			return errors.Join(sendErr, err)
		}
		if r.bar != nil {
			_ = r.bar.Add(len(chunk))
		}
		return sendErr
	})
	if err != nil || r.dryRun || limited {
		return err
	}
	return r.commit(ctx, r.end)
}

// commit moves the group's position forward to next (partitions not moving are left out).
func (r *dlqReplay) commit(ctx context.Context, next map[int32]int64) error {
	offs := make(kadm.Offsets)
	for p, o := range next {
		if o > r.pos[p] && o > 0 {
			offs.Add(kadm.Offset{Topic: r.topic, Partition: p, At: o, LeaderEpoch: -1})
		}
	}
	if len(offs) == 0 {
		return nil
	}
	// Not the run's context: a position is saved even when Ctrl-C ended the run.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	resp, err := r.adm.CommitOffsets(cctx, r.group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("committing the replay position of group %s: %w", r.group, err)
	}
	offs.Each(func(o kadm.Offset) { r.pos[o.Partition] = o.At })
	return nil
}

// toSourceSender produces records back to their source topics.
func (r *dlqReplay) toSourceSender() (func(), error) {
	conn, err := kafkaOpts(r.cfg)
	if err != nil {
		return nil, err
	}
	limit := topics.Limits{}.ProducerLimit(r.cfg.Kafka.MaxMessageBytes)
	cl, err := kgo.NewClient(append(conn,
		kgo.ProducerBatchMaxBytes(limit),
		kgo.BrokerMaxWriteBytes(max(limit*2, 100<<20)),
	)...)
	if err != nil {
		return nil, err
	}
	r.send = func(ctx context.Context, chunk []replayItem) ([]bool, error) {
		handled := make([]bool, len(chunk))
		var krs []*kgo.Record
		index := map[*kgo.Record]int{}
		for i, it := range chunk {
			d := it.Record
			if reason := toSourceSkip(r.cfg, d); reason != "" {
				r.tally.skipped[reason]++
				handled[i] = true
				continue
			}
			// The marks travel with the record: the pipeline copies them onto
			// its dead letter if it fails again, and this group then skips it.
			mark := dlq.ReplayMark{Group: r.group, Count: it.mark.Count + 1}
			kr := &kgo.Record{Topic: d.SourceTopic, Key: d.Key, Value: d.Value, Headers: mark.Headers()}
			index[kr] = i
			krs = append(krs, kr)
		}
		if len(krs) == 0 {
			return handled, nil
		}
		var firstErr error
		for _, res := range cl.ProduceSync(ctx, krs...) {
			i := index[res.Record]
			if res.Err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("producing %s/%d@%d back to %s: %w", r.topic, chunk[i].DLQPartition, chunk[i].DLQOffset, res.Record.Topic, res.Err)
				}
				continue
			}
			handled[i] = true
			r.tally.sent++
		}
		return handled, firstErr
	}
	return cl.Close, nil
}

// toSourceSkip is why a record cannot go back to its source topic, "" if it can.
func toSourceSkip(cfg *config.Config, d dlq.Record) string {
	switch {
	case d.SourceTopic == "":
		return skipNoSourceTopic
	case !slices.Contains(cfg.Kafka.Topics, d.SourceTopic):
		return skipNotASourceTopic
	}
	return ""
}

// directSender upserts records into Zoho through a pipeline.Replayer.
func (r *dlqReplay) directSender() (func(), error) {
	log, err := newLogger(r.cfg.Log.Level, r.cfg.Log.Format)
	if err != nil {
		return nil, err
	}
	zc, err := newZohoClient(r.cfg, log)
	if err != nil {
		return nil, err
	}
	o := pipelineOptions(r.cfg, zc, log)
	if o.KafkaOptions, err = kafkaOpts(r.cfg); err != nil {
		return nil, err
	}
	rp, err := pipeline.NewReplayer(o, r.group)
	if err != nil {
		return nil, err
	}
	r.send = func(ctx context.Context, chunk []replayItem) ([]bool, error) {
		recs := make([]pipeline.ReplayRecord, len(chunk))
		for i, it := range chunk {
			recs[i] = pipeline.ReplayRecord{Record: it.Record, Count: it.mark.Count}
		}
		res, err := rp.Replay(ctx, recs)
		r.tally.sent += res.Sent
		r.tally.failedAgain += res.DeadLettered
		for k, v := range res.Skipped {
			r.tally.skipped[k] += v
		}
		return res.Handled, err
	}
	return func() { rp.Close(); _ = log.Sync() }, nil
}

// previewDirect is what --direct would do with d: the Zoho record today's
// mapping makes, or why it would be skipped or dead-lettered again.
func previewDirect(m *mapping.Mapper, module string, d dlq.Record) string {
	if d.Module != "" && !strings.EqualFold(d.Module, module) {
		return "skip: " + pipeline.SkipOtherModule + " (" + d.Module + ")"
	}
	mp := m.Map(d.Value)
	switch mp.Outcome {
	case mapping.OutcomeDrop:
		return "skip: " + string(mp.Drop)
	case mapping.OutcomeReject:
		return "dead-letter again: " + mp.Reject.Code + " " + mp.Reject.Field
	}
	b, err := json.Marshal(mp.Record)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// previewToSource is what --to-source would do with d.
func previewToSource(cfg *config.Config, d dlq.Record) string {
	if reason := toSourceSkip(cfg, d); reason != "" {
		return "skip: " + reason
	}
	return "→ " + d.SourceTopic
}

// report prints the dry-run listing or the tally and the position.
func (r *dlqReplay) report(runErr error) {
	target := "their source topics"
	if r.direct {
		target = "Zoho (" + r.cfg.Zoho.Module + ")"
	}
	if r.dryRun {
		if len(r.dryRows) > 0 {
			renderFitted(r.out, tableWidth(r.out), []string{"Offset", "Failed at", "Code", "Field", "Source", "Key", "Would send"}, r.dryRows,
				[]bool{false, false, false, true, true, true, true})
		}
		fmt.Fprintf(r.out, "Dry run: %d dead-letter records would be replayed to %s. Nothing was sent; the position of group %s was not moved (%s).\n",
			r.tally.selected, target, r.group, r.position())
		return
	}
	verb := "Replay of"
	if runErr != nil {
		verb = "Stopped replaying"
	}
	fmt.Fprintf(r.out, "%s dead-letter records of %s to %s (group %s):\n", verb, r.topic, target, r.group)
	fmt.Fprintf(r.out, "  selected      %d\n  sent          %d\n  failed again  %d\n  skipped       %d\n",
		r.tally.selected, r.tally.sent, r.tally.failedAgain, sumInts(r.tally.skipped))
	if r.direct {
		fmt.Fprintln(r.out, "  (sent: accepted by Zoho, inserted or updated; failed again: rejected again, not in Zoho)")
	}
	for _, k := range sortedIntKeys(r.tally.skipped) {
		fmt.Fprintf(r.out, "    %-12s %d\n", k, r.tally.skipped[k])
	}
	if r.toSource && r.tally.sent > 0 {
		fmt.Fprintln(r.out, "The pipeline maps the sent records again; those that fail again appear in the dead-letter topic as new records.")
	}
	if r.direct && r.tally.failedAgain > 0 {
		fmt.Fprintln(r.out, "Records that failed again were written to the dead-letter topic with their new reason (see dlq inspect).")
	}
	fmt.Fprintf(r.out, "Position: %s\n", r.position())
}

// position describes the group's position per partition.
func (r *dlqReplay) position() string {
	parts := make([]int32, 0, len(r.pos))
	for p := range r.pos {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	var b []string
	for _, p := range parts {
		if r.pos[p] < 0 {
			b = append(b, fmt.Sprintf("partition %d: none yet", p))
		} else {
			b = append(b, fmt.Sprintf("partition %d: offset %d of %d", p, r.pos[p], r.end[p]))
		}
	}
	return strings.Join(b, ", ")
}

func sumInts(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func sortedIntKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
