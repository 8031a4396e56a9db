package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/kafkaconn"
	"github.com/zohosink/zohosink/pipeline"
)

func newDLQCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect, count (stats) and replay the dead-letter topic",
		Long: `The dead-letter topic (kafka.dlq_topic) holds every source record Zoho rejected
(MANDATORY_NOT_FOUND, INVALID_DATA, …) or the pipeline could not use
(DECODE_ERROR, MISSING_EMAIL): the original key and value byte for byte, and
headers saying why (error.code, error.field, error.message, error.details),
where it came from (source.topic, source.partition, source.offset) and what was
sent to Zoho (zoho.record).

Start with "dlq stats" to see what fails and on which field, look at examples
with "dlq inspect --code C --field F", fix the cause (a field mapping, a
picklist value, the form), then "dlq replay" the records.

inspect and stats only read: they join no consumer group and commit nothing.`,
		Example: `  consumer dlq stats -c zohosink.yaml
  consumer dlq inspect -c zohosink.yaml --code INVALID_DATA --field Plan__c --limit 5
  consumer dlq replay -c zohosink.yaml --code INVALID_DATA --to-source --dry-run`,
	}
	cmd.AddCommand(newDLQInspectCommand(), newDLQStatsCommand(), newDLQReplayCommand())
	return cmd
}

// dlqSelection is the selection flags shared by the dlq commands.
type dlqSelection struct {
	code, field string
	since       time.Duration
	from        int64
	limit       int
}

func (s *dlqSelection) bind(fs *pflag.FlagSet, withLimit bool) {
	fs.StringVar(&s.code, "code", "", "only records with this error.code, or an inner error of MULTIPLE_OR_MULTI_ERRORS with it (case-insensitive), e.g. INVALID_DATA; a code neither known nor in the topic is an error listing the codes")
	fs.StringVar(&s.field, "field", "", "only records with this field in error.field or an inner error (case-insensitive), e.g. Last_Name")
	fs.DurationVar(&s.since, "since", 0, "only records that failed within this duration (failed.at), e.g. 2h or 30m")
	fs.Int64Var(&s.from, "from", -1, "start at this offset of the dead-letter topic, in every partition (default: the beginning)")
	fs.Lookup("from").DefValue = "0" // -1 means unset: not worth showing in the help
	if withLimit {
		fs.IntVar(&s.limit, "limit", 0, "stop after this many records (0: no limit)")
	}
}

// check reports flag values that make no sense.
func (s *dlqSelection) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("since") && cmd.Flags().Changed("from") {
		return errors.New("--since and --from are alternatives: give one")
	}
	if s.since < 0 {
		return errors.New("--since must be a positive duration, e.g. 2h")
	}
	if cmd.Flags().Changed("from") && s.from < 0 {
		return errors.New("--from must be an offset ≥ 0")
	}
	if s.limit < 0 {
		return errors.New("--limit must be ≥ 0")
	}
	return nil
}

// selection is the flags' values as a dlq.Selection.
func (s *dlqSelection) selection() dlq.Selection {
	return dlq.Selection{Code: s.code, Field: s.field, Since: s.since, From: s.from}
}

// start is where reading starts (dlq.Selection.Start).
func (s *dlqSelection) start(now time.Time) dlq.StartPoint { return s.selection().Start(now) }

// filter is the record filter (dlq.Selection.Filter).
func (s *dlqSelection) filter(now time.Time) dlq.Filter { return s.selection().Filter(now) }

// checkCode is dlq.CheckCode of --code: one of the codes the pipeline writes
// (pipeline.DeadLetterCodes) or of those in kafka.dlq_topic.
func (s *dlqSelection) checkCode(ctx context.Context, cfg *config.Config, conn *kafkaconn.Conn) error {
	return dlq.CheckCode(ctx, cfg.Kafka.Brokers, cfg.Kafka.DLQTopic, s.code, pipeline.DeadLetterCodes(), conn.Options()...)
}

// loadKafkaConfig loads the configuration for commands that only talk to
// Kafka: problems outside kafka.* (a missing Zoho secret on an operator's
// laptop) do not stop them.
func loadKafkaConfig(cmd *cobra.Command) (*config.Config, error) {
	return loadConfigScoped(cmd, kafkaKey)
}

func newDLQInspectCommand() *cobra.Command {
	var sel dlqSelection
	var output string
	cmd := &cobra.Command{
		Use: "inspect",
		// The words operators reach for first (an operator trial tried both).
		SuggestFor: []string{"list", "show", "ls", "cat"},
		Short:      "Show dead-letter records: why each failed, where it came from, what was sent",
		Long: `Inspect reads the dead-letter topic (kafka.dlq_topic) from the beginning, or from
--from OFFSET or the records of the last --since DURATION, up to its end as it
was when the command started, and shows each record that matches --code and
--field: when it failed (failed.at), the error code, field and message, the
source topic/partition@offset, the key, and the Zoho record that was sent.

-o table (default) shortens columns to the terminal width (120 columns when
not a terminal). -o json prints each record complete, one JSON object per line
(for jq): failed_at, code, message, field, details (Zoho's details object),
source_topic, source_partition, source_offset, source_timestamp, module, key,
value (the original record value as a string; key_base64/value_base64 instead
when not UTF-8), zoho_record (the JSON record sent, null when none),
extra_headers (every further header, e.g. replay.group and replay.count of a
replayed record: [{"key","value"}], value_base64 when not UTF-8), and
dlq_partition/dlq_offset (its place in the dead-letter topic, for --from).

It joins no consumer group and commits nothing.`,
		Example: `  consumer dlq inspect -c zohosink.yaml
  consumer dlq inspect -c zohosink.yaml --code MANDATORY_NOT_FOUND --field Last_Name --since 24h
  consumer dlq inspect -c zohosink.yaml --from 1200 --limit 20
  consumer dlq inspect -c zohosink.yaml -o json | jq -r .value`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sel.check(cmd); err != nil {
				return err
			}
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q: use table or json", output)
			}
			cfg, err := loadKafkaConfig(cmd)
			if err != nil {
				return err
			}
			return withKafka(cfg, func(conn *kafkaconn.Conn) error {
				return inspectDLQ(cmd.Context(), cmd.OutOrStdout(), cfg, conn, sel, output, tables.Width(cmd.OutOrStdout()))
			})
		},
	}
	sel.bind(cmd.Flags(), true)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json (one complete object per line)")
	return cmd
}

func inspectDLQ(ctx context.Context, out io.Writer, cfg *config.Config, conn *kafkaconn.Conn, sel dlqSelection, output string, width int) error {
	if err := sel.checkCode(ctx, cfg, conn); err != nil {
		return err
	}
	now := time.Now()
	var recs []dlq.Record
	enc := json.NewEncoder(out)
	n := 0
	err := dlq.Read(ctx, cfg.Kafka.Brokers, cfg.Kafka.DLQTopic, sel.start(now), sel.filter(now), func(r dlq.Record) error {
		n++
		if output == "json" {
			if err := enc.Encode(dlq.NewRecordJSON(r)); err != nil {
				return err
			}
		} else {
			recs = append(recs, r)
		}
		if sel.limit > 0 && n >= sel.limit {
			return dlq.ErrStop
		}
		return nil
	}, conn.Options()...)
	if err != nil {
		return err
	}
	if output == "json" {
		return nil
	}
	if len(recs) == 0 {
		fmt.Fprintf(out, "No dead-letter records in %s match.\n", cfg.Kafka.DLQTopic)
		return nil
	}
	header := []string{"Offset", "Failed at", "Code", "Field", "Message", "Source", "Key", "Zoho record"}
	rows := make([][]string, len(recs))
	for i, r := range recs {
		rows[i] = []string{tables.Offset(r.DLQPartition, r.DLQOffset), tables.Time(r.FailedAt), r.Code, r.Field, r.Message,
			fmt.Sprintf("%s/%d@%d", r.SourceTopic, r.SourcePartition, r.SourceOffset), tables.Printable(r.Key), string(r.ZohoRecord)}
	}
	// Offset, time and code stay whole; the others shrink, the widest first.
	tables.Fitted(out, width, header, rows, []bool{false, false, false, true, true, true, true, true})
	fmt.Fprintf(out, "%d records (dead-letter topic %s)\n", len(recs), cfg.Kafka.DLQTopic)
	return nil
}

func newDLQStatsCommand() *cobra.Command {
	var sel dlqSelection
	cmd := &cobra.Command{
		Use: "stats",
		// The group's summary says "count"; so may an operator.
		SuggestFor: []string{"count"},
		Short:      "Count dead-letter records by error code and by field, with first and last time seen",
		Long: `Stats reads the dead-letter topic (kafka.dlq_topic) up to its end as it was when
the command started and counts the records that match the filters: in total,
by error code, by field (the field API name Zoho or the pipeline blamed, "-"
when unknown) and by code and field together, each with the first and last
failed.at seen. Beside the total it counts the distinct source records
(source.topic/partition/offset): every offset reset that replays a rejected
record, and every replay that fails again, adds another dead letter of it. Most frequent first. It is the first thing to look at when Zoho
rejects data: a single code and field usually points at one mapping or form.

It joins no consumer group and commits nothing.`,
		Example: `  consumer dlq stats -c zohosink.yaml
  consumer dlq stats -c zohosink.yaml --since 24h
  consumer dlq stats -c zohosink.yaml --code INVALID_DATA`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sel.check(cmd); err != nil {
				return err
			}
			cfg, err := loadKafkaConfig(cmd)
			if err != nil {
				return err
			}
			return withKafka(cfg, func(conn *kafkaconn.Conn) error {
				return statsDLQ(cmd.Context(), cmd.OutOrStdout(), cfg, conn, sel)
			})
		},
	}
	sel.bind(cmd.Flags(), false)
	return cmd
}

func statsDLQ(ctx context.Context, out io.Writer, cfg *config.Config, conn *kafkaconn.Conn, sel dlqSelection) error {
	if err := sel.checkCode(ctx, cfg, conn); err != nil {
		return err
	}
	now := time.Now()
	s, err := dlq.CollectStats(ctx, cfg.Kafka.Brokers, cfg.Kafka.DLQTopic, sel.start(now), sel.filter(now), conn.Options()...)
	if err != nil {
		return err
	}
	if s.All.Count == 0 {
		fmt.Fprintf(out, "No dead-letter records in %s match.\n", cfg.Kafka.DLQTopic)
		return nil
	}
	fmt.Fprintf(out, "Dead-letter topic %s: %d records of %d distinct source records, first failed %s, last %s\n",
		cfg.Kafka.DLQTopic, s.All.Count, s.SourceRecords(), tables.Time(s.All.First), tables.Time(s.All.Last))
	for _, g := range []struct {
		title  string
		header []string
		rows   []dlq.Tally
		cells  func(dlq.Tally) []string
	}{
		{"By code", []string{"Code", "Count", "First", "Last"}, s.ByCode(), func(t dlq.Tally) []string { return []string{t.Code} }},
		{"By field", []string{"Field", "Count", "First", "Last"}, s.ByField(), func(t dlq.Tally) []string { return []string{orDash(t.Field)} }},
		{"By code and field", []string{"Code", "Field", "Count", "First", "Last"}, s.ByCodeAndField(), func(t dlq.Tally) []string { return []string{t.Code, orDash(t.Field)} }},
	} {
		fmt.Fprintf(out, "\n%s\n", g.title)
		t := tables.New(out)
		t.Header(g.header)
		for _, r := range g.rows {
			_ = t.Append(append(g.cells(r), strconv.Itoa(r.Count), tables.Time(r.First), tables.Time(r.Last)))
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
