package demo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink"
	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/kafkaconn"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/wiring"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// Run runs the demo and writes its summary to out: an in-process Kafka
// broker (kfake) with topic "events" of 3 partitions, the Zoho CRM simulator
// (5 ms latency), the sample events of testdata/demo-events.ndjson produced
// into it, the pipeline on config.Defaults (with a 1 s linger and 100 ms
// commit interval) until every event is committed, then the seed's first two
// events again (a repeat form submission, which the credit saver does not
// send: Zoho holds it already), and at the end what reached Zoho,
// what was dead-lettered and why, and the pipeline's counts. log receives the
// pipeline's lines (zap.NewNop for none). It returns the first error of
// starting the parts, running the pipeline or reading the dead letters; a
// pipeline that does not commit every event within 60 s is an error.
func Run(ctx context.Context, out io.Writer, log *zap.Logger) error {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "events"))
	if err != nil {
		return fmt.Errorf("start the in-process Kafka broker: %w", err)
	}
	defer cluster.Close()
	sim := zohosim.New(zohosim.Options{Latency: 5 * time.Millisecond})
	defer sim.Close()

	cfg := config.Defaults()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Zoho.APIDomain, cfg.Zoho.AccountsURL = sim.URL(), sim.URL()
	cfg.Zoho.ClientID = sim.ClientID()
	cfg.Zoho.ClientSecret = config.Secret(sim.ClientSecret())
	cfg.Zoho.RefreshToken = config.Secret(sim.RefreshToken())
	cfg.Zoho.TokenCacheFile = "" // the simulator's tokens must not replace a real cached one
	// Long enough that every event produced before the start is in the
	// first batch even on a loaded machine: the summary's call and credit
	// counts (1 and 1, README) do not depend on timing.
	cfg.Batch.Linger = time.Second
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn, err := kafkaconn.Options(cfg.Kafka)
	if err != nil {
		return err
	}

	produced, err := produceDemoEvents(ctx, conn, "events", zohosink.DemoEvents)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "zohosink demo: %d sample events produced into topic %q of an in-process Kafka broker;\n", produced, "events")
	fmt.Fprintf(out, "the pipeline delivers them to the Zoho CRM simulator at %s.\n\n", sim.URL())

	p, err := wiring.NewPipeline(cfg, log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(runCtx) }()
	waitErr := WaitCommitted(runCtx, conn, cfg.Kafka.Group, "events", 60*time.Second)
	if waitErr == nil {
		// A repeat submission of the seed's Lead Generated example is
		// identical to what Zoho holds: the credit saver does not send it.
		seed := bytes.Join(bytes.SplitN(zohosink.DemoEvents, []byte("\n"), 3)[:2], []byte("\n"))
		if _, waitErr = produceDemoEvents(ctx, conn, "events", seed); waitErr == nil {
			fmt.Fprintf(out, "Then Jane Doe's two events are produced again, as a repeat form submission would be:\nZoho holds them already, so the credit saver does not send them.\n\n")
			waitErr = WaitCommitted(runCtx, conn, cfg.Kafka.Group, "events", 60*time.Second)
		}
	}
	stop()
	if err := <-runErr; err != nil {
		return err
	}
	if waitErr != nil {
		return fmt.Errorf("waiting for every event to be committed: %w", waitErr)
	}

	var dead []dlq.Record
	if err := readDeadLetters(ctx, cfg.Kafka.Brokers, cfg.Kafka.DLQTopic, func(r dlq.Record) { dead = append(dead, r) }); err != nil {
		return err
	}
	sort.Slice(dead, func(i, j int) bool {
		a, b := dead[i], dead[j]
		return a.SourcePartition < b.SourcePartition || (a.SourcePartition == b.SourcePartition && a.SourceOffset < b.SourceOffset)
	})
	printDemoSummary(out, sim, p.Stats(), dead)
	return nil
}

// produceDemoEvents produces one record per line; an empty line is a tombstone
// (empty value). Records are keyed by user (userId, else anonymousId), as a
// tracking pipeline keys them. conn are the connection options (kafkaconn.Options).
func produceDemoEvents(ctx context.Context, conn []kgo.Opt, topic string, events []byte) (int, error) {
	cl, err := kgo.NewClient(append(slices.Clone(conn), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	var recs []*kgo.Record
	sc := bufio.NewScanner(bytes.NewReader(events))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes()) // an empty line stays nil: a tombstone
		key := gjson.GetBytes(line, "userId").String()
		if key == "" {
			key = gjson.GetBytes(line, "anonymousId").String()
		}
		r := &kgo.Record{Value: line}
		if key != "" {
			r.Key = []byte(key)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return len(recs), cl.ProduceSync(ctx, recs...).FirstErr()
}

// WaitCommitted waits until the group's committed offsets reach the end of
// every partition of the topic of the cluster conn connects to (kafkaconn.Options).
func WaitCommitted(ctx context.Context, conn []kgo.Opt, group, topic string, timeout time.Duration) error {
	cl, err := kgo.NewClient(conn...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			committed, cerr := adm.FetchOffsets(ctx, group)
			if cerr == nil && allCommitted(ends, committed) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// allCommitted reports whether committed reaches every non-empty partition's end.
func allCommitted(ends kadm.ListedOffsets, committed kadm.OffsetResponses) bool {
	ok := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset == 0 {
			return
		}
		c, found := committed.Lookup(o.Topic, o.Partition)
		if !found || c.At < o.Offset {
			ok = false
		}
	})
	return ok
}

// readDeadLetters reads the whole dead-letter topic.
func readDeadLetters(ctx context.Context, brokers []string, topic string, fn func(dlq.Record)) error {
	return dlq.Read(ctx, brokers, topic, dlq.FromStart(), dlq.Filter{}, func(r dlq.Record) error {
		fn(r)
		return nil
	})
}

// printDemoSummary writes the leads in the simulator, the dead letters and the counts.
func printDemoSummary(out io.Writer, sim *zohosim.Server, s pipeline.Stats, dead []dlq.Record) {
	leads := sim.Records("Leads")
	fmt.Fprintf(out, "Leads in Zoho CRM (simulator): %d\n", len(leads))
	t := tables.New(out)
	t.Header("Email", "First_Name", "Last_Name", "Company", "Phone", "Lead_Source", "Description")
	for _, l := range leads {
		_ = t.Append(field(l, "Email"), field(l, "First_Name"), field(l, "Last_Name"), field(l, "Company"), field(l, "Phone"), field(l, "Lead_Source"), tables.Shorten(field(l, "Description"), 30))
	}
	_ = t.Render()

	fmt.Fprintf(out, "\nDead-letter topic: %d records\n", len(dead))
	t = tables.New(out)
	t.Header("Source", "Code", "Field", "Message")
	for _, d := range dead {
		_ = t.Append(fmt.Sprintf("%s/%d@%d", d.SourceTopic, d.SourcePartition, d.SourceOffset), d.Code, d.Field, tables.Shorten(d.Message, 60))
	}
	_ = t.Render()

	fmt.Fprintln(out, "\nCounts")
	t = tables.New(out)
	t.Header("What", "Count")
	_ = t.Append("events consumed", fmt.Sprint(s.Consumed))
	for _, r := range sortedKeys(s.Dropped) {
		_ = t.Append("dropped: "+r, fmt.Sprint(s.Dropped[r]))
	}
	_ = t.Append("events delivered to Zoho", fmt.Sprint(s.Delivered))
	_ = t.Append("  as Zoho records inserted (same-email events merged)", fmt.Sprint(s.Inserted))
	_ = t.Append("  as Zoho records updated", fmt.Sprint(s.Updated))
	_ = t.Append("not sent: Zoho holds them already (credit saver)", fmt.Sprint(s.Skipped))
	for _, c := range sortedKeys(s.DeadLettered) {
		_ = t.Append("dead-lettered: "+c, fmt.Sprint(s.DeadLettered[c]))
	}
	_ = t.Append("Zoho upsert calls", fmt.Sprint(s.ZohoCalls))
	_ = t.Append("records per call", fmt.Sprintf("%.1f", s.RecordsPerCall()))
	_ = t.Append("API credits used", fmt.Sprint(s.CreditsUsed))
	_ = t.Render()
}

// field is rec[name] as text, "" when missing or null.
func field(rec map[string]any, name string) string {
	if v, ok := rec[name]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// sortedKeys are m's keys, sorted.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
