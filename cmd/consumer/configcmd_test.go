package main

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap/zaptest"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/wiring"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// wantExit1 fails the test unless err is the exit code 1 of a report.
func wantExit1(t *testing.T, err error, out string) {
	t.Helper()
	var ex exitCode
	if !errors.As(err, &ex) || ex != 1 {
		t.Fatalf("err = %v, want exit code 1\n%s", err, out)
	}
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("output lacks %q:\n%s", l, out)
		}
	}
}

// TestConfigValidateOfflineListsEveryProblem checks that all problems come at
// once, one per line with their keys, including a data-center mismatch.
func TestConfigValidateOfflineListsEveryProblem(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	s["zoho"]["data_center"] = "eu"
	s["zoho"]["api_domain"] = "www.zohoapis.com"
	delete(s["zoho"], "accounts_url")
	s["batch"]["max_records"] = 500
	s["kafka"]["dlq_topic"] = e.topic
	path := e.writeConfig(s)

	for _, args := range [][]string{{"config", "validate"}, {"config", "validate", "--online"}} {
		out, err := runConsumer(path, args...)
		wantExit1(t, err, out)
		wantLines(t, out,
			"The configuration has 3 problem(s):",
			"  ✗ zoho.api_domain: data-center mismatch (data center eu vs API domain)",
			"  ✗ batch.max_records: 500 is outside 1..100",
			"  ✗ kafka.dlq_topic: \""+e.topic+"\" is also a source topic",
		)
		if args[len(args)-1] == "--online" {
			wantLines(t, out, "Online checks skipped: fix the problems above first.")
		}
	}
}

// TestConfigValidateOnlineOK checks the checklist of a good configuration.
func TestConfigValidateOnlineOK(t *testing.T) {
	e := newOpsEnv(t, 3)
	out, err := e.run("config", "validate", "--online")
	if err != nil {
		t.Fatalf("validate --online: %v\n%s", err, out)
	}
	wantLines(t, out,
		"✓ The configuration is valid (offline checks).",
		"✓ access token refreshed",
		"; the token's api_domain matches "+e.sim.URL(),
		"✓ Email ← traits.email (email, length 100)",
		"✓ Last_Name ← traits.lastName (text, length 80)",
		"✓ Lead_Source ← properties.source (Lead Generated) (picklist",
		"✓ Last_Name is system-mandatory in Leads and mapped from traits.lastName",
		"✓ kafka.topics[0]: topic \""+e.topic+"\" exists (3 partitions) and is readable",
		"✓ kafka.dlq_topic: topic \""+e.dlqTopic+"\" exists (1 partition) and is writable",
		"✓ All checks passed (0 warning(s)).",
	)
	if !strings.HasSuffix(out, "✓ All checks passed (0 warning(s)).\n") {
		t.Errorf("the verdict is not the last line:\n%s", out)
	}
	if strings.Contains(out, "✗") {
		t.Errorf("a good configuration fails a check:\n%s", out)
	}
}

// TestConfigValidateOnlineCatchesFieldProblems checks a misspelled mapped field,
// a read-only field, a field zohosink does not write (formula), and missing
// topics; an integer and a checkbox mapping pass.
func TestConfigValidateOnlineCatchesFieldProblems(t *testing.T) {
	e := newOpsEnv(t, 1)
	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Score__c", DataType: "formula"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AddField("Leads", zohosim.Field{APIName: "Lead_Owner_Code", DataType: "text", Length: 20, ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	s := e.settings()
	s["mapping"] = map[string]any{"fields": []map[string]string{
		{"from": "properties.source_detail", "to": "Lead_Sorce"},
		{"from": "traits.score", "to": "Score__c"},
		{"from": "traits.owner", "to": "Lead_Owner_Code"},
		{"from": "traits.city", "to": "City"},
		{"from": "traits.newsletter", "to": "Email_Opt_Out"},
		{"from": "traits.employees", "to": "No_of_Employees"},
	}}
	s["kafka"]["topics"] = []string{e.topic, e.topic + "-missing"}
	s["kafka"]["dlq_topic"] = e.dlqTopic + "-missing"
	out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out,
		"✗ mapping.fields[0].to: \"Lead_Sorce\" is not a field of Leads (did you mean \"Lead_Source\"?)",
		"✗ mapping.fields[1].to: field Score__c is of type formula, which zohosink does not write",
		"✓ No_of_Employees ← traits.employees (integer, length 9)",
		"✗ mapping.fields[2].to: \"Lead_Owner_Code\" is read-only in Leads",
		"✓ City ← traits.city (text, length 100)",
		"✓ Email_Opt_Out ← traits.newsletter (boolean, length 5)", // configured mappings pass JSON booleans through
		"✓ kafka.topics[0]",
		"✗ kafka.topics[1]: topic \""+e.topic+"-missing\" does not exist",
		"! kafka.dlq_topic: topic \""+e.dlqTopic+"-missing\" does not exist: `consumer run` creates it",
		"✗ 4 online check(s) failed, 1 warning(s): not ready to deploy.",
	)
	if strings.Contains(out, "✓ The configuration is valid.") {
		t.Errorf("an unqualified \"valid\" verdict above failed checks:\n%s", out)
	}
}

// TestConfigValidateOnlineRecordSizes: a dead-letter topic whose
// max.message.bytes is below a source topic's fails the online check (its
// large records could never be dead-lettered), and a kafka.max_message_bytes
// below the source topic's is a warning.
func TestConfigValidateOnlineRecordSizes(t *testing.T) {
	e := newOpsEnv(t, 1)
	big := kafkatest.CreateTopicWithConfigs(t, e.brokers, 1, map[string]*string{"max.message.bytes": kadm.StringPtr("16777216")})
	s := e.settings()
	s["kafka"]["topics"] = []string{e.topic, big}
	s["kafka"]["max_message_bytes"] = 1000000
	out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out,
		"✗ kafka.dlq_topic: dead-letter topic \""+e.dlqTopic+"\" accepts 1048588 bytes (max.message.bytes) but source topic \""+big+"\" accepts 16777216",
		"! kafka.max_message_bytes 1000000 is below source topic \""+big+"\"'s max.message.bytes 16777216",
		"✗ 1 online check(s) failed, 1 warning(s): not ready to deploy.",
	)

	s["kafka"]["topics"] = []string{e.topic}
	delete(s["kafka"], "max_message_bytes")
	out, err = runConsumer(e.writeConfig(s), "config", "validate", "--online")
	if err != nil {
		t.Fatalf("validate --online: %v\n%s", err, out)
	}
	wantLines(t, out, "✓ kafka.dlq_topic: max.message.bytes 1048588, at least the largest source topic's (1048588, \""+e.topic+"\"); dead letters are written in batches of up to 1048588 bytes")
}

// TestConfigValidateOnlineDataCenterMismatch: the token endpoint says the
// account lives in another data center than the configured API host.
func TestConfigValidateOnlineDataCenterMismatch(t *testing.T) {
	e := newOpsEnv(t, 1)
	eu := zohosim.New(zohosim.Options{PublicURL: "https://www.zohoapis.eu"}) // api_domain of its tokens
	t.Cleanup(eu.Close)
	front := httptest.NewServer(eu.Handler())
	t.Cleanup(front.Close)
	s := e.settings()
	s["zoho"]["api_domain"], s["zoho"]["accounts_url"] = front.URL, front.URL
	s["zoho"]["client_id"], s["zoho"]["client_secret"], s["zoho"]["refresh_token"] = eu.ClientID(), eu.ClientSecret(), eu.RefreshToken()

	out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out,
		"✓ The configuration is valid (offline checks).",
		"✗ access token: data-center mismatch: the token was issued for API host \"www.zohoapis.eu\"",
		"set zoho.data_center: eu",
		"✗ not checked: no access token",
	)
}

// TestConfigValidateOnlineAPIHostMismatch: the accounts server answers with
// tokens for another (non-Zoho) API host than zoho.api_domain. zohoapi lets
// non-Zoho hosts differ (a proxy), so it is a warning, not a pass.
func TestConfigValidateOnlineAPIHostMismatch(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	s["zoho"]["api_domain"] = "http://127.0.0.1:1" // nothing listens there
	out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out) // the field metadata call cannot reach 127.0.0.1:1
	wantLines(t, out,
		"✓ The configuration is valid (offline checks).",
		"! the token's api_domain is "+e.sim.URL()+" but zohosink calls http://127.0.0.1:1 (zoho.api_domain)",
		"set zoho.api_domain: "+e.sim.URL(),
	)
	if strings.Contains(out, "matches http://127.0.0.1:1") {
		t.Errorf("a mismatch reported as a match:\n%s", out)
	}
}

// TestConfigValidateOnlineTokenProblems: a revoked refresh token and a wrong
// client secret are explained in plain words.
func TestConfigValidateOnlineTokenProblems(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	s["zoho"]["client_secret"] = "not-the-secret"
	out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out, "✗ access token: zoho.client_secret is wrong (Zoho error invalid_client_secret)")
	if strings.Contains(out, "not-the-secret") {
		t.Errorf("the output shows the secret:\n%s", out)
	}

	e.sim.RevokeRefreshToken(e.sim.RefreshToken())
	out, err = e.run("config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out, "✗ access token: zoho.refresh_token is invalid or revoked (Zoho error invalid_code)", "consumer zoho token exchange")
}

// TestPlaceholderCredentialsRefused: a configuration still holding the
// example's placeholder credentials (config/example.yaml) is refused by
// every command that needs them, naming the keys; the Kafka-only commands,
// which do not use them, still run.
func TestPlaceholderCredentialsRefused(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	s["zoho"]["client_secret"] = "example-client-secret"
	s["zoho"]["refresh_token"] = "1000.example.refresh"
	path := e.writeConfig(s)
	const placeholder = "still holds a placeholder value of the shipped examples"

	out, err := runConsumer(path, "config", "validate")
	wantExit1(t, err, out)
	wantLines(t, out, "The configuration has 2 problem(s):",
		"  ✗ zoho.client_secret: "+placeholder, "  ✗ zoho.refresh_token: "+placeholder)

	for _, args := range [][]string{
		{"run"},
		{"zoho", "fields"},
		{"dlq", "replay", "--direct"},
		{"zoho", "token", "exchange", "--code", "1000.grant"}, // needs the client secret only
	} {
		out, err := runConsumer(path, args...)
		if err == nil || !strings.Contains(err.Error(), "zoho.client_secret: "+placeholder) {
			t.Errorf("consumer %s: %v, want the placeholder of zoho.client_secret refused\n%s", strings.Join(args, " "), err, out)
		}
	}
	// A --direct dry run needs Kafka only: it previews untyped, saying why.
	out, err = runConsumer(path, "dlq", "replay", "--direct", "--dry-run")
	if err != nil {
		t.Errorf("dlq replay --direct --dry-run: %v\n%s", err, out)
	}
	wantLines(t, out, "Values are shown untyped", "zoho.client_secret: "+placeholder)
	if st := e.sim.Stats(); st.TokenRequests != 0 {
		t.Errorf("%d token requests reached Zoho with placeholder credentials, want 0", st.TokenRequests)
	}
	if out, err := runConsumer(path, "offsets", "show"); err != nil {
		t.Errorf("offsets show (Kafka only): %v\n%s", err, out)
	}
}

// TestConfigPrint checks sources and redaction.
func TestConfigPrint(t *testing.T) {
	e := newOpsEnv(t, 1)
	t.Setenv("ZOHOSINK_BATCH_MAX_RECORDS", "50")
	out, err := e.run("config", "print")
	if err != nil {
		t.Fatalf("print: %v\n%s", err, out)
	}
	wantLines(t, out,
		"max_records: 50 # env ZOHOSINK_BATCH_MAX_RECORDS",
		"group: "+e.group+" # file",
		"module: Leads # default",
		"[redacted]",
	)
	for _, secret := range []string{e.sim.ClientSecret(), e.sim.RefreshToken()} {
		if strings.Contains(out, secret) {
			t.Errorf("print shows a secret:\n%s", out)
		}
	}
}

// TestConfigValidateOnlineTokenReusedByRun: the token `config validate
// --online` mints goes to the token cache, where the next `consumer run`
// finds it: one mint of Zoho's 10 per 10 minutes for both, not two.
func TestConfigValidateOnlineTokenReusedByRun(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	s["zoho"]["token_cache_file"] = filepath.Join(t.TempDir(), "zoho-token.json")
	e.cfgPath = e.writeConfig(s)
	if out, err := e.run("config", "validate", "--online"); err != nil {
		t.Fatalf("validate --online: %v\n%s", err, out)
	}
	if got := e.sim.Stats().TokenMints; got != 1 {
		t.Fatalf("validate minted %d tokens, want 1", got)
	}
	kafkatest.Produce(t, e.brokers, e.topic, identify("a", time.Time{}), identify("b", time.Time{}))
	stop := e.startPipeline()
	e.waitCommitted()
	stop()
	if got := len(e.sim.Records("Leads")); got != 2 {
		t.Errorf("%d leads in Zoho, want 2", got)
	}
	if got := e.sim.Stats().TokenMints; got != 1 {
		t.Errorf("validate then run minted %d tokens, want 1 (run reuses validate's)", got)
	}
}

// TestRunWrongSecretBesideCachedToken: `consumer run` with a wrong client
// secret, beside a token cache holding a valid token that the right secret
// minted (by `config validate --online`), is not ready at start with Zoho's
// invalid_client_secret as the configuration error, instead of delivering
// with the old token until it expires; the right secret then still reuses
// that token (no second mint).
func TestRunWrongSecretBesideCachedToken(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	s["zoho"]["token_cache_file"] = filepath.Join(t.TempDir(), "zoho-token.json")
	e.cfgPath = e.writeConfig(s)
	if out, err := e.run("config", "validate", "--online"); err != nil {
		t.Fatalf("validate --online: %v\n%s", err, out)
	}
	s["zoho"]["client_secret"] = "not-the-secret"
	cfg, err := config.Load(e.writeConfig(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := wiring.NewPipeline(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var nr *pipeline.NotReadyError
	deadline := time.Now().Add(30 * time.Second)
	for err = p.Ready(); errors.As(err, &nr) && (nr.Reason == pipeline.NotReadyStarting || nr.Reason == pipeline.NotReadyStopped) && time.Now().Before(deadline); err = p.Ready() {
		time.Sleep(20 * time.Millisecond) // polling for the verdict
	}
	if !errors.As(err, &nr) || nr.Reason != pipeline.NotReadyConfig || !strings.Contains(err.Error(), "invalid_client_secret") {
		t.Errorf("Ready with a wrong client secret beside a cached token = %v, want a configuration error naming invalid_client_secret", err)
	}
	cancel()
	if runErr := <-done; runErr == nil {
		t.Error("Run = nil, want the configuration error")
	}

	kafkatest.Produce(t, e.brokers, e.topic, identify("a", time.Time{}))
	stop := e.startPipeline() // the right secret
	e.waitCommitted()
	stop()
	if got := e.sim.Stats().TokenMints; got != 1 {
		t.Errorf("%d token mints, want 1: the right secret reuses the cached token", got)
	}
}
