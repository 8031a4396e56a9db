package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/watermark"
)

// Skip reasons of a run (Tally.Skipped), besides the Replayer's.
const (
	// SkipNoSourceTopic: --to-source cannot send a dead letter without source.topic.
	SkipNoSourceTopic = "no_source_topic"
	// SkipNotASourceTopic: --to-source sends only to the pipeline's source topics.
	SkipNotASourceTopic = "source_topic_not_in_kafka.topics"
	// SkipAlreadyReplayed: the dead letter was written by an earlier run of
	// the same replay group (the record failed again then).
	SkipAlreadyReplayed = "already_replayed"
	// SkipSuperseded: a later dead letter of the same source record is in
	// the topic (an offset reset or a replay dead-lettered it again); that
	// one is replayed instead, so each source record is sent once.
	SkipSuperseded = "superseded"
	// SkipTooLargeForSource: --to-source cannot put the record back on its
	// source topic: the broker or the producer refused it as larger than
	// the topic's max.message.bytes (kerr.MessageTooLarge, for the record
	// sent alone), which the replay headers it adds can make it. It stays
	// in the dead-letter topic; --direct can send it.
	SkipTooLargeForSource = "too_large_for_source_topic"
)

// Selection is which dead letters a run considers: the operator's
// selection (where reading starts, code, field, failed.at; taken at Open)
// and a limit.
type Selection struct {
	dlq.Selection
	// Limit stops the run after this many selected records (0: no limit).
	Limit int
}

// Config configures a Run.
type Config struct {
	// Brokers and KafkaOptions connect the readers (dlq.Read).
	Brokers      []string
	KafkaOptions []kgo.Opt
	// DLQTopic is the dead-letter topic replayed.
	DLQTopic string
	// Group is the consumer group keeping the run's position in DLQTopic.
	Group string
	// Selection selects the records.
	Selection Selection
	// IncludeReplayed also sends dead letters this group wrote
	// (SkipAlreadyReplayed otherwise).
	IncludeReplayed bool
	// Chunk is how many records are sent at once, the position committed
	// after each chunk (default 100).
	Chunk int
}

// Item is a selected dead letter with its replay marks.
type Item struct {
	dlq.Record
	Mark dlq.ReplayMark
}

// Outcome is what a Target did with a chunk.
type Outcome struct {
	// Handled[i] is true once item i is sent, failed again (dead-lettered
	// again) or skipped: the position may move past it.
	Handled []bool
	// Sent and FailedAgain count items; Skipped counts items by reason.
	Sent, FailedAgain int
	Skipped           map[string]int
	// TooLarge are the items skipped as SkipTooLargeForSource, in the
	// order of the chunk.
	TooLarge []Item
}

// Target sends the records of a run: back to their source topics
// (ToSource) or straight to Zoho (Direct).
type Target interface {
	Send(ctx context.Context, items []Item) (Outcome, error)
}

// Tally is what a run did so far.
type Tally struct {
	Selected, Sent, FailedAgain int
	Skipped                     map[string]int
	// TooLarge are where the records skipped as SkipTooLargeForSource are
	// in the dead-letter topic, in the order handled: they stay there, for
	// --direct with a group of its own.
	TooLarge []DLQPosition
}

// DLQPosition is a record's place in the dead-letter topic.
type DLQPosition struct {
	Partition int32
	Offset    int64
}

// SkippedTotal is the sum of Skipped over all reasons.
func (t Tally) SkippedTotal() (n int) {
	for _, v := range t.Skipped {
		n += v
	}
	return n
}

// Position is where the run's group stands in one partition.
type Position struct {
	Partition int32
	// Offset is the next offset to replay, -1 when the group has none yet.
	Offset int64
	// End is the partition's end when the run started: the run stops there.
	End int64
}

// Run is one replay of the dead-letter topic: it reads the selected dead
// letters from the group's position up to the topic's end as it was at
// Open, skips those superseded by a later dead letter of the same source
// record (dlq.LatestBySource) and those its own group wrote, sends the rest
// through a Target in chunks, and commits the group's position after each
// chunk over the contiguous run of handled records (watermark.Tracker), so
// that running it again sends nothing twice. The group never has members.
type Run struct {
	c        Config
	start    dlq.StartPoint // the selection's, at Open
	filter   dlq.Filter     // the selection's, at Open
	adm      *kadm.Client
	pos, end map[int32]int64
	latest   dlq.LatestBySource
	done     *watermark.Tracker
	tally    Tally
}

// Open reads the dead-letter topic's log range, the group's committed
// position and the latest dead letter of every source record. It refuses a
// group that has active members, and a dead-letter topic that does not exist.
func Open(ctx context.Context, adm *kadm.Client, c Config) (*Run, error) {
	if c.Chunk <= 0 {
		c.Chunk = 100
	}
	now := time.Now()
	r := &Run{c: c, adm: adm, done: watermark.New(), tally: Tally{Skipped: map[string]int{}},
		start: c.Selection.Start(now), filter: c.Selection.Filter(now)}
	if err := r.loadPosition(ctx); err != nil {
		return nil, err
	}
	if err := r.loadLatest(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// loadPosition reads the dead-letter topic's log range and the group's
// committed offsets, and refuses a group that has active members.
func (r *Run) loadPosition(ctx context.Context) error {
	topic, group := r.c.DLQTopic, r.c.Group
	described, err := r.adm.DescribeGroups(ctx, group)
	if err == nil {
		if g, ok := described[group]; ok && g.Err == nil && len(g.Members) > 0 {
			return fmt.Errorf("consumer group %s has %d active members (state %s): another consumer uses it; stop it or pick another --group", group, len(g.Members), g.State)
		}
	}
	ends, err := r.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return &dlq.MissingTopicError{Topic: topic}
	}
	if err != nil {
		return fmt.Errorf("dead-letter topic %s: %w", topic, err)
	}
	r.end, r.pos = map[int32]int64{}, map[int32]int64{}
	var parts []int32
	ends.Each(func(o kadm.ListedOffset) {
		if o.Topic == topic {
			r.end[o.Partition], r.pos[o.Partition] = o.Offset, -1
			parts = append(parts, o.Partition)
		}
	})
	if len(r.end) == 0 {
		return &dlq.MissingTopicError{Topic: topic}
	}
	r.done.Assign(map[string][]int32{topic: parts})
	committed, err := r.adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return fmt.Errorf("reading the position of group %s: %w", group, err)
	}
	for p := range r.pos {
		if o, ok := committed.Lookup(topic, p); ok && o.Err == nil && o.At >= 0 {
			r.pos[p] = o.At
		}
	}
	return nil
}

// loadLatest notes the latest dead letter of every source record from where
// this run starts up to its end, whatever the selection: a later dead letter
// with another code still supersedes an earlier one.
func (r *Run) loadLatest(ctx context.Context) error {
	return dlq.Read(ctx, r.c.Brokers, r.c.DLQTopic, r.startPoint(), dlq.Filter{}, func(d dlq.Record) error {
		if d.DLQOffset < r.end[d.DLQPartition] {
			r.latest.Add(d)
		}
		return nil
	}, r.c.KafkaOptions...)
}

// startPoint is where dlq.Read starts: the selection's start point, moved up
// to the group's position when every partition has one further on. Records
// before a partition's own position are skipped by visit.
func (r *Run) startPoint() dlq.StartPoint {
	start := r.start
	minPos := int64(-1)
	for _, p := range r.pos {
		if p < 0 {
			return start
		}
		if minPos < 0 || p < minPos {
			minPos = p
		}
	}
	if from, ok := start.Offset(); !start.Time().IsZero() || minPos <= 0 || (ok && from >= minPos) {
		return start
	}
	return dlq.FromOffset(minPos)
}

// skipReason is why a selected dead letter is not sent: superseded by a later
// one of its source record, or written by this group's earlier run; "" to send it.
func (r *Run) skipReason(it Item) string {
	switch {
	case r.latest.Superseded(it.Record):
		return SkipSuperseded
	case !r.c.IncludeReplayed && it.Mark.Group == r.c.Group:
		return SkipAlreadyReplayed
	}
	return ""
}

// visit reads the selected records of this run (after the position, before
// the end seen at Open) with their replay marks and calls fn with them in
// chunks of n.
func (r *Run) visit(ctx context.Context, n int, fn func([]Item) error) error {
	var chunk []Item
	seen, limit := 0, r.c.Selection.Limit
	err := dlq.Read(ctx, r.c.Brokers, r.c.DLQTopic, r.startPoint(), r.filter, func(d dlq.Record) error {
		if d.DLQOffset < r.pos[d.DLQPartition] || d.DLQOffset >= r.end[d.DLQPartition] {
			return nil
		}
		chunk = append(chunk, Item{Record: d, Mark: dlq.ReplayMarkOf(d.Extra)})
		seen++
		if len(chunk) == n || (limit > 0 && seen >= limit) {
			err := fn(chunk)
			chunk = nil
			if err != nil {
				return err
			}
		}
		if limit > 0 && seen >= limit {
			return dlq.ErrStop
		}
		return nil
	}, r.c.KafkaOptions...)
	if err == nil && len(chunk) > 0 {
		err = fn(chunk)
	}
	return err
}

// Count is the number of records this run would replay (for a progress bar).
func (r *Run) Count(ctx context.Context) (int, error) {
	n := 0
	err := r.visit(ctx, r.c.Chunk, func(c []Item) error { n += len(c); return nil })
	return n, err
}

// Planned is what a dry run would do with one selected dead letter.
type Planned struct {
	Item
	// Action is "skip: REASON" or the preview of what would be sent.
	Action string
}

// DryRun lists what Replay would do, previewing each record that would be
// sent with preview; it sends and commits nothing. The tally counts the
// records selected and those skipped, by reason, as Replay would before
// sending (not what only sending finds: a record too large for its source
// topic).
func (r *Run) DryRun(ctx context.Context, preview func(dlq.Record) string) ([]Planned, error) {
	var out []Planned
	err := r.visit(ctx, r.c.Chunk, func(chunk []Item) error {
		r.tally.Selected += len(chunk)
		for _, it := range chunk {
			action := ""
			if reason := r.skipReason(it); reason != "" {
				action = "skip: " + reason
				r.tally.Skipped[reason]++
			} else {
				action = preview(it.Record)
			}
			out = append(out, Planned{Item: it, Action: action})
		}
		return nil
	})
	return out, err
}

// Replay handles every selected record through t and commits the position
// after each chunk; at the end (no Limit stop, no error) it moves the
// position to the end seen at Open, past the records not selected. progress,
// when not nil, is called with the size of each chunk handled.
func (r *Run) Replay(ctx context.Context, t Target, progress func(n int)) error {
	limited := false
	err := r.visit(ctx, r.c.Chunk, func(chunk []Item) error {
		r.tally.Selected += len(chunk)
		if limit := r.c.Selection.Limit; limit > 0 && r.tally.Selected >= limit {
			limited = true
		}
		parts := make([]*watermark.Partition, len(chunk))
		var todo []Item
		var index []int
		for i, it := range chunk {
			parts[i] = r.done.Partition(r.c.DLQTopic, it.DLQPartition)
			parts[i].Track(&kgo.Record{Offset: it.DLQOffset})
			if reason := r.skipReason(it); reason != "" {
				r.tally.Skipped[reason]++
				parts[i].Done(it.DLQOffset)
				continue
			}
			todo = append(todo, it)
			index = append(index, i)
		}
		var sendErr error
		if len(todo) > 0 {
			var out Outcome
			out, sendErr = t.Send(ctx, todo)
			r.tally.Sent += out.Sent
			r.tally.FailedAgain += out.FailedAgain
			for k, v := range out.Skipped {
				r.tally.Skipped[k] += v
			}
			for _, it := range out.TooLarge {
				r.tally.TooLarge = append(r.tally.TooLarge, DLQPosition{Partition: it.DLQPartition, Offset: it.DLQOffset})
			}
			for j, ok := range out.Handled {
				if ok {
					parts[index[j]].Done(todo[j].DLQOffset)
				}
			}
		}
		next := map[int32]int64{}
		for _, ps := range r.done.ToCommit(nil) {
			for p, eo := range ps {
				next[p] = eo.Offset
			}
		}
		if err := r.commit(ctx, next); err != nil {
			return errors.Join(sendErr, err)
		}
		if progress != nil {
			progress(len(chunk))
		}
		return sendErr
	})
	if err != nil || limited {
		return err
	}
	return r.commit(ctx, r.end)
}

// commit moves the group's position forward to next (partitions not moving
// are left out).
func (r *Run) commit(ctx context.Context, next map[int32]int64) error {
	offs := make(kadm.Offsets)
	for p, o := range next {
		if o > r.pos[p] && o > 0 {
			offs.Add(kadm.Offset{Topic: r.c.DLQTopic, Partition: p, At: o, LeaderEpoch: -1})
		}
	}
	if len(offs) == 0 {
		return nil
	}
	// Not the run's context: a position is saved even when Ctrl-C ended the run.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	resp, err := r.adm.CommitOffsets(cctx, r.c.Group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("committing the replay position of group %s: %w", r.c.Group, err)
	}
	committed := map[string]map[int32]kgo.EpochOffset{r.c.DLQTopic: {}}
	offs.Each(func(o kadm.Offset) {
		r.pos[o.Partition] = o.At
		committed[r.c.DLQTopic][o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.At}
	})
	r.done.Committed(committed)
	return nil
}

// Tally returns what the run did so far.
func (r *Run) Tally() Tally { return r.tally }

// Positions returns the group's position in every partition, by partition.
func (r *Run) Positions() []Position {
	out := make([]Position, 0, len(r.pos))
	for p, o := range r.pos {
		out = append(out, Position{Partition: p, Offset: o, End: r.end[p]})
	}
	slices.SortFunc(out, func(a, b Position) int { return int(a.Partition - b.Partition) })
	return out
}

// Limits reads the topics' limits to size a run's producers. A client that
// may not describe the topics' configs (*kadm.AuthError) gets empty Limits
// (producers sized from the setting or Kafka's default), logged.
func Limits(ctx context.Context, adm *kadm.Client, sources []string, dlqTopic string, log *zap.Logger) (topics.Limits, error) {
	lim, err := topics.Describe(ctx, adm, sources, dlqTopic)
	var auth *kadm.AuthError
	if errors.As(err, &auth) {
		log.Warn("may not read the topics' max.message.bytes (ACL DESCRIBE_CONFIGS): producers use kafka.max_message_bytes or Kafka's default", zap.Error(err))
		return topics.Limits{}, nil
	}
	return lim, err
}

// ToSource produces dead letters' original keys and values back to their
// source topics ("--to-source"), marked with the run's replay marks so that
// the pipeline copies them onto a record that fails again.
type ToSource struct {
	cl      *kgo.Client
	sources []string
	group   string
	topic   string
}

// NewToSource connects a producer with opts (seed brokers, client id) sized
// for the source topics (topics.Limits.SourceProducerLimit(setting)).
// sources are the pipeline's source topics: records of other topics are
// skipped. Close it when done.
func NewToSource(lim topics.Limits, setting int32, sources []string, dlqTopic, group string, opts ...kgo.Opt) (*ToSource, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...), topics.ProducerOpts(lim.SourceProducerLimit(setting))...)...)
	if err != nil {
		return nil, err
	}
	return &ToSource{cl: cl, sources: sources, group: group, topic: dlqTopic}, nil
}

// Close closes the producer.
func (t *ToSource) Close() { t.cl.Close() }

// skipToSource is why d cannot go back to one of sources, "" if it can.
func skipToSource(sources []string, d dlq.Record) string {
	switch {
	case d.SourceTopic == "":
		return SkipNoSourceTopic
	case !slices.Contains(sources, d.SourceTopic):
		return SkipNotASourceTopic
	}
	return ""
}

// PreviewToSource is what ToSource would do with d, sources being the
// pipeline's source topics.
func PreviewToSource(sources []string, d dlq.Record) string {
	if reason := skipToSource(sources, d); reason != "" {
		return "skip: " + reason
	}
	return "→ " + d.SourceTopic
}

// Send produces items to their source topics; the first produce error is
// returned, the others' items stay unhandled. A record refused as too large
// (kerr.MessageTooLarge) is produced again alone, since the broker refuses a
// whole batch for one record; refused alone too, it is skipped
// (SkipTooLargeForSource), so that one record cannot stop every later run.
func (t *ToSource) Send(ctx context.Context, chunk []Item) (Outcome, error) {
	out := Outcome{Handled: make([]bool, len(chunk)), Skipped: map[string]int{}}
	var krs []*kgo.Record
	index := map[*kgo.Record]int{}
	for i, it := range chunk {
		d := it.Record
		if reason := skipToSource(t.sources, d); reason != "" {
			out.Skipped[reason]++
			out.Handled[i] = true
			continue
		}
		// The source record's own headers go back with it; the marks travel
		// with the record too: the pipeline copies them onto its dead letter
		// if it fails again, and this group then skips it.
		mark := dlq.ReplayMark{Group: t.group, Count: it.Mark.Count + 1}
		kr := &kgo.Record{Topic: d.SourceTopic, Key: d.Key, Value: d.Value, Headers: append(dlq.SourceHeaders(d.Extra), mark.Headers()...)}
		index[kr] = i
		krs = append(krs, kr)
	}
	if len(krs) == 0 {
		return out, nil
	}
	var firstErr error
	settle := func(i int, topic string, err error) {
		switch {
		case errors.Is(err, kerr.MessageTooLarge):
			out.Skipped[SkipTooLargeForSource]++
			out.TooLarge = append(out.TooLarge, chunk[i])
			out.Handled[i] = true
		case err != nil:
			if firstErr == nil {
				firstErr = fmt.Errorf("producing %s/%d@%d back to %s: %w", t.topic, chunk[i].DLQPartition, chunk[i].DLQOffset, topic, err)
			}
		default:
			out.Handled[i] = true
			out.Sent++
		}
	}
	var tooLarge []*kgo.Record
	for _, res := range t.cl.ProduceSync(ctx, krs...) {
		if errors.Is(res.Err, kerr.MessageTooLarge) && len(krs) > 1 {
			tooLarge = append(tooLarge, res.Record)
			continue
		}
		settle(index[res.Record], res.Record.Topic, res.Err)
	}
	for _, kr := range tooLarge {
		alone := &kgo.Record{Topic: kr.Topic, Key: kr.Key, Value: kr.Value, Headers: kr.Headers}
		settle(index[kr], kr.Topic, t.cl.ProduceSync(ctx, alone)[0].Err)
	}
	return out, firstErr
}

// Direct upserts items into Zoho through a Replayer ("--direct").
type Direct struct{ R *Replayer }

// Send replays items with their replay counts.
func (d Direct) Send(ctx context.Context, chunk []Item) (Outcome, error) {
	recs := make([]Record, len(chunk))
	for i, it := range chunk {
		recs[i] = Record{Record: it.Record, Count: it.Mark.Count}
	}
	res, err := d.R.Replay(ctx, recs)
	return Outcome{Handled: res.Handled, Sent: res.Sent, FailedAgain: res.DeadLettered, Skipped: res.Skipped}, err
}

// PreviewDirect is what Direct would do with d, m being the Replayer's
// mapper (the same MapperConfig, Fields metadata included): the JSON of the
// Zoho record, values converted as they would be sent, followed by
// " (left out: Field reason, …)" for the values mapping.invalid_values omit
// left out; or why it would be skipped or dead-lettered again.
func PreviewDirect(m *mapping.Mapper, module string, d dlq.Record) string {
	mp, other := mapDirect(m, module, d)
	switch {
	case other:
		return "skip: " + SkipOtherModule + " (" + d.Module + ")"
	case mp.Outcome == mapping.OutcomeDrop:
		return "skip: " + string(mp.Drop)
	case mp.Outcome == mapping.OutcomeReject:
		return "dead-letter again: " + mp.Reject.Code + " " + mp.Reject.Field
	}
	out := string(mp.Record.JSON())
	if len(mp.Omitted) > 0 {
		left := make([]string, len(mp.Omitted))
		for i, o := range mp.Omitted {
			left[i] = o.Field + " " + string(o.Reason)
		}
		out += " (left out: " + strings.Join(left, ", ") + ")"
	}
	return out
}
