package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/dlq/replay"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// dlqEnv is an opsEnv whose dead-letter topic holds the rejections of a
// misspelled field mapping (traits.plan → "Plan_Typo", a field Zoho does not
// have: INVALID_DATA) and of one event without an email (MISSING_EMAIL).
type dlqEnv struct {
	*opsEnv
	fixedCfg string // the same configuration with the mapping fixed (→ "Plan")
}

// planEvent is an identify call carrying traits.plan.
func planEvent(user, email, last, plan string) *kgo.Record {
	traits := map[string]any{"email": email, "company": "Acme Ltd", "plan": plan}
	if last != "" {
		traits["lastName"] = last
	}
	v, _ := json.Marshal(map[string]any{"type": "identify", "userId": user, "messageId": "m-" + user, "traits": traits,
		"context": map[string]any{"consent": map[string]any{"categories": map[string]any{"marketing": true}}}})
	return &kgo.Record{Key: []byte(user), Value: v}
}

func newDLQEnv(t *testing.T, events ...*kgo.Record) *dlqEnv {
	t.Helper()
	e := &dlqEnv{opsEnv: newOpsEnv(t, 1)}
	typo := e.settings()
	typo["mapping"] = map[string]any{"fields": []map[string]string{{"from": "traits.plan", "to": "Plan_Typo"}}}
	e.cfgPath = e.writeConfig(typo)
	fixed := e.settings()
	fixed["mapping"] = map[string]any{"fields": []map[string]string{{"from": "traits.plan", "to": "Plan"}}}
	e.fixedCfg = e.writeConfig(fixed)

	kafkatest.Produce(t, e.brokers, e.topic, events...)
	stop := e.startPipeline()
	e.waitCommitted()
	stop()
	return e
}

// deadLetters reads the whole dead-letter topic.
func (e *dlqEnv) deadLetters() []dlq.Record {
	e.t.Helper()
	var out []dlq.Record
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if err := dlq.Read(ctx, e.brokers, e.dlqTopic, dlq.FromStart(), dlq.Filter{}, func(r dlq.Record) error {
		out = append(out, r)
		return nil
	}, kafkatest.ConnOptions(e.t, e.brokers)...); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// replayPosition is the committed offset of a replay group in the dead-letter
// topic's partition 0, -1 when it has none.
func (e *dlqEnv) replayPosition(group string) int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.admin().FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return -1
	}
	if err != nil {
		e.t.Fatal(err)
	}
	if o, ok := resp.Lookup(e.dlqTopic, 0); ok && o.Err == nil {
		return o.At
	}
	return -1
}

func mustRun(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := runConsumer(path, args...)
	if err != nil {
		t.Fatalf("consumer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// tallyLine matches one line of the replay tally.
func tallyLine(what string, n int) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^  ` + what + ` +` + fmt.Sprint(n) + `$`)
}

func standardEvents() []*kgo.Record {
	noEmail := &kgo.Record{Key: []byte("u9"), Value: []byte(`{"type":"track","event":"Signed Up","userId":"u9","context":{"consent":{"categories":{"marketing":true}}}}`)}
	return []*kgo.Record{
		planEvent("u1", "ann@example.com", "Archer", "pro"),
		planEvent("u2", "bob@example.com", "Baker", "team"),
		noEmail,
		planEvent("u3", "cy@example.com", "Cole", "free"),
	}
}

// TestDLQStatsAndInspect: stats counts by code and field; inspect filters by
// code and field, prints the contract fields within the width, and its JSON
// lines carry each record complete.
func TestDLQStatsAndInspect(t *testing.T) {
	e := newDLQEnv(t, standardEvents()...)
	dead := e.deadLetters()
	if len(dead) != 4 {
		t.Fatalf("%d dead-letter records, want 4: %+v", len(dead), dead)
	}

	stats := mustRun(t, e.cfgPath, "dlq", "stats")
	for _, re := range []string{
		`Dead-letter topic ` + regexp.QuoteMeta(e.dlqTopic) + `: 4 records of 4 distinct source records, first failed \S+, last \S+`,
		`│ INVALID_DATA +│ 3 +│`,
		`│ MISSING_EMAIL +│ 1 +│`,
		`│ Plan_Typo +│ 3 +│`,
		`│ INVALID_DATA +│ Plan_Typo +│ 3 +│`,
		`│ MISSING_EMAIL +│ Email +│ 1 +│`,
	} {
		if !regexp.MustCompile(re).MatchString(stats) {
			t.Errorf("stats lacks %s:\n%s", re, stats)
		}
	}
	if s := mustRun(t, e.cfgPath, "dlq", "stats", "--code", "missing_email"); !strings.Contains(s, ": 1 records") || strings.Contains(s, "INVALID_DATA") {
		t.Errorf("stats --code missing_email:\n%s", s)
	}

	// Not a terminal, no $COLUMNS: shortened to 120 columns.
	t.Setenv("COLUMNS", "")
	table := mustRun(t, e.cfgPath, "dlq", "inspect", "--code", "invalid_data", "--field", "plan_typo")
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		if w := runewidth.StringWidth(line); w > tables.DefaultWidth {
			t.Errorf("line of %d columns (> %d): %s", w, tables.DefaultWidth, line)
		}
	}
	if !strings.Contains(table, "…") {
		t.Errorf("nothing shortened in a 120-column table:\n%s", table)
	}
	t.Setenv("COLUMNS", "1000")
	table = mustRun(t, e.cfgPath, "dlq", "inspect", "--code", "invalid_data", "--field", "plan_typo")
	for _, want := range []string{"Failed at", "Code", "Field", "Message", "Source", "Key", "Zoho record",
		"the field api name given seems to be invalid", e.topic + "/0@0", e.topic + "/0@3", "u1", "u2", "u3",
		`{"Email":"ann@example.com","Last_Name":"Archer","Company":"Acme Ltd","Plan_Typo":"pro"}`, "3 records"} {
		if !strings.Contains(table, want) {
			t.Errorf("inspect table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "MISSING_EMAIL") || strings.Contains(table, "u9") {
		t.Errorf("inspect --code INVALID_DATA shows the MISSING_EMAIL record:\n%s", table)
	}
	if s := mustRun(t, e.cfgPath, "dlq", "inspect", "--limit", "1"); !strings.Contains(s, "1 records") {
		t.Errorf("inspect --limit 1:\n%s", s)
	}
	if s := mustRun(t, e.cfgPath, "dlq", "inspect", "--limit", "2", "-o", "json"); strings.Count(s, "\n") != 2 {
		t.Errorf("inspect --limit 2 -o json:\n%s", s)
	}
	if s := mustRun(t, e.cfgPath, "dlq", "inspect", "--from", "3"); !strings.Contains(s, "│ 3 ") || !strings.Contains(s, "1 records") {
		t.Errorf("inspect --from 3:\n%s", s)
	}
	if s := mustRun(t, e.cfgPath, "dlq", "inspect", "--since", "1h", "--field", "Nope"); !strings.Contains(s, "No dead-letter records") {
		t.Errorf("inspect --field Nope:\n%s", s)
	}

	// -o json: one complete object per line, equal to what dlq.Read returns.
	js := mustRun(t, e.cfgPath, "dlq", "inspect", "-o", "json")
	var got []dlq.RecordJSON
	sc := bufio.NewScanner(strings.NewReader(js))
	for sc.Scan() {
		var j dlq.RecordJSON
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, j)
	}
	if len(got) != len(dead) {
		t.Fatalf("%d JSON lines, want %d:\n%s", len(got), len(dead), js)
	}
	for i, d := range dead {
		j, want := got[i], dlq.NewRecordJSON(d)
		if j.Key == nil || *j.Key != string(d.Key) || j.Value == nil || *j.Value != string(d.Value) ||
			j.Code != d.Code || j.Field != d.Field || j.Message != d.Message || j.Module != d.Module ||
			j.SourceTopic != d.SourceTopic || j.SourcePartition != d.SourcePartition || j.SourceOffset != d.SourceOffset ||
			j.DLQOffset != d.DLQOffset || j.FailedAt != want.FailedAt || j.SourceTimestamp != want.SourceTimestamp || j.FailedAt == "" ||
			string(j.Details) != string(want.Details) || string(j.ZohoRecord) != string(want.ZohoRecord) {
			t.Errorf("JSON line %d = %+v\nrecord = %+v", i, j, d)
		}
	}
	for _, j := range got {
		if *j.Key == "u1" && (j.Code != "INVALID_DATA" || j.Field != "Plan_Typo" || !strings.Contains(string(j.ZohoRecord), `"Plan_Typo":"pro"`) ||
			!strings.Contains(string(j.Details), `"api_name":"Plan_Typo"`)) {
			t.Errorf("u1's record = %+v", j)
		}
		if *j.Key == "u9" && (j.Code != "MISSING_EMAIL" || string(j.ZohoRecord) != "null") {
			t.Errorf("u9's record = %+v", j)
		}
	}
}

// TestDLQInspectNeedsOnlyKafkaConfig: without Zoho credentials inspect still runs.
func TestDLQInspectNeedsOnlyKafkaConfig(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	delete(s, "zoho")
	out := mustRun(t, e.writeConfig(s), "dlq", "inspect")
	if !strings.Contains(out, "No dead-letter records") {
		t.Errorf("inspect:\n%s", out)
	}
}

// TestDLQReplayToSourceAfterFixingMapping is the operator's story: records
// dead-lettered because of a misspelled mapped field are replayed to their
// source topic once the mapping is fixed, the pipeline lands them in Zoho, and
// a second replay sends nothing. The dry run before sends and commits nothing.
func TestDLQReplayToSourceAfterFixingMapping(t *testing.T) {
	t.Setenv("COLUMNS", "1000")
	e := newDLQEnv(t, standardEvents()...)
	if n := len(e.sim.Records("Leads")); n != 0 {
		t.Fatalf("%d leads before the fix", n)
	}
	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Plan", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	e.cfgPath = e.fixedCfg
	group := e.group + ".dlq-replay.code=invalid_data"
	ends := e.endOffsets()

	dry := mustRun(t, e.cfgPath, "dlq", "replay", "--code", "INVALID_DATA", "--to-source", "--dry-run")
	if !strings.Contains(dry, "Dry run: 3 of 3 selected dead-letter records would be replayed to their source topics") ||
		strings.Count(dry, "→ "+e.topic) != 3 || !strings.Contains(dry, "none yet") {
		t.Errorf("dry run:\n%s", dry)
	}
	if got := e.endOffsets(); !mapsEqual(got, ends) {
		t.Errorf("dry run produced records: ends %v → %v", ends, got)
	}
	if p := e.replayPosition(group); p != -1 {
		t.Errorf("dry run committed position %d", p)
	}

	out := mustRun(t, e.cfgPath, "dlq", "replay", "--code", "INVALID_DATA", "--to-source")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 3), tallyLine("sent", 3), tallyLine("failed again", 0), tallyLine("skipped", 0)} {
		if !re.MatchString(out) {
			t.Errorf("replay tally lacks %s:\n%s", re, out)
		}
	}
	if got := e.endOffsets(); got[0] != ends[0]+3 {
		t.Errorf("source topic end %d → %d, want 3 records more", ends[0], got[0])
	}
	if p := e.replayPosition(group); p != 4 {
		t.Errorf("replay position = %d, want 4 (the dead-letter topic's end)", p)
	}

	stop := e.startPipeline()
	e.waitCommitted()
	stop()
	for email, plan := range map[string]string{"ann@example.com": "pro", "bob@example.com": "team", "cy@example.com": "free"} {
		lead, ok := e.sim.Lead(email)
		if !ok || lead["Plan"] != plan {
			t.Errorf("lead %s = %v (found %v), want Plan %q", email, lead, ok, plan)
		}
	}
	if n := len(e.deadLetters()); n != 4 {
		t.Errorf("%d dead-letter records after the replay, want still 4", n)
	}

	ends = e.endOffsets()
	again := mustRun(t, e.cfgPath, "dlq", "replay", "--code", "INVALID_DATA", "--to-source")
	if !tallyLine("selected", 0).MatchString(again) || !tallyLine("sent", 0).MatchString(again) {
		t.Errorf("second replay:\n%s", again)
	}
	if got := e.endOffsets(); !mapsEqual(got, ends) {
		t.Errorf("second replay produced records: ends %v → %v", ends, got)
	}
	// The MISSING_EMAIL record was left out of the selection: it is still
	// available to a replay of everything (its own default group).
	dryAll := mustRun(t, e.cfgPath, "dlq", "replay", "--to-source", "--dry-run")
	if !strings.Contains(dryAll, "Dry run: 4 of 4 selected dead-letter records") {
		t.Errorf("dry run of everything:\n%s", dryAll)
	}
}

// TestDLQReplayDirect: with the mapping fixed, --direct lands the records in
// Zoho without the pipeline; a record Zoho rejects again is dead-lettered
// again with its new reason and original source; --dry-run shows the Zoho
// record today's mapping makes and sends nothing; a second run sends nothing.
func TestDLQReplayDirect(t *testing.T) {
	t.Setenv("COLUMNS", "1000")
	e := newDLQEnv(t,
		planEvent("u1", "ann@example.com", "Archer", "pro"),
		planEvent("u2", "bob@example.com", "", "team"), // no Last_Name: Zoho refuses the insert
		planEvent("u3", "cy@example.com", "Cole", "free"),
	)
	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Plan", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	first := e.deadLetters()
	if len(first) != 3 {
		t.Fatalf("dead letters before the replay: %+v", first)
	}
	e.cfgPath = e.fixedCfg
	calls := e.sim.Stats().UpsertCalls

	dry := mustRun(t, e.cfgPath, "dlq", "replay", "--direct", "--dry-run")
	if !strings.Contains(dry, `"Plan":"pro"`) || !strings.Contains(dry, "Dry run: 3 of 3 selected dead-letter records would be replayed to Zoho (Leads)") {
		t.Errorf("direct dry run:\n%s", dry)
	}
	if c := e.sim.Stats().UpsertCalls; c != calls {
		t.Errorf("dry run made %d upsert calls", c-calls)
	}
	if p := e.replayPosition(e.group + ".dlq-replay"); p != -1 {
		t.Errorf("dry run committed position %d", p)
	}

	out := mustRun(t, e.cfgPath, "dlq", "replay", "--direct")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 3), tallyLine("sent", 2), tallyLine("failed again", 1), tallyLine("skipped", 0)} {
		if !re.MatchString(out) {
			t.Errorf("replay tally lacks %s:\n%s", re, out)
		}
	}
	for email, plan := range map[string]string{"ann@example.com": "pro", "cy@example.com": "free"} {
		if lead, ok := e.sim.Lead(email); !ok || lead["Plan"] != plan {
			t.Errorf("lead %s = %v (found %v), want Plan %q", email, lead, ok, plan)
		}
	}
	if _, ok := e.sim.Lead("bob@example.com"); ok {
		t.Error("the lead without Last_Name was inserted")
	}
	dead := e.deadLetters()
	if len(dead) != 4 {
		t.Fatalf("%d dead-letter records after the replay, want 4", len(dead))
	}
	again, orig := dead[3], first[1]
	if string(again.Key) != "u2" || again.Code != "MANDATORY_NOT_FOUND" || again.Field != "Last_Name" ||
		again.SourceTopic != orig.SourceTopic || again.SourceOffset != orig.SourceOffset || string(again.Value) != string(orig.Value) ||
		!strings.Contains(string(again.ZohoRecord), `"Plan":"team"`) {
		t.Errorf("dead-lettered again = %+v\noriginal = %+v", again, orig)
	}
	if p := e.replayPosition(e.group + ".dlq-replay"); p != 3 {
		t.Errorf("replay position = %d, want 3", p)
	}

	// The second run sends none of the records already replayed; it offers
	// only the new dead letter (MANDATORY_NOT_FOUND), left out by --code here.
	calls = e.sim.Stats().UpsertCalls
	second := mustRun(t, e.cfgPath, "dlq", "replay", "--direct", "--code", "INVALID_DATA", "--group", e.group+".dlq-replay")
	if !tallyLine("selected", 0).MatchString(second) || !tallyLine("sent", 0).MatchString(second) {
		t.Errorf("second replay:\n%s", second)
	}
	if c := e.sim.Stats().UpsertCalls; c != calls {
		t.Errorf("second replay made %d upsert calls", c-calls)
	}
}

// TestDLQReplayDirectConvertsByFieldType: --direct maps the dead letters
// again with the module's Fields metadata, like `run`: a trait "250" mapped
// to the integer field No_of_Employees is sent as the number 250 (sent as
// the string, the simulator refuses it with INVALID_DATA, as Zoho does).
func TestDLQReplayDirectConvertsByFieldType(t *testing.T) {
	e := newDLQEnv(t, planEvent("u1", "ann@example.com", "Archer", "250"))
	if n := len(e.deadLetters()); n != 1 {
		t.Fatalf("%d dead letters before the replay, want 1", n)
	}
	typed := e.settings()
	typed["mapping"] = map[string]any{"fields": []map[string]string{{"from": "traits.plan", "to": "No_of_Employees"}}}
	out := mustRun(t, e.writeConfig(typed), "dlq", "replay", "--direct")
	if !tallyLine("sent", 1).MatchString(out) {
		t.Errorf("replay tally:\n%s", out)
	}
	if lead, ok := e.sim.Lead("ann@example.com"); !ok || lead["No_of_Employees"] != float64(250) {
		t.Errorf("lead = %v (found %v), want No_of_Employees 250 (a number)", lead, ok)
	}
}

// TestDLQReplayDirectDryRunShowsTypedValues: the --direct dry run shows
// each record exactly as --direct then sends it, values converted by the
// module's Fields metadata (the trait "250" for the integer field
// No_of_Employees as the number 250; "lots", which it cannot take, left out
// and listed); when the metadata cannot be read it says that the values are
// shown untyped, and why.
func TestDLQReplayDirectDryRunShowsTypedValues(t *testing.T) {
	t.Setenv("COLUMNS", "1000")
	e := newDLQEnv(t, planEvent("u1", "ann@example.com", "Archer", "250"), planEvent("u2", "bob@example.com", "Baker", "lots"))
	typed := e.settings()
	typed["mapping"] = map[string]any{"fields": []map[string]string{{"from": "traits.plan", "to": "No_of_Employees"}}}
	path := e.writeConfig(typed)

	dry := mustRun(t, path, "dlq", "replay", "--direct", "--dry-run")
	wantLines(t, dry, "Values are converted by the Fields metadata of Leads, as --direct sends them.",
		`"No_of_Employees":250`, "(left out: No_of_Employees not_a_number)")
	previews := regexp.MustCompile(`\{"Email".*?\}`).FindAllString(dry, -1)
	if len(previews) != 2 {
		t.Fatalf("dry run previews %q, want 2 records:\n%s", previews, dry)
	}
	if st := e.sim.Stats(); st.UpsertCalls != 1 { // the pipeline's, before
		t.Fatalf("the dry run made upsert calls: %+v", st)
	}

	// What --direct sends is what the dry run showed: every previewed value
	// reaches Zoho as shown; the value left out does not.
	out := mustRun(t, path, "dlq", "replay", "--direct")
	if !tallyLine("sent", 2).MatchString(out) {
		t.Fatalf("replay tally:\n%s", out)
	}
	for _, p := range previews {
		var rec map[string]any
		if err := json.Unmarshal([]byte(p), &rec); err != nil {
			t.Fatalf("preview %s: %v", p, err)
		}
		lead, ok := e.sim.Lead(rec["Email"].(string))
		if !ok {
			t.Fatalf("no lead for preview %s", p)
		}
		for k, v := range rec {
			if lead[k] != v {
				t.Errorf("preview %s: Zoho holds %s = %#v, want %#v as previewed", p, k, lead[k], v)
			}
		}
		if _, typed := rec["No_of_Employees"]; !typed {
			if v, ok := lead["No_of_Employees"]; ok {
				t.Errorf("preview %s left No_of_Employees out, but Zoho holds %#v", p, v)
			}
		}
	}

	// No metadata: the dry run says the values are untyped, and why.
	for name, mod := range map[string]func(map[string]any){
		"zoho.* incomplete":   func(z map[string]any) { delete(z, "client_secret") },
		"credentials refused": func(z map[string]any) { z["client_secret"] = "not-the-secret" },
	} {
		s := e.settings()
		s["mapping"] = typed["mapping"]
		mod(s["zoho"])
		dry := mustRun(t, e.writeConfig(s), "dlq", "replay", "--direct", "--dry-run", "--group", "untyped")
		wantLines(t, dry, "Values are shown untyped: the Fields metadata of Leads could not be read", `"No_of_Employees":"250"`)
		want := map[string]string{"zoho.* incomplete": "zoho.client_secret: is required", "credentials refused": "invalid_client_secret"}[name]
		if !strings.Contains(dry, want) || strings.Contains(dry, "not-the-secret") {
			t.Errorf("%s: the dry run does not say why (%q) or shows the secret:\n%s", name, want, dry)
		}
	}
}

// replayMarks are the replay marks of every record of topic, in offset order
// (n records expected).
func (e *dlqEnv) replayMarks(topic string, n int) []dlq.ReplayMark {
	e.t.Helper()
	var out []dlq.ReplayMark
	for _, kr := range kafkatest.Consume(e.t, e.brokers, topic, n) {
		out = append(out, dlq.ReplayMarkOf(kr.Headers))
	}
	return out
}

// TestDLQReplayDirectTwiceSendsNothingNew: records that fail again under a
// replay (Zoho rejects one, the mapping rejects another) are dead-lettered
// again with the replay's marks, and a second run of the same group skips
// them instead of sending them again and growing the topic on every run;
// --include-replayed sends them again on purpose.
func TestDLQReplayDirectTwiceSendsNothingNew(t *testing.T) {
	t.Setenv("COLUMNS", "1000")
	noEmail := &kgo.Record{Key: []byte("u9"), Value: []byte(`{"type":"track","event":"Signed Up","userId":"u9","context":{"consent":{"categories":{"marketing":true}}}}`)}
	e := newDLQEnv(t,
		planEvent("u1", "ann@example.com", "Archer", "pro"),
		planEvent("u2", "bob@example.com", "", "team"), // no Last_Name: Zoho refuses the insert
		noEmail, // MISSING_EMAIL: rejected locally again
	)
	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Plan", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	e.cfgPath = e.fixedCfg
	group := e.group + ".dlq-replay"

	first := mustRun(t, e.cfgPath, "dlq", "replay", "--direct")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 3), tallyLine("sent", 1), tallyLine("failed again", 2), tallyLine("skipped", 0)} {
		if !re.MatchString(first) {
			t.Errorf("first replay lacks %s:\n%s", re, first)
		}
	}
	dead := e.deadLetters()
	if len(dead) != 5 {
		t.Fatalf("%d dead-letter records after the first replay, want 5", len(dead))
	}
	marks := e.replayMarks(e.dlqTopic, 5)
	for i, want := range []dlq.ReplayMark{{}, {}, {}, {Group: group, Count: 1}, {Group: group, Count: 1}} {
		if marks[i] != want {
			t.Errorf("dead letter %d (%s %s) has marks %+v, want %+v", i, dead[i].Key, dead[i].Code, marks[i], want)
		}
	}

	// Second run: the two new dead letters are this group's own: skipped.
	calls := e.sim.Stats().UpsertCalls
	dry := mustRun(t, e.cfgPath, "dlq", "replay", "--direct", "--dry-run")
	if strings.Count(dry, "skip: "+replay.SkipAlreadyReplayed) != 2 ||
		!strings.Contains(dry, "Dry run: 0 of 2 selected dead-letter records would be replayed to Zoho (Leads) (2 skipped: "+replay.SkipAlreadyReplayed+" 2).") {
		t.Errorf("dry run of the second replay:\n%s", dry)
	}
	second := mustRun(t, e.cfgPath, "dlq", "replay", "--direct")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 2), tallyLine("sent", 0), tallyLine("failed again", 0), tallyLine("skipped", 2),
		regexp.MustCompile(`(?m)^    ` + replay.SkipAlreadyReplayed + ` +2$`)} {
		if !re.MatchString(second) {
			t.Errorf("second replay lacks %s:\n%s", re, second)
		}
	}
	if n := len(e.deadLetters()); n != 5 {
		t.Errorf("%d dead-letter records after the second replay, want still 5", n)
	}
	if c := e.sim.Stats().UpsertCalls; c != calls {
		t.Errorf("second replay made %d upsert calls", c-calls)
	}
	if p := e.replayPosition(group); p != 5 {
		t.Errorf("position after the second replay = %d, want 5", p)
	}
	third := mustRun(t, e.cfgPath, "dlq", "replay", "--direct")
	if !tallyLine("selected", 0).MatchString(third) {
		t.Errorf("third replay:\n%s", third)
	}

	// On purpose, with another group: they are sent (and fail) again.
	again := mustRun(t, e.cfgPath, "dlq", "replay", "--direct", "--include-replayed", "--from", "3", "--group", group+".again")
	if !tallyLine("failed again", 2).MatchString(again) || !tallyLine("skipped", 0).MatchString(again) {
		t.Errorf("--include-replayed:\n%s", again)
	}
	marks = e.replayMarks(e.dlqTopic, 7)
	for _, m := range marks[5:] {
		if m != (dlq.ReplayMark{Group: group + ".again", Count: 2}) {
			t.Errorf("marks of a record replayed twice = %+v", m)
		}
	}
}

// TestDLQReplayToSourceMarksRecords: records produced back to the source
// topic carry the replay marks, and a dead letter marked by this group is
// skipped by --to-source as by --direct.
func TestDLQReplayToSourceMarksRecords(t *testing.T) {
	first := planEvent("u1", "ann@example.com", "Archer", "pro")
	first.Headers = []kgo.RecordHeader{{Key: "trace-id", Value: []byte{0xff, 0x01}}, {Key: "error.code", Value: []byte("upstream's")}}
	e := newDLQEnv(t, first)
	group := e.group + ".dlq-replay"
	own := dlq.Record{Key: []byte("u2"), Value: planEvent("u2", "bob@example.com", "", "team").Value, Code: "MANDATORY_NOT_FOUND",
		SourceTopic: e.topic, SourceOffset: 7, Module: "Leads"}.KafkaRecord(e.dlqTopic)
	own.Headers = append(own.Headers, dlq.ReplayMark{Group: group, Count: 1}.Headers()...)
	kafkatest.Produce(t, e.brokers, e.dlqTopic, own)

	out := mustRun(t, e.cfgPath, "dlq", "replay", "--to-source")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 2), tallyLine("sent", 1), tallyLine("skipped", 1),
		regexp.MustCompile(`(?m)^    ` + replay.SkipAlreadyReplayed + ` +1$`)} {
		if !re.MatchString(out) {
			t.Errorf("replay lacks %s:\n%s", re, out)
		}
	}
	marks := e.replayMarks(e.topic, 2)
	if marks[0] != (dlq.ReplayMark{}) || marks[1] != (dlq.ReplayMark{Group: group, Count: 1}) {
		t.Errorf("source topic marks = %+v, want none on the original and group %s count 1 on the replayed record", marks, group)
	}
	// The replayed record carries the original's own headers again, before the marks.
	recs := kafkatest.Consume(t, e.brokers, e.topic, 2)
	want := append(slices.Clone(first.Headers), dlq.ReplayMark{Group: group, Count: 1}.Headers()...)
	if got := recs[1].Headers; !slices.EqualFunc(got, want, func(a, b kgo.RecordHeader) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }) {
		t.Errorf("replayed record's headers %v, want %v", got, want)
	}
}

// TestDLQReplayDirectStopsWhenZohoThrottlesTokens: after other commands used
// up the token window, --direct stops at once with what to do instead of
// waiting minutes for Zoho, prints its tally and keeps its position.
func TestDLQReplayDirectStopsWhenZohoThrottlesTokens(t *testing.T) {
	e := newDLQEnv(t, planEvent("u1", "ann@example.com", "Archer", "pro"), planEvent("u2", "bob@example.com", "Baker", "team"))
	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Plan", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	// No token cache: this run must mint, as every command did before the cache.
	settings := e.settings()
	settings["mapping"] = map[string]any{"fields": []map[string]string{{"from": "traits.plan", "to": "Plan"}}}
	settings["zoho"]["token_cache_file"] = ""
	e.cfgPath = e.writeConfig(settings)
	e.sim.UseUpTokenMints(e.sim.RefreshToken())
	calls := e.sim.Stats().UpsertCalls

	out, err := runConsumer(e.cfgPath, "dlq", "replay", "--direct")
	var te *replay.ThrottledError
	if !errors.As(err, &te) || !te.Token || zohoapi.Classify(err) != zohoapi.ClassThrottled {
		t.Fatalf("replay: err = %v, want a token throttle\n%s", err, out)
	}
	msg := err.Error()
	for _, want := range []string{"Zoho throttled token refreshes (10 per 10 minutes per refresh token): try again after ~" + te.RetryAfter().Local().Format("15:04"),
		"keep zoho.token_cache_file on", "run the same command again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !strings.Contains(out, "Stopped replaying") || !tallyLine("sent", 0).MatchString(out) {
		t.Errorf("report:\n%s", out)
	}
	if c := e.sim.Stats().UpsertCalls; c != calls {
		t.Errorf("%d upsert calls without a token", c-calls)
	}
	if p := e.replayPosition(e.group + ".dlq-replay"); p != -1 {
		t.Errorf("position moved to %d although nothing was handled", p)
	}
	if n := len(e.deadLetters()); n != 2 {
		t.Errorf("%d dead-letter records, want still 2", n)
	}
}

// TestDLQReplayOneDeadLetterPerSource: an offset reset dead-letters the same
// source records again; stats counts the distinct source records beside the
// total, and replay sends each source record once (its latest dead letter)
// and skips the others as superseded.
func TestDLQReplayOneDeadLetterPerSource(t *testing.T) {
	t.Setenv("COLUMNS", "1000")
	e := newDLQEnv(t, standardEvents()...)
	mustRun(t, e.cfgPath, "offsets", "reset", "--to", "earliest", "--execute")
	stop := e.startPipeline()
	e.waitCommitted()
	stop()
	dead := e.deadLetters()
	if len(dead) != 8 {
		t.Fatalf("%d dead letters after the offset replay, want 8 (each source record twice)", len(dead))
	}
	stats := mustRun(t, e.cfgPath, "dlq", "stats")
	if re := regexp.MustCompile(`: 8 records of 4 distinct source records,`); !re.MatchString(stats) {
		t.Errorf("stats lacks %s:\n%s", re, stats)
	}

	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Plan", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	e.cfgPath = e.fixedCfg
	dry := mustRun(t, e.cfgPath, "dlq", "replay", "--direct", "--dry-run")
	if n := strings.Count(dry, "skip: "+replay.SkipSuperseded); n != 4 {
		t.Errorf("dry run shows %d superseded, want 4:\n%s", n, dry)
	}
	if want := "Dry run: 4 of 8 selected dead-letter records would be replayed to Zoho (Leads) (4 skipped: " + replay.SkipSuperseded + " 4)."; !strings.Contains(dry, want) {
		t.Errorf("dry run lacks %q (what the replay then sends or fails again):\n%s", want, dry)
	}
	received := e.sim.Stats().RecordsReceived
	out := mustRun(t, e.cfgPath, "dlq", "replay", "--direct")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 8), tallyLine("sent", 3), tallyLine("failed again", 1), tallyLine("skipped", 4),
		regexp.MustCompile(`(?m)^    ` + replay.SkipSuperseded + ` +4$`)} {
		if !re.MatchString(out) {
			t.Errorf("replay tally lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "Replayed") {
		t.Errorf("the tally claims everything was replayed although one record failed again:\n%s", out)
	}
	if n := e.sim.Stats().RecordsReceived - received; n != 3 {
		t.Errorf("Zoho received %d records, want 3 (one per source record with an email)", n)
	}
	// The record without an email failed again once, not once per copy.
	again := e.deadLetters()[8:]
	if len(again) != 1 || again[0].Code != mapping.CodeMissingEmail {
		t.Fatalf("dead letters written by the replay: %+v", again)
	}
}

// TestDLQReplayProducersSizedFromTopics: with source and dead-letter topics
// that accept 16 MiB and no kafka.max_message_bytes set, a dead letter of a
// 2 MiB record goes back to its source topic (--to-source), and, replayed
// --direct, is dead-lettered again (today's mapping rejects it): both
// producers are sized from the topics, not from Kafka's 1 MiB default.
func TestDLQReplayProducersSizedFromTopics(t *testing.T) {
	const big = 16 << 20
	e := newOpsEnv(t, 1)
	configs := map[string]*string{"max.message.bytes": kadm.StringPtr(strconv.Itoa(big))}
	e.topic = kafkatest.CreateTopicWithConfigs(t, e.brokers, 1, configs)
	e.dlqTopic = kafkatest.CreateTopicWithConfigs(t, e.brokers, 1, configs)
	e.group = e.topic + "-group"
	e.cfgPath = e.writeConfig(e.settings())

	value := []byte(strings.Repeat("x", 2<<20)) // not JSON: DECODE_ERROR again when replayed --direct
	d := dlq.Record{Key: []byte("k"), Value: value, Code: "DECODE_ERROR", Message: "not JSON",
		SourceTopic: e.topic, SourcePartition: 0, SourceOffset: 7, Module: "Leads", FailedAt: time.Now().UTC()}
	cl := kafkatest.Client(t, e.brokers, kgo.ProducerBatchMaxBytes(big))
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, d.KafkaRecord(e.dlqTopic)).FirstErr(); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, e.cfgPath, "dlq", "replay", "--to-source")
	if !tallyLine("sent", 1).MatchString(out) {
		t.Errorf("--to-source did not send the 2 MiB record:\n%s", out)
	}
	if ends := e.endOffsets(); ends[0] != 1 {
		t.Errorf("source topic end = %d, want 1 (the record produced back)", ends[0])
	}

	out = mustRun(t, e.cfgPath, "dlq", "replay", "--direct", "--group", e.group+".direct")
	if !tallyLine("failed again", 1).MatchString(out) {
		t.Errorf("--direct did not dead-letter the 2 MiB record again:\n%s", out)
	}
	dead := kafkatest.Consume(t, e.brokers, e.dlqTopic, 2)
	if again, err := dlq.Parse(dead[1]); err != nil || len(again.Value) != len(value) || again.Code != mapping.CodeDecodeError {
		t.Errorf("second dead letter = %v (%v), want the 2 MiB value with DECODE_ERROR", again.Code, err)
	}
}

// TestDLQReplayToSourceSkipsRecordsTooLarge: a dead letter larger than its
// source topic now accepts (max.message.bytes lowered since, or a record
// near the limit that the replay headers push over it) is skipped with its
// reason, not an error: the records after it in the same chunk go back to
// the source topic, the report says where it stays in the dead-letter topic,
// the position moves past it, and the next run does not stop at it again.
func TestDLQReplayToSourceSkipsRecordsTooLarge(t *testing.T) {
	e := newOpsEnv(t, 1)
	e.topic = kafkatest.CreateTopicWithConfigs(t, e.brokers, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("2000")})
	e.group = e.topic + "-group"
	e.cfgPath = e.writeConfig(e.settings())
	var recs []*kgo.Record
	for i, size := range []int{100, 2500, 100} {
		d := dlq.Record{Key: fmt.Appendf(nil, "k%d", i), Value: []byte(strings.Repeat("x", size)), Code: "DECODE_ERROR", Message: "not JSON",
			SourceTopic: e.topic, SourceOffset: int64(i), Module: "Leads", FailedAt: time.Now().UTC()}
		recs = append(recs, d.KafkaRecord(e.dlqTopic))
	}
	kafkatest.Produce(t, e.brokers, e.dlqTopic, recs...)

	out := mustRun(t, e.cfgPath, "dlq", "replay", "--to-source")
	for _, re := range []*regexp.Regexp{tallyLine("selected", 3), tallyLine("sent", 2), tallyLine("skipped", 1),
		regexp.MustCompile(`(?m)^    ` + replay.SkipTooLargeForSource + ` +1$`),
		regexp.MustCompile(`(?m)^Too large for their source topic, still in ` + e.dlqTopic + ` \(send them with --direct and a --group of their own, e\.g\. --from 1 --limit N\): 0@1$`)} {
		if !re.MatchString(out) {
			t.Errorf("replay lacks %s:\n%s", re, out)
		}
	}
	if ends := e.endOffsets(); ends[0] != 2 {
		t.Errorf("source topic end = %d, want 2 (the two records that fit)", ends[0])
	}
	group := e.group + ".dlq-replay"
	if out := mustRun(t, e.cfgPath, "dlq", "replay", "--to-source", "--group", group); !tallyLine("selected", 0).MatchString(out) {
		t.Errorf("second run did not start past the skipped record:\n%s", out)
	}
}
