package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/zohosink/zohosink/creditsaver"
	"github.com/zohosink/zohosink/internal/tlstest"
	"github.com/zohosink/zohosink/zohoapi"
	"gopkg.in/yaml.v3"
)

const (
	testSecret  = "s3cr3t-CLIENT-value-42"
	testRefresh = "1000.r3fr3sh-T0KEN-value-77"
)

// cleanEnv makes every ZOHOSINK_* variable empty (= unset for Load) for the test.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, EnvPrefix) {
			t.Setenv(name, "")
		}
	}
	for _, k := range Keys() {
		t.Setenv(EnvVar(k), "")
	}
}

func setCreds(t *testing.T) {
	t.Helper()
	t.Setenv("ZOHOSINK_ZOHO_CLIENT_ID", "1000.CID")
	t.Setenv("ZOHOSINK_ZOHO_CLIENT_SECRET", testSecret)
	t.Setenv("ZOHOSINK_ZOHO_REFRESH_TOKEN", testRefresh)
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zohosink.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keysOf(err error) []string {
	var out []string
	for _, fe := range FieldErrors(err) {
		out = append(out, fe.Key)
	}
	slices.Sort(out)
	return out
}

func TestKeysCoverContract(t *testing.T) {
	want := []string{
		"kafka.brokers", "kafka.topics", "kafka.group", "kafka.dlq_topic", "kafka.client_id",
		"kafka.commit_interval", "kafka.session_timeout", "kafka.fetch_max_bytes", "kafka.max_message_bytes",
		"kafka.start_offset",
		"kafka.tls.enabled", "kafka.tls.ca_file", "kafka.tls.cert_file", "kafka.tls.key_file", "kafka.tls.server_name",
		"kafka.tls.insecure_skip_verify",
		"kafka.sasl.mechanism", "kafka.sasl.username", "kafka.sasl.password", "kafka.sasl.oauth_token_file",
		"zoho.data_center", "zoho.api_domain", "zoho.accounts_url", "zoho.module", "zoho.client_id",
		"zoho.client_secret", "zoho.refresh_token", "zoho.duplicate_check_fields", "zoho.trigger",
		"zoho.token_cache_file", "zoho.request_timeout", "zoho.daily_credit_budget", "zoho.fields_refresh_interval", "zoho.fields_min_stale_interval",
		"consent.required", "mapping.fields", "mapping.events", "mapping.invalid_values",
		"batch.max_records", "batch.linger", "batch.max_buffered",
		"delivery.max_in_flight", "delivery.retry_initial", "delivery.retry_max", "delivery.throttle_backoff",
		"delivery.breaker_failures", "delivery.breaker_open_timeout", "delivery.shutdown_grace",
		"delivery.credit_saver", "delivery.credit_saver_keys", "delivery.credit_saver_ttl",
		"http.listen", "log.level", "log.format",
	}
	if got := Keys(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Keys() =\n%q\nwant\n%q", got, want)
	}
	if got := EnvVar("zoho.client_secret"); got != "ZOHOSINK_ZOHO_CLIENT_SECRET" {
		t.Errorf("EnvVar = %q", got)
	}
}

func TestLoadEnvOnlyUsesDefaults(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Defaults()
	want.Zoho.ClientID = "1000.CID"
	want.Zoho.ClientSecret = testSecret
	want.Zoho.RefreshToken = testRefresh
	want.sources = c.sources
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load =\n%#v\nwant\n%#v", *c, *want)
	}
	if c.Zoho.ClientSecret.Value() != testSecret {
		t.Fatal("secret value not kept")
	}
	for k, s := range c.Sources() {
		wantS := SourceDefault
		if k == "zoho.client_id" || k == "zoho.client_secret" || k == "zoho.refresh_token" {
			wantS = SourceEnv
		}
		if s != wantS {
			t.Errorf("source of %s = %s, want %s", k, s, wantS)
		}
	}
	if len(c.Sources()) != len(Keys()) {
		t.Errorf("sources for %d keys, want %d", len(c.Sources()), len(Keys()))
	}
	if got := c.EffectiveMaxBuffered(); got != 100*(10+2) {
		t.Errorf("EffectiveMaxBuffered = %d", got)
	}
	eps, err := c.Endpoints()
	if err != nil || eps.API != "https://www.zohoapis.com" || eps.Accounts != "https://accounts.zoho.com" {
		t.Errorf("Endpoints = %+v, %v", eps, err)
	}
}

// TestEnvSetsEveryKey sets every key through the environment alone.
func TestEnvSetsEveryKey(t *testing.T) {
	cleanEnv(t)
	ca := tlstest.New(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eyJ.x.y"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"kafka.brokers":                  "k1:9092, k2:9093",
		"kafka.topics":                   "web,app",
		"kafka.group":                    "g2",
		"kafka.dlq_topic":                "dead",
		"kafka.client_id":                "cid",
		"kafka.commit_interval":          "2s",
		"kafka.session_timeout":          "20s",
		"kafka.fetch_max_bytes":          "1000",
		"kafka.max_message_bytes":        "2000",
		"kafka.start_offset":             "latest",
		"zoho.data_center":               "eu",
		"zoho.api_domain":                "www.zohoapis.eu",
		"zoho.accounts_url":              "accounts.zoho.eu",
		"zoho.module":                    "Contacts",
		"zoho.client_id":                 "1000.X",
		"zoho.client_secret":             testSecret,
		"zoho.refresh_token":             testRefresh,
		"zoho.duplicate_check_fields":    "Email,Phone",
		"zoho.trigger":                   "[]",
		"zoho.token_cache_file":          "/tmp/tok",
		"zoho.request_timeout":           "5s",
		"zoho.fields_refresh_interval":   "2h",
		"zoho.fields_min_stale_interval": "30s",
		"zoho.daily_credit_budget":       "40000",
		"consent.required":               "marketing,ads",
		"mapping.fields":                 "traits.plan=Plan__c, properties.utm_source=UTM_Source",
		"mapping.events":                 "Signup,Create Lead",
		"mapping.invalid_values":         "dead_letter",
		"batch.max_records":              "50",
		"batch.linger":                   "250ms",
		"batch.max_buffered":             "500",
		"delivery.max_in_flight":         "8",
		"delivery.retry_initial":         "1s",
		"delivery.retry_max":             "1m",
		"delivery.throttle_backoff":      "45s",
		"delivery.breaker_failures":      "3",
		"delivery.breaker_open_timeout":  "10s",
		"delivery.shutdown_grace":        "5s",
		"delivery.credit_saver":          "false",
		"delivery.credit_saver_keys":     "5000",
		"delivery.credit_saver_ttl":      "30m",
		"http.listen":                    ":9000",
		"log.level":                      "debug",
		"log.format":                     "json",
	}
	maps.Copy(env, map[string]string{
		"kafka.tls.enabled":              "true",
		"kafka.tls.ca_file":              ca.CAFile,
		"kafka.tls.cert_file":            ca.ClientCertFile,
		"kafka.tls.key_file":             ca.ClientKeyFile,
		"kafka.tls.server_name":          "kafka.internal",
		"kafka.tls.insecure_skip_verify": "true",
		"kafka.sasl.mechanism":           "SCRAM-SHA-512",
		"kafka.sasl.username":            "svc",
		"kafka.sasl.password":            testSecret,
		"kafka.sasl.oauth_token_file":    tokenFile,
	})
	if len(env) != len(Keys()) {
		t.Fatalf("test covers %d keys, want all %d", len(env), len(Keys()))
	}
	for k, v := range env {
		t.Setenv(EnvVar(k), v)
	}
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Kafka: Kafka{Brokers: []string{"k1:9092", "k2:9093"}, Topics: []string{"web", "app"}, Group: "g2",
			DLQTopic: "dead", ClientID: "cid", CommitInterval: 2 * time.Second, SessionTimeout: 20 * time.Second,
			FetchMaxBytes: 1000, MaxMessageBytes: 2000, StartOffset: "latest",
			TLS: KafkaTLS{Enabled: true, CAFile: ca.CAFile, CertFile: ca.ClientCertFile, KeyFile: ca.ClientKeyFile,
				ServerName: "kafka.internal", InsecureSkipVerify: true},
			SASL: KafkaSASL{Mechanism: "SCRAM-SHA-512", Username: "svc", Password: testSecret, OAuthTokenFile: tokenFile}},
		Zoho: Zoho{DataCenter: "eu", APIDomain: "www.zohoapis.eu", AccountsURL: "accounts.zoho.eu", Module: "Contacts",
			ClientID: "1000.X", ClientSecret: testSecret, RefreshToken: testRefresh,
			DuplicateCheckFields: []string{"Email", "Phone"}, Trigger: []string{}, TokenCacheFile: "/tmp/tok",
			RequestTimeout: 5 * time.Second, DailyCreditBudget: 40000, FieldsRefreshInterval: 2 * time.Hour, FieldsMinStaleInterval: 30 * time.Second},
		Consent: Consent{Required: []string{"marketing", "ads"}},
		Mapping: Mapping{
			Fields:        []FieldMapping{{From: "traits.plan", To: "Plan__c"}, {From: "properties.utm_source", To: "UTM_Source"}},
			Events:        []string{"Signup", "Create Lead"},
			InvalidValues: "dead_letter",
		},
		Batch: Batch{MaxRecords: 50, Linger: 250 * time.Millisecond, MaxBuffered: 500},
		Delivery: Delivery{MaxInFlight: 8, RetryInitial: time.Second, RetryMax: time.Minute, ThrottleBackoff: 45 * time.Second,
			BreakerFailures: 3, BreakerOpenTimeout: 10 * time.Second, ShutdownGrace: 5 * time.Second,
			CreditSaver: false, CreditSaverKeys: 5000, CreditSaverTTL: 30 * time.Minute},
		HTTP: HTTP{Listen: ":9000"},
		Log:  Log{Level: "debug", Format: "json"},
	}
	want.sources = c.sources
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load =\n%#v\nwant\n%#v", *c, *want)
	}
	if c.Zoho.Trigger == nil {
		t.Error(`"[]" must give an explicit empty trigger list`)
	}
	for k, s := range c.Sources() {
		if s != SourceEnv {
			t.Errorf("source of %s = %s, want env", k, s)
		}
	}
}

func TestFieldMappingsFromEnvJSON(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	t.Setenv("ZOHOSINK_MAPPING_FIELDS", `[{"from":"context.traits.plan","to":"Plan__c"}]`)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []FieldMapping{{From: "context.traits.plan", To: "Plan__c"}}; !reflect.DeepEqual(c.Mapping.Fields, want) {
		t.Fatalf("fields = %+v", c.Mapping.Fields)
	}

	t.Setenv("ZOHOSINK_MAPPING_FIELDS", "traits.plan")
	_, err = Load("", nil)
	if got := keysOf(err); !reflect.DeepEqual(got, []string{"mapping.fields"}) {
		t.Fatalf("problems at %v, want mapping.fields: %v", got, err)
	}
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	path := writeFile(t, `
kafka:
  group: from-file
  topics: [file-topic]
batch:
  max_records: 10
  linger: 3s
zoho:
  trigger: [workflow]
`)
	t.Setenv("ZOHOSINK_BATCH_MAX_RECORDS", "20")
	t.Setenv("ZOHOSINK_BATCH_LINGER", "4s")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.Int("batch-max-records", 0, "")
	fs.StringSlice("kafka.topics", nil, "") // bound by the key's own name too
	fs.String("log-level", "info", "")      // defined, not set: must not count
	fs.String("config", "", "")             // not a key: ignored
	if err := fs.Parse([]string{"--batch-max-records=30", "--kafka.topics=a,b"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, fs)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key  string
		got  any
		want any
		src  Source
	}{
		{"batch.max_records", c.Batch.MaxRecords, 30, SourceFlag},
		{"kafka.topics", c.Kafka.Topics, []string{"a", "b"}, SourceFlag},
		{"batch.linger", c.Batch.Linger, 4 * time.Second, SourceEnv},
		{"kafka.group", c.Kafka.Group, "from-file", SourceFile},
		{"zoho.trigger", c.Zoho.Trigger, []string{"workflow"}, SourceFile},
		{"log.level", c.Log.Level, "info", SourceDefault},
		{"kafka.dlq_topic", c.Kafka.DLQTopic, "events.zoho-dlq", SourceDefault},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.key, ch.got, ch.want)
		}
		if s := c.Source(ch.key); s != ch.src {
			t.Errorf("source of %s = %s, want %s", ch.key, s, ch.src)
		}
	}
}

func TestTriggerUnsetVersusEmpty(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	c, err := Load(writeFile(t, "zoho:\n  module: Leads\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Zoho.Trigger != nil {
		t.Errorf("unset trigger = %#v, want nil (omitted)", c.Zoho.Trigger)
	}
	c, err = Load(writeFile(t, "zoho:\n  trigger: []\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Zoho.Trigger == nil || len(c.Zoho.Trigger) != 0 {
		t.Errorf("trigger: [] = %#v, want empty non-nil", c.Zoho.Trigger)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Defaults()
	c.Kafka.Brokers = nil
	c.Kafka.Topics = []string{"events", ""}
	c.Kafka.Group = ""
	c.Kafka.DLQTopic = "events"
	c.Kafka.CommitInterval = -time.Second
	c.Kafka.MaxMessageBytes = -1
	c.Kafka.StartOffset = "beginning"
	c.Zoho.DataCenter = "mars"
	c.Zoho.RequestTimeout = 0
	c.Zoho.DailyCreditBudget = -1
	c.Zoho.FieldsRefreshInterval = 0
	c.Zoho.FieldsMinStaleInterval = -time.Second
	c.Zoho.Trigger = []string{"workflow", "webhooks"}
	c.Mapping.InvalidValues = "drop"
	c.Mapping.Fields = []FieldMapping{
		{From: "traits.plan", To: "Plan__c"},
		{From: "userId", To: "User_Id"},
		{From: "", To: ""},
		{From: "properties.plan", To: "Plan__c"},
		{From: "traits.", To: "Bad Name"},
	}
	c.Batch.MaxRecords = 101
	c.Batch.Linger = -time.Millisecond
	c.Delivery.MaxInFlight = 0
	c.Delivery.RetryInitial = time.Minute
	c.Delivery.RetryMax = time.Second
	c.Delivery.BreakerFailures = 0
	c.Delivery.ShutdownGrace = -1
	c.Delivery.CreditSaverKeys = 0
	c.HTTP.Listen = "9464"
	c.Log.Level = "verbose"
	c.Log.Format = "xml"

	err := c.Validate()
	want := []string{
		"batch.linger", "batch.max_records",
		"delivery.breaker_failures", "delivery.credit_saver_keys", "delivery.max_in_flight", "delivery.retry_max", "delivery.shutdown_grace",
		"http.listen",
		"kafka.brokers", "kafka.commit_interval", "kafka.dlq_topic", "kafka.group",
		"kafka.max_message_bytes", "kafka.start_offset", "kafka.topics[1]",
		"log.format", "log.level",
		"mapping.fields[1].from", "mapping.fields[2]", "mapping.fields[2].to", "mapping.fields[3].to",
		"mapping.fields[4].from", "mapping.fields[4].to", "mapping.invalid_values",
		"zoho.client_id", "zoho.client_secret", "zoho.daily_credit_budget", "zoho.data_center", "zoho.fields_min_stale_interval",
		"zoho.fields_refresh_interval", "zoho.refresh_token", "zoho.request_timeout", "zoho.trigger[1]",
	}
	if got := keysOf(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("problems at\n%q\nwant\n%q\nerror:\n%v", got, want, err)
	}
	msg := err.Error()
	for _, line := range []string{
		"zoho.client_secret: is required",
		"batch.max_records: 101 is outside 1..100",
		`mapping.invalid_values: "drop" is not one of omit, dead_letter`,
		`mapping.fields[3].to: "Plan__c" is also the target of mapping.fields[0]`,
		`kafka.dlq_topic: "events" is also a source topic`,
		`kafka.start_offset: "beginning" is not one of earliest, latest`,
	} {
		if !strings.Contains(msg, line) {
			t.Errorf("error lacks %q:\n%s", line, msg)
		}
	}
	if len(strings.Split(msg, "\n")) != len(want) {
		t.Errorf("want one line per problem, got:\n%s", msg)
	}
}

func TestValidateBatchBounds(t *testing.T) {
	for _, n := range []int{0, -1, 101} {
		c := validConfig()
		c.Batch.MaxRecords = n
		if got := keysOf(c.Validate()); !reflect.DeepEqual(got, []string{"batch.max_records"}) {
			t.Errorf("max_records %d: problems %v", n, got)
		}
	}
	for _, n := range []int{1, 100} {
		c := validConfig()
		c.Batch.MaxRecords = n
		if err := c.Validate(); err != nil {
			t.Errorf("max_records %d: %v", n, err)
		}
	}
	c := validConfig()
	c.Batch.MaxBuffered = 50
	if got := keysOf(c.Validate()); !reflect.DeepEqual(got, []string{"batch.max_buffered"}) {
		t.Errorf("max_buffered below max_records: %v", got)
	}
}

// TestValidateListenAddress: http.listen is refused at validation, under
// its key, when net.Listen would refuse it at run: not host:port, or a port
// outside 0..65535.
func TestValidateListenAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9464":  "",
		":0":              "",
		"[::1]:65535":     "",
		"127.0.0.1:http":  "",
		"127.0.0.1:99999": `http.listen: "127.0.0.1:99999": port "99999" is not a port number in 0..65535`,
		"127.0.0.1:-1":    `http.listen: "127.0.0.1:-1": port "-1" is not a port number in 0..65535`,
		"127.0.0.1:":      "", // net.Listen: any free port
		"9464":            `http.listen: "9464" is not host:port`,
	} {
		c := validConfig()
		c.HTTP.Listen = addr
		err := c.Validate()
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v, want valid", addr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || !reflect.DeepEqual(keysOf(err), []string{"http.listen"}) {
			t.Errorf("%s: %v, want only %s", addr, err, want)
		}
	}
}

func validConfig() *Config {
	c := Defaults()
	c.Zoho.ClientID = "1000.CID"
	c.Zoho.ClientSecret = testSecret
	c.Zoho.RefreshToken = testRefresh
	return c
}

func TestValidateHosts(t *testing.T) {
	cases := []struct {
		name          string
		dc, api, acc  string
		wantKey       string // "" = valid
		wantMismatch  bool
		wantEndpoints zohoapi.Endpoints
	}{
		{name: "us default", dc: "us", wantEndpoints: zohoapi.Endpoints{API: "https://www.zohoapis.com", Accounts: "https://accounts.zoho.com"}},
		{name: "eu explicit hosts", dc: "eu", api: "www.zohoapis.eu", acc: "accounts.zoho.eu",
			wantEndpoints: zohoapi.Endpoints{API: "https://www.zohoapis.eu", Accounts: "https://accounts.zoho.eu"}},
		{name: "case-insensitive code", dc: "EU", wantEndpoints: zohoapi.Endpoints{API: "https://www.zohoapis.eu", Accounts: "https://accounts.zoho.eu"}},
		{name: "simulator", dc: "us", api: "http://127.0.0.1:8080", acc: "http://127.0.0.1:8080",
			wantEndpoints: zohoapi.Endpoints{API: "http://127.0.0.1:8080", Accounts: "http://127.0.0.1:8080"}},
		{name: "hosts only", api: "www.zohoapis.in", acc: "accounts.zoho.in",
			wantEndpoints: zohoapi.Endpoints{API: "https://www.zohoapis.in", Accounts: "https://accounts.zoho.in"}},
		{name: "unknown dc", dc: "uk", wantKey: "zoho.data_center"},
		{name: "no dc, one host", api: "www.zohoapis.eu", wantKey: "zoho.data_center"},
		{name: "api of another dc", dc: "us", api: "www.zohoapis.eu", wantKey: "zoho.api_domain", wantMismatch: true},
		{name: "accounts of another dc", dc: "eu", acc: "accounts.zoho.com", wantKey: "zoho.accounts_url", wantMismatch: true},
		{name: "hosts of two dcs", api: "www.zohoapis.eu", acc: "accounts.zoho.com", wantKey: "zoho.accounts_url", wantMismatch: true},
		{name: "canada accounts host is zohocloud, not zoho.ca", dc: "ca", acc: "accounts.zoho.ca", wantKey: "zoho.accounts_url"},
		{name: "path", dc: "us", api: "www.zohoapis.com/crm/v8", wantKey: "zoho.api_domain"},
		{name: "scheme", dc: "us", acc: "ftp://accounts.zoho.com", wantKey: "zoho.accounts_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.Zoho.DataCenter, c.Zoho.APIDomain, c.Zoho.AccountsURL = tc.dc, tc.api, tc.acc
			err := c.Validate()
			var want []string
			if tc.wantKey != "" {
				want = []string{tc.wantKey}
			}
			if got := keysOf(err); !reflect.DeepEqual(got, want) {
				t.Fatalf("problems at %v, want %v: %v", got, want, err)
			}
			var mm *zohoapi.DataCenterMismatchError
			if errors.As(err, &mm) != tc.wantMismatch {
				t.Errorf("errors.As DataCenterMismatchError = %v, want %v (%v)", !tc.wantMismatch, tc.wantMismatch, err)
			}
			if tc.wantKey == "" {
				eps, err := c.Endpoints()
				if err != nil || eps != tc.wantEndpoints {
					t.Errorf("Endpoints = %+v, %v; want %+v", eps, err, tc.wantEndpoints)
				}
			}
		})
	}
}

func TestUnknownKeysInFile(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	path := writeFile(t, `
kafka:
  dlq_topc: x
  dlqTopic: y
zoho:
  module: Leads
  clientSecret: oops
batchs:
  max_records: 10
mapping:
  fields:
    - form: traits.plan
      to: Plan__c
`)
	c, err := Load(path, nil)
	if c == nil {
		t.Fatalf("Load returned no config: %v", err)
	}
	want := []string{"batchs", "kafka.dlq_topc", "kafka.dlqtopic", "mapping.fields[0]", "mapping.fields[0].form", "zoho.clientsecret"}
	if got := keysOf(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("problems at %q, want %q:\n%v", got, want, err)
	}
	msg := err.Error()
	for _, s := range []string{
		`kafka.dlq_topc: unknown key (did you mean "kafka.dlq_topic"?)`,
		`kafka.dlqtopic: unknown key (did you mean "kafka.dlq_topic"?)`,
		`zoho.clientsecret: unknown key (did you mean "zoho.client_secret"?)`,
		`batchs: unknown key (did you mean "batch"?)`,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "oops") {
		t.Error("error repeats a value from the file")
	}
	if !errors.Is(err, ErrUnknownKey) {
		t.Error("errors.Is(err, ErrUnknownKey) = false")
	}
}

func TestDurationNeedsUnit(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	_, err := Load(writeFile(t, "batch:\n  linger: 1000\ndelivery:\n  shutdown_grace: 0\n"), nil)
	if got := keysOf(err); !reflect.DeepEqual(got, []string{"batch.linger"}) {
		t.Fatalf("problems %v: %v", got, err)
	}
	if !strings.Contains(err.Error(), "no unit") {
		t.Errorf("error = %v", err)
	}
}

func TestBadValueFromEnv(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	t.Setenv("ZOHOSINK_BATCH_MAX_RECORDS", "abc")
	t.Setenv("ZOHOSINK_DELIVERY_RETRY_MAX", "soon")
	t.Setenv("ZOHOSINK_KAFKA_FETCH_MAX_BYTES", "99999999999")
	c, err := Load("", nil)
	if c == nil {
		t.Fatal("config should be returned with its problems")
	}
	// One problem per key, naming the variable and the value; no follow-on
	// verdict on the zero value ("0 is outside 1..100", "0s must be > 0").
	want := []string{
		`batch.max_records (from ZOHOSINK_BATCH_MAX_RECORDS): "abc" is not a whole number`,
		`delivery.retry_max (from ZOHOSINK_DELIVERY_RETRY_MAX): "soon" is not a duration: write it like "1s" or "500ms"`,
		`kafka.fetch_max_bytes (from ZOHOSINK_KAFKA_FETCH_MAX_BYTES): "99999999999" is too large (at most 2147483647)`,
	}
	var got []string
	for _, fe := range FieldErrors(err) {
		got = append(got, fe.Error())
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if fe := FieldErrors(err)[0]; fe.Err == nil {
		t.Error("the decoder's error is not kept in FieldError.Err")
	}
}

func TestBadValueFromFileAndFlag(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("batch-max-records", "", "")
	if err := fs.Parse([]string{"--batch-max-records=ten"}); err != nil {
		t.Fatal(err)
	}
	_, err := Load(writeFile(t, "delivery:\n  max_in_flight: many\n  breaker_failures: 2.5\n"), fs)
	want := []string{
		`batch.max_records (from --batch-max-records): "ten" is not a whole number`,
		`delivery.breaker_failures: 2.5 is not a whole number`,
		`delivery.max_in_flight: "many" is not a whole number`,
	}
	var got []string
	for _, fe := range FieldErrors(err) {
		got = append(got, fe.Error())
	}
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnknownEnvVars(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	t.Setenv("ZOHOSINK_BATCH_MAXRECORDS", "5")
	t.Setenv("ZOHOSINK_LOG_LEVL", "debug")
	t.Setenv("ZOHOSINK_WHATEVER", "x")
	t.Setenv("ZOHOSINK_TYPO_BUT_EMPTY", "") // empty counts as unset
	for _, name := range OtherEnvVars {
		t.Setenv(name, "1") // the project's own non-configuration variables
	}
	c, err := Load("", nil)
	if c == nil {
		t.Fatal("config should be returned with its problems")
	}
	want := []string{
		`ZOHOSINK_BATCH_MAXRECORDS: unknown environment variable (did you mean ZOHOSINK_BATCH_MAX_RECORDS?)`,
		`ZOHOSINK_LOG_LEVL: unknown environment variable (did you mean ZOHOSINK_LOG_LEVEL?)`,
		`ZOHOSINK_WHATEVER: unknown environment variable`,
	}
	var got []string
	for _, fe := range FieldErrors(err) {
		got = append(got, fe.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !errors.Is(err, ErrUnknownKey) {
		t.Error("errors.Is(err, ErrUnknownKey) = false")
	}
	if c.Batch.MaxRecords != 100 {
		t.Errorf("batch.max_records = %d: the misspelled variable must not apply", c.Batch.MaxRecords)
	}
}

// TestOtherEnvVarsCoverRepository: every ZOHOSINK_* name the repository
// mentions is a key's variable or one of OtherEnvVars, so Load never calls a
// variable of the project's own tooling unknown.
func TestOtherEnvVarsCoverRepository(t *testing.T) {
	known := map[string]bool{}
	for _, k := range keyList {
		known[k.env] = true
	}
	for _, n := range OtherEnvVars {
		known[n] = true
	}
	name := regexp.MustCompile(`\bZOHOSINK_[A-Z0-9_]*[A-Z0-9]\b`)
	root := ".."
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// This package (../config) misspells variables on purpose, in
			// tests and documentation.
			if path != root && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" ||
				d.Name() == "testdata" || d.Name() == "bin" || path == filepath.Join(root, "config")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch ext := filepath.Ext(path); {
		case ext == ".go", ext == ".md", ext == ".yaml", ext == ".yml", ext == ".sh",
			d.Name() == "Makefile", d.Name() == "Dockerfile", filepath.Base(filepath.Dir(path)) == "scripts",
			filepath.Base(filepath.Dir(path)) == ".ci":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for _, n := range name.FindAllString(string(data), -1) {
			if !known[n] {
				t.Errorf("%s mentions %s, which is neither a configuration key's variable nor in OtherEnvVars", path, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Fatalf("scanned only %d files: is the repository root at ..?", scanned)
	}
}

func TestTokenCacheFileDefault(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache) // os.UserCacheDir on Linux
	t.Setenv("HOME", t.TempDir())
	want := DefaultTokenCacheFile()
	if want == "" || !strings.HasSuffix(want, filepath.Join("zohosink", "zoho-token.json")) {
		t.Fatalf("DefaultTokenCacheFile() = %q", want)
	}

	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Zoho.TokenCacheFile != want || c.Source("zoho.token_cache_file") != SourceDefault {
		t.Errorf("unset: %q (%s), want %q (default)", c.Zoho.TokenCacheFile, c.Source("zoho.token_cache_file"), want)
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	if line := "  token_cache_file: " + want + " # default\n"; !strings.Contains(buf.String(), line) {
		t.Errorf("Print lacks %q:\n%s", line, buf.String())
	}

	// "" in the file turns the cache off; so does "off" (the only way from
	// the environment, where "" counts as unset); null means unset.
	for _, tc := range []struct{ file, env, want string }{
		{file: "zoho:\n  token_cache_file: \"\"\n", want: ""},
		{file: "zoho:\n  token_cache_file:\n", want: want},
		{env: "off", want: ""},
		{env: "OFF", want: ""},
		{file: "zoho:\n  token_cache_file: /var/cache/z.json\n", want: "/var/cache/z.json"},
	} {
		path := ""
		if tc.file != "" {
			path = writeFile(t, tc.file)
		}
		t.Setenv("ZOHOSINK_ZOHO_TOKEN_CACHE_FILE", tc.env)
		c, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Zoho.TokenCacheFile != tc.want {
			t.Errorf("file %q env %q: token_cache_file = %q, want %q", tc.file, tc.env, c.Zoho.TokenCacheFile, tc.want)
		}
		if tc.want == "" {
			buf.Reset()
			if err := Print(&buf, c); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), `token_cache_file: "" # `) || !strings.Contains(buf.String(), `"" = no token cache`) {
				t.Errorf("Print does not say the cache is off:\n%s", buf.String())
			}
		}
	}

	// No cache directory at all: no cache.
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	if got := DefaultTokenCacheFile(); got != "" {
		t.Errorf("without $HOME: DefaultTokenCacheFile() = %q, want \"\"", got)
	}
}

func TestPrintExplainsMaxBuffered(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	t.Setenv("ZOHOSINK_DELIVERY_MAX_IN_FLIGHT", "2")
	c, err := Load(writeFile(t, "batch:\n  max_records: 50\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  max_buffered: 0 # default: 0 = max_records × (max_in_flight + 2) = 200\n",
		"  max_message_bytes: 0 # default: 0 = sized from the dead-letter topic's max.message.bytes\n",
		"  start_offset: earliest # default\n",
	} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("Print lacks %q:\n%s", line, buf.String())
		}
	}
	t.Setenv("ZOHOSINK_BATCH_MAX_BUFFERED", "500")
	if c, err = Load("", nil); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	if line := "  max_buffered: 500 # env ZOHOSINK_BATCH_MAX_BUFFERED\n"; !strings.Contains(buf.String(), line) {
		t.Errorf("Print lacks %q:\n%s", line, buf.String())
	}
}

func TestMissingFile(t *testing.T) {
	cleanEnv(t)
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}

func TestExampleFileLoads(t *testing.T) {
	cleanEnv(t)
	c, err := Load("example.yaml", nil)
	// Its only problems: the credentials it shows are placeholders.
	var refused []string
	for _, fe := range FieldErrors(err) {
		if !errors.Is(fe, ErrPlaceholder) {
			t.Errorf("example.yaml: %v", fe)
		}
		refused = append(refused, fe.Key)
	}
	if c == nil || !slices.Equal(refused, []string{"zoho.client_id", "zoho.client_secret", "zoho.refresh_token"}) {
		t.Fatalf("example.yaml: %v; want its three Zoho credentials refused as placeholders", err)
	}
	if len(c.Mapping.Fields) != 3 || c.Mapping.Fields[0] != (FieldMapping{From: "traits.plan", To: "Plan__c"}) || c.Mapping.Fields[2] != (FieldMapping{Value: "Web Download", To: "Lead_Source"}) {
		t.Errorf("mapping.fields = %+v", c.Mapping.Fields)
	}
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Every key is documented in the example (trigger only as a comment).
	for _, k := range Keys() {
		name := k[strings.LastIndex(k, ".")+1:]
		if !strings.Contains(string(data), name+":") {
			t.Errorf("example.yaml does not mention %s", k)
		}
	}
	// Apart from secrets and the commented-out trigger, every value equals the default,
	// so the example doubles as the defaults' documentation.
	def := Defaults()
	for i := range keyList {
		k := &keyList[i]
		switch k.key {
		case "zoho.client_id", "zoho.client_secret", "zoho.refresh_token", "mapping.fields", "mapping.events":
			continue
		}
		if got, want := k.field(c).Interface(), k.field(def).Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("example %s = %#v, default %#v", k.key, got, want)
		}
	}
}

func TestSecretNeverShown(t *testing.T) {
	c := validConfig()
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%T %v"} {
		for _, v := range []any{c, *c, c.Zoho, c.Zoho.ClientSecret, c.Zoho.RefreshToken} {
			if out := fmt.Sprintf(f, v); strings.Contains(out, testSecret) || strings.Contains(out, testRefresh) ||
				strings.Contains(out, fmt.Sprintf("%x", testSecret)) {
				t.Errorf("fmt %s of %T shows the secret: %s", f, v, out)
			}
		}
	}
	if got := fmt.Sprintf("%v|%#v|%q", c.Zoho.ClientSecret, c.Zoho.ClientSecret, c.Zoho.ClientSecret); got != `[redacted]|"[redacted]"|"[redacted]"` {
		t.Errorf("redacted forms = %s", got)
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("empty secret prints %q", got)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := c.Zoho.ClientSecret.MarshalText()
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"json": string(j), "yaml": string(y), "text": string(txt), "Print": buf.String()} {
		if strings.Contains(out, testSecret) || strings.Contains(out, testRefresh) {
			t.Errorf("%s shows the secret:\n%s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s lacks %s:\n%s", name, Redacted, out)
		}
	}
	if !strings.Contains(string(j), `"client_secret":"[redacted]"`) {
		t.Errorf("json = %s", j)
	}
}

func TestErrorsNeverShowSecrets(t *testing.T) {
	cleanEnv(t)
	// A secret given in the wrong shape, and a config with many problems.
	path := writeFile(t, fmt.Sprintf(`
zoho:
  data_center: xx
  client_secret: {nested: %q}
  refresh_token: [%q]
batch:
  max_records: 0
`, testSecret, testRefresh))
	_, err := Load(path, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	if got := keysOf(err); !slices.Contains(got, "zoho.client_secret") || !slices.Contains(got, "zoho.refresh_token") {
		t.Errorf("problems %v", got)
	}
	if msg := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(msg, testSecret) || strings.Contains(msg, testRefresh) {
		t.Fatalf("error shows a secret: %s", msg)
	}
}

func TestPrintShowsSources(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	path := writeFile(t, "kafka:\n  group: g-file\nmapping:\n  fields:\n    - {from: traits.plan, to: Plan__c}\n")
	t.Setenv("ZOHOSINK_LOG_LEVEL", "debug")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, line := range []string{
		`  group: g-file # file`,
		`  level: debug # env ZOHOSINK_LOG_LEVEL`,
		`  client_secret: '[redacted]' # env ZOHOSINK_ZOHO_CLIENT_SECRET`,
		`  brokers: ['127.0.0.1:9092'] # default`,
		`  trigger: null # default`,
		`  linger: 1s # default`,
		`  fields: [{from: traits.plan, to: Plan__c}] # file`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("Print lacks line %q:\n%s", line, out)
		}
	}
	// The output is YAML of the file's shape: it loads back to the same values
	// (apart from the redacted secrets).
	var back Config
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("Print output is not YAML: %v\n%s", err, out)
	}
	if back.Kafka.Group != "g-file" || back.Log.Level != "debug" || back.Mapping.Fields[0].To != "Plan__c" {
		t.Errorf("round trip = %+v", back)
	}
	p2 := writeFile(t, out)
	c2, err := Load(p2, nil)
	if err != nil {
		t.Fatalf("Print output does not load: %v", err)
	}
	c2.Zoho.ClientSecret, c2.Zoho.RefreshToken = c.Zoho.ClientSecret, c.Zoho.RefreshToken
	c2.sources = c.sources
	if !reflect.DeepEqual(c2, c) {
		t.Errorf("Print output loads to\n%+v\nwant\n%+v", c2, c)
	}
}

// TestFileSyntaxErrorNamesItsLine: a YAML syntax error names the line where
// the problem is, not the line before it.
func TestFileSyntaxErrorNamesItsLine(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	for _, tt := range []struct{ file, line string }{
		{"kafka:\n  brokers: [\"127.0.0.1:9092\"]\n  topics: [events\n  group: g\nzoho:\n  module: Leads\n", "line 4:"},
		{"kafka:\n  brokers: [\"127.0.0.1:9092\"]\n\tgroup: g\n", "line 3:"},
		{"kafka:\n  group: a\n  group: b\n", "line 3:"},
	} {
		_, err := Load(writeFile(t, tt.file), nil)
		if err == nil || !strings.Contains(err.Error(), tt.line) {
			t.Errorf("%q: error %v, want it to name %s", tt.file, err, tt.line)
		}
	}
}

// TestKeysInAnotherCase: viper lower-cases keys, so "Kafka:" would be taken
// for "kafka:" without a word; it is a problem naming the key and the line.
func TestKeysInAnotherCase(t *testing.T) {
	cleanEnv(t)
	setCreds(t)
	path := writeFile(t, "Kafka:\n  Brokers: [\"127.0.0.1:9092\"]\n  topics: [events]\nmapping:\n  fields:\n    - From: traits.plan\n      to: Plan\n")
	_, err := Load(path, nil)
	want := []string{"kafka", "kafka.brokers", "mapping.fields[0].from"}
	if got := keysOf(err); !reflect.DeepEqual(got, want) {
		t.Fatalf("problems at %q, want %q:\n%v", got, want, err)
	}
	for _, s := range []string{`kafka: written "Kafka" (line 1): keys are lower case`, `kafka.brokers: written "Brokers" (line 2): keys are lower case`,
		`mapping.fields[0].from: written "From" (line 6): keys are lower case`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
	if !errors.Is(err, ErrKeyCase) {
		t.Error("errors.Is(err, ErrKeyCase) = false")
	}
}

// TestCreditSaverKeysBound: credit_saver_keys beyond creditsaver.MaxKeys
// (its LRU is allocated whole at start) is refused by the validator, with
// the value, as 0 is; the bound itself is accepted and starts a cache.
func TestCreditSaverKeysBound(t *testing.T) {
	for _, keys := range []int{0, creditsaver.MaxKeys + 1, 5_000_000_000} {
		c := Defaults()
		c.Delivery.CreditSaverKeys = keys
		var fe *FieldError
		if err := c.Validate(); !errors.As(err, &fe) || !strings.Contains(err.Error(), "delivery.credit_saver_keys: "+strconv.Itoa(keys)+" is not in 1..") {
			t.Errorf("credit_saver_keys %d: %v", keys, err)
		}
	}
	c := Defaults()
	c.Delivery.CreditSaverKeys = creditsaver.MaxKeys
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "delivery.credit_saver_keys") {
		t.Errorf("credit_saver_keys at the bound refused: %v", err)
	}
	if _, err := creditsaver.New[int](creditsaver.Options{Keys: creditsaver.MaxKeys, TTL: time.Minute}); err != nil {
		t.Errorf("a cache of MaxKeys keys: %v", err)
	}
}
