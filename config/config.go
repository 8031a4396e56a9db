package config

import (
	"os"
	"path/filepath"
	"time"

	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// Config is zohosink's whole configuration. Each section is a named type; each
// field's key is "<section tag>.<field tag>" (mapstructure tags; a field that is
// itself a struct nests one level deeper: "kafka.tls.ca_file"), and the same
// names are used for the YAML file, for Print, and (upper-cased, "." → "_",
// prefixed with ZOHOSINK_) for the environment. Defaults are those of Defaults.
type Config struct {
	Kafka    Kafka    `mapstructure:"kafka" yaml:"kafka" json:"kafka"`          // kafka.*: brokers, topics, group, dead-letter topic
	Zoho     Zoho     `mapstructure:"zoho" yaml:"zoho" json:"zoho"`             // zoho.*: data center, hosts, module, OAuth credentials
	Consent  Consent  `mapstructure:"consent" yaml:"consent" json:"consent"`    // consent.*
	Mapping  Mapping  `mapstructure:"mapping" yaml:"mapping" json:"mapping"`    // mapping.*: extra field mappings and CRM events
	Batch    Batch    `mapstructure:"batch" yaml:"batch" json:"batch"`          // batch.*: upsert batch size and linger
	Delivery Delivery `mapstructure:"delivery" yaml:"delivery" json:"delivery"` // delivery.*: concurrency, retries, breaker, shutdown
	HTTP     HTTP     `mapstructure:"http" yaml:"http" json:"http"`             // http.*: metrics and health endpoint
	Log      Log      `mapstructure:"log" yaml:"log" json:"log"`                // log.*

	// sources records where each key's value came from; set by Load.
	sources map[string]Source
}

// Kafka configures the source topics, the consumer group and the dead-letter topic.
type Kafka struct {
	// Brokers are the seed brokers, host:port. Default ["127.0.0.1:9092"].
	Brokers []string `mapstructure:"brokers" yaml:"brokers" json:"brokers"`
	// Topics are the source topics of website events. Default ["events"].
	Topics []string `mapstructure:"topics" yaml:"topics" json:"topics"`
	// Group is the consumer group whose committed offsets mark delivered events.
	// Default "zohosink".
	Group string `mapstructure:"group" yaml:"group" json:"group"`
	// DLQTopic is the dead-letter topic; it must not be one of Topics.
	// Default "events.zoho-dlq".
	DLQTopic string `mapstructure:"dlq_topic" yaml:"dlq_topic" json:"dlq_topic"`
	// ClientID is the Kafka client.id, visible in broker logs and quotas.
	// Default "zohosink".
	ClientID string `mapstructure:"client_id" yaml:"client_id" json:"client_id"`
	// CommitInterval is how often done offsets are committed (also on shutdown and
	// revocation). Default 1s; must be > 0.
	CommitInterval time.Duration `mapstructure:"commit_interval" yaml:"commit_interval" json:"commit_interval"`
	// SessionTimeout is the consumer-group session timeout (kgo.SessionTimeout).
	// Default 45s, Kafka's and franz-go's default; must be > 0.
	SessionTimeout time.Duration `mapstructure:"session_timeout" yaml:"session_timeout" json:"session_timeout"`
	// FetchMaxBytes caps one fetch response, in bytes (kgo.FetchMaxBytes;
	// compressed, as the broker sends it; a broker returns at least one
	// record batch), and a quarter of it caps one partition's part of a
	// response (kgo.FetchMaxPartitionBytes), so that a fetch holds several
	// partitions. Fetches start at 1/64 of it and grow to it unless their
	// records, decompressed, would hold more than 12 × FetchMaxBytes in
	// memory (lz4 and zstd on JSON of one shape): then they stay as much
	// smaller. franz-go fetches from
	// every broker that leads an assigned partition and holds one response
	// per broker until it is polled; the poll loop keeps the records until
	// they are handed on, mapping them only while the mapped ones hold less
	// than 4 × FetchMaxBytes. So this bounds the fetched data the consumer
	// holds whatever the backlog and its compression: about brokers × 12 ×
	// FetchMaxBytes in franz-go, plus up to 8 × FetchMaxBytes and a poll
	// of records waiting, and 16 × FetchMaxBytes of records handed on to
	// the batcher (fewer than batch.max_buffered when events are large). Default 524288 (512 KiB): Zoho, not Kafka, bounds
	// the throughput, and 512 KiB per broker keeps a 95%-noise topic flowing
	// faster than Zoho takes its CRM events (README "Performance": peak
	// RSS). Must be > 0.
	FetchMaxBytes int32 `mapstructure:"fetch_max_bytes" yaml:"fetch_max_bytes" json:"fetch_max_bytes"`
	// MaxMessageBytes caps the dead-letter producer's record batches, in bytes
	// (kgo.ProducerBatchMaxBytes). Default 0: no cap of its own; the producer
	// is sized from the dead-letter topic's max.message.bytes as the cluster
	// reports it (the broker's message.max.bytes when the topic sets none), or
	// Kafka's default 1048588 when the cluster does not say. A value below what
	// the topics need is logged as a warning at start and by `config validate
	// --online`. Must be ≥ 0.
	MaxMessageBytes int32 `mapstructure:"max_message_bytes" yaml:"max_message_bytes" json:"max_message_bytes"`
	// StartOffset is where the group starts reading a partition it has no
	// committed offset for (or whose committed offset has expired): "earliest"
	// (the log start: the topic's whole retention goes to Zoho, Kafka
	// Connect's default) or "latest" (the log end: only new records).
	// Default "earliest".
	StartOffset string `mapstructure:"start_offset" yaml:"start_offset" json:"start_offset"`
	// TLS encrypts every connection to the brokers (kafka.tls.*); see KafkaTLS.
	TLS KafkaTLS `mapstructure:"tls" yaml:"tls" json:"tls"`
	// SASL authenticates every connection to the brokers (kafka.sasl.*); see KafkaSASL.
	SASL KafkaSASL `mapstructure:"sasl" yaml:"sasl" json:"sasl"`
}

// Zoho configures the Zoho CRM account, OAuth client and upsert options
// (zoho-crm-api.md; Zoho doc pages "Upsert Records" and "Multi DC support").
type Zoho struct {
	// DataCenter is the data-center code: us, eu, in, au, jp, ca, sa or cn. It
	// fills APIDomain and AccountsURL when they are empty. Default "us".
	DataCenter string `mapstructure:"data_center" yaml:"data_center" json:"data_center"`
	// APIDomain is the CRM API host (www.zohoapis.eu), or a full http(s) URL for a
	// sandbox or the simulator. Wins over DataCenter. Default "" (from DataCenter).
	APIDomain string `mapstructure:"api_domain" yaml:"api_domain" json:"api_domain"`
	// AccountsURL is the OAuth host (accounts.zoho.eu), or a full http(s) URL.
	// Wins over DataCenter. Default "" (from DataCenter).
	AccountsURL string `mapstructure:"accounts_url" yaml:"accounts_url" json:"accounts_url"`
	// Module is the CRM module's API name, case-sensitive. Default "Leads".
	Module string `mapstructure:"module" yaml:"module" json:"module"`
	// ClientID is the OAuth (Self Client) client ID. Required.
	ClientID string `mapstructure:"client_id" yaml:"client_id" json:"client_id"`
	// ClientSecret is the OAuth client secret. Required; always redacted.
	ClientSecret Secret `mapstructure:"client_secret" yaml:"client_secret" json:"client_secret"`
	// RefreshToken is the long-lived refresh token. Delivery needs scope
	// ZohoCRM.modules.ALL (or the module's CREATE/UPDATE scopes); `consumer zoho
	// fields` and `consumer config validate --online` also need
	// ZohoCRM.settings.fields.READ and ZohoCRM.settings.layouts.READ, so
	// generate the grant code with scope
	// "ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.layouts.READ"
	// (preflight.GrantScope). Required; always redacted.
	RefreshToken Secret `mapstructure:"refresh_token" yaml:"refresh_token" json:"refresh_token"`
	// DuplicateCheckFields is the upsert's duplicate_check_fields. Unset (nil,
	// the default): the module preset's, ["Email"] for Leads and Contacts
	// (EffectiveDuplicateCheckFields); required for any other module. An
	// explicit empty list omits it for Leads and Contacts, and Zoho uses the
	// module's system and unique fields.
	DuplicateCheckFields []string `mapstructure:"duplicate_check_fields" yaml:"duplicate_check_fields" json:"duplicate_check_fields"`
	// Trigger is the upsert's trigger list: workflow, approval, blueprint,
	// pathfinder, orchestration. Unset (nil, the default) omits it and Zoho runs
	// them all; an explicit empty list ([] in YAML, "[]" in the environment)
	// runs none.
	Trigger []string `mapstructure:"trigger" yaml:"trigger" json:"trigger"`
	// TokenCacheFile is where the access token is kept (mode 0600, its folder
	// created 0700) so that restarts, crash loops and operator commands reuse
	// it instead of minting a new one each (Zoho allows 10 tokens per refresh
	// token per 10 minutes). Default DefaultTokenCacheFile(): zohosink/zoho-token.json
	// in the user's cache directory. "" set explicitly (file or flag) turns the
	// cache off; so does "off", which also works from the environment, where an
	// empty variable counts as unset. An unwritable location is logged once and
	// delivery continues without the cache.
	TokenCacheFile string `mapstructure:"token_cache_file" yaml:"token_cache_file" json:"token_cache_file"`
	// RequestTimeout bounds one Zoho HTTP request. Default 30s; must be > 0.
	RequestTimeout time.Duration `mapstructure:"request_timeout" yaml:"request_timeout" json:"request_timeout"`
	// DailyCreditBudget is how many Zoho API credits this deployment (every
	// replica of the consumer group together) may spend per rolling 24 h,
	// e.g. to leave the rest of the org's allowance to other integrations
	// (Zoho CRM "API Limits": an upsert costs 1 credit per 10 records).
	// Each replica may spend the share of it that its share of the source
	// partitions gives; when that is spent, upserts wait and fetching pauses
	// (/readyz: credit_budget_spent) until the window frees credits. Default
	// 0: no local budget (Zoho's own X-API-CREDITS-REMAINING is honoured all
	// the same). Must be ≥ 0.
	DailyCreditBudget int `mapstructure:"daily_credit_budget" yaml:"daily_credit_budget" json:"daily_credit_budget"`
	// FieldsRefreshInterval is how often `run` reads the module's Fields
	// metadata again (GET /crm/v8/settings/fields, 1 API credit), so that a
	// field's changed type or length is used for conversion. Default 1h; must
	// be > 0.
	FieldsRefreshInterval time.Duration `mapstructure:"fields_refresh_interval" yaml:"fields_refresh_interval" json:"fields_refresh_interval"`
	// FieldsMinStaleInterval is the least time between two metadata reads
	// caused by Zoho answering INVALID_DATA naming a field. Default 1m; must
	// be ≥ 0 (0: no limit).
	FieldsMinStaleInterval time.Duration `mapstructure:"fields_min_stale_interval" yaml:"fields_min_stale_interval" json:"fields_min_stale_interval"`
}

// Consent configures the consent check.
type Consent struct {
	// Required lists the consent categories an event must grant (all of them) to
	// reach Zoho. Default ["marketing"]; an empty list disables the check.
	Required []string `mapstructure:"required" yaml:"required" json:"required"`
}

// Mapping extends the Lead Capture preset (DESIGN.md, "Mapping").
type Mapping struct {
	// Fields are extra field mappings, applied after the preset's. A list, not a
	// map, because field API names are case-sensitive. From the environment:
	// "traits.plan=Plan__c,properties.utm_source=UTM_Source" or a JSON list.
	// Default none.
	Fields []FieldMapping `mapstructure:"fields" yaml:"fields" json:"fields"`
	// Events are extra event names treated as CRM events (upserted like "Signed
	// Up"), compared like the preset's names, e.g. "Signup". Default none.
	Events []string `mapstructure:"events" yaml:"events" json:"events"`
	// InvalidValues is what happens to a record with a value that cannot be
	// converted to its field's data type (per the Fields metadata): "omit"
	// leaves the field out and delivers the rest (counted in
	// zohosink_mapping_values_omitted_total), "dead_letter" dead-letters the
	// record with INVALID_DATA. Default "omit".
	InvalidValues string `mapstructure:"invalid_values" yaml:"invalid_values" json:"invalid_values"`
}

// FieldMapping maps one event value, or a constant, to one Zoho field.
type FieldMapping struct {
	// From is a path into the event: "traits.X", "properties.X" or
	// "context.traits.X" (X may itself be a dotted path).
	From string `mapstructure:"from" yaml:"from,omitempty" json:"from,omitempty"`
	// Value is a constant written instead of an event value, e.g. "Website"
	// (with to: Lead_Source): a text, number or boolean, or a list of them
	// for a multi-select field ([Red, Green]); see mapping.FieldMapping.Value.
	// Exactly one of From and Value is set.
	Value any `mapstructure:"value" yaml:"value,omitempty" json:"value,omitempty"`
	// To is the Zoho field API name, case-sensitive, e.g. "Plan__c".
	To string `mapstructure:"to" yaml:"to" json:"to"`
}

// Batch configures how records are grouped into upsert calls.
type Batch struct {
	// MaxRecords is the largest number of records in one upsert call, 1..100
	// (Zoho's limit). Default 100.
	MaxRecords int `mapstructure:"max_records" yaml:"max_records" json:"max_records"`
	// Linger is how long a batch may wait for more records after its first one.
	// Default 1s; 0 sends every record at once.
	Linger time.Duration `mapstructure:"linger" yaml:"linger" json:"linger"`
	// MaxBuffered bounds the records held by the batcher (backpressure on
	// fetching beyond it). Default 0, meaning MaxRecords × (MaxInFlight + 2); see
	// Config.EffectiveMaxBuffered. When set, it must be ≥ MaxRecords.
	MaxBuffered int `mapstructure:"max_buffered" yaml:"max_buffered" json:"max_buffered"`
}

// Delivery configures concurrency, retries, the circuit breaker and the
// credit saver.
type Delivery struct {
	// MaxInFlight is the most concurrent upsert calls of this process: the
	// ceiling of the adaptive limit (package delivery, AIMD), which starts
	// at this process's share of it by the group's backlog (so that equal
	// replicas split it exactly) and finds the share of the org's
	// concurrency limit that Zoho allows, cutting on 429s. Default 10, Zoho's limit of heavy calls
	// (upserts of more than 10 records) at once per org in every edition
	// (Zoho CRM "API Limits",
	// https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html): one
	// process alone can use the org's every slot, and replicas sharing it
	// settle below it without configuration. ≥ 1.
	MaxInFlight int `mapstructure:"max_in_flight" yaml:"max_in_flight" json:"max_in_flight"`
	// RetryInitial is the first retry delay after a transient failure; delays
	// grow exponentially with jitter up to RetryMax. Default 500ms; must be > 0.
	RetryInitial time.Duration `mapstructure:"retry_initial" yaml:"retry_initial" json:"retry_initial"`
	// RetryMax caps the retry delay. Default 30s; must be ≥ RetryInitial.
	RetryMax time.Duration `mapstructure:"retry_max" yaml:"retry_max" json:"retry_max"`
	// ThrottleBackoff is the pause after Zoho throttles (HTTP 429, token
	// throttling). Default 30s; must be > 0.
	ThrottleBackoff time.Duration `mapstructure:"throttle_backoff" yaml:"throttle_backoff" json:"throttle_backoff"`
	// BreakerFailures is the number of consecutive transient failures that open
	// the circuit breaker. Default 5; ≥ 1.
	BreakerFailures int `mapstructure:"breaker_failures" yaml:"breaker_failures" json:"breaker_failures"`
	// BreakerOpenTimeout is how long the breaker stays open before a trial call.
	// Default 30s; must be > 0.
	BreakerOpenTimeout time.Duration `mapstructure:"breaker_open_timeout" yaml:"breaker_open_timeout" json:"breaker_open_timeout"`
	// ShutdownGrace is how long the Zoho calls and dead-letter writes under way
	// may finish after SIGINT/SIGTERM, and on partition revocation, before they
	// are cut off (their records stay uncommitted and are delivered again);
	// retry waits end at once. Default 10s, so that the process exits within
	// 15s of SIGTERM (Kubernetes' default terminationGracePeriodSeconds is 30).
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace" yaml:"shutdown_grace" json:"shutdown_grace"`
	// CreditSaver skips the upsert of a record identical to the last one Zoho
	// acknowledged for its dedupe key (the lower-cased email) in this
	// process: it costs credits and changes nothing in Zoho, but runs no
	// workflow either (README, "Credit saver"). Default true; `consumer
	// dlq replay` never skips.
	CreditSaver bool `mapstructure:"credit_saver" yaml:"credit_saver" json:"credit_saver"`
	// CreditSaverKeys is the most keys the credit saver remembers (least
	// recently used forgotten first), 68 bytes each, allocated at start.
	// Default 100000 (6.8 MB); 1..creditsaver.MaxKeys (10,000,000) while
	// delivery.credit_saver is on.
	CreditSaverKeys int `mapstructure:"credit_saver_keys" yaml:"credit_saver_keys" json:"credit_saver_keys"`
	// CreditSaverTTL is how long after Zoho's acknowledgement the credit
	// saver trusts what it remembers for a key: the bound on how long a
	// change another writer made in Zoho (another replica consuming another
	// partition that holds the same person's events, another integration, a
	// CRM user) can be left in place when this process sees the remembered
	// record again. Default 10m; > 0 while delivery.credit_saver is on.
	CreditSaverTTL time.Duration `mapstructure:"credit_saver_ttl" yaml:"credit_saver_ttl" json:"credit_saver_ttl"`
}

// HTTP configures the operational endpoint.
type HTTP struct {
	// Listen is the host:port of /metrics, /healthz and /readyz.
	// Default "127.0.0.1:9464".
	Listen string `mapstructure:"listen" yaml:"listen" json:"listen"`
}

// Log configures zap logging.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `mapstructure:"level" yaml:"level" json:"level"`
	// Format is console or json. Default "console".
	Format string `mapstructure:"format" yaml:"format" json:"format"`
}

// Defaults returns a new Config holding every default. It is zohosink's one
// set of defaults: the pipeline, the batcher and the Zoho client take their
// settings from a Config (package wiring copies them) and have none of their
// own. Its secrets and zoho.client_id are empty, so it does not validate
// until they are set.
func Defaults() *Config {
	return &Config{
		Kafka: Kafka{
			Brokers:        []string{"127.0.0.1:9092"},
			Topics:         []string{"events"},
			Group:          "zohosink",
			DLQTopic:       "events.zoho-dlq",
			ClientID:       "zohosink",
			CommitInterval: time.Second,
			SessionTimeout: 45 * time.Second,
			FetchMaxBytes:  512 << 10,
			StartOffset:    StartEarliest,
		},
		Zoho: Zoho{
			DailyCreditBudget:      0,
			DataCenter:             "us",
			TokenCacheFile:         DefaultTokenCacheFile(),
			Module:                 "Leads",
			RequestTimeout:         30 * time.Second,
			FieldsRefreshInterval:  time.Hour,
			FieldsMinStaleInterval: time.Minute,
		},
		Consent: Consent{Required: []string{"marketing"}},
		Mapping: Mapping{InvalidValues: mapping.InvalidValuesOmit},
		Batch:   Batch{MaxRecords: 100, Linger: time.Second},
		Delivery: Delivery{
			MaxInFlight:        10,
			RetryInitial:       500 * time.Millisecond,
			RetryMax:           30 * time.Second,
			ThrottleBackoff:    30 * time.Second,
			BreakerFailures:    5,
			BreakerOpenTimeout: 30 * time.Second,
			ShutdownGrace:      10 * time.Second,
			CreditSaver:        true,
			CreditSaverKeys:    100_000,
			CreditSaverTTL:     10 * time.Minute,
		},
		HTTP: HTTP{Listen: "127.0.0.1:9464"},
		Log:  Log{Level: "info", Format: "console"},
	}
}

// kafka.start_offset values.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// TokenCacheOff is the zoho.token_cache_file value that turns the token cache
// off from any source (Load turns it into ""), compared case-insensitively.
const TokenCacheOff = "off"

// DefaultTokenCacheFile returns the default zoho.token_cache_file:
// zohosink/zoho-token.json in the user's cache directory (os.UserCacheDir:
// $XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS,
// %LocalAppData% on Windows), or "" (no cache) when there is none ($HOME
// unset). It is computed on each call, from the current environment.
func DefaultTokenCacheFile() string {
	dir, err := os.UserCacheDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "zohosink", "zoho-token.json")
}

// EffectiveMaxBuffered is batch.max_buffered, or MaxRecords × (MaxInFlight + 2)
// when it is 0: enough for every in-flight batch, one filling and one waiting.
func (c *Config) EffectiveMaxBuffered() int {
	if c.Batch.MaxBuffered > 0 {
		return c.Batch.MaxBuffered
	}
	return c.Batch.MaxRecords * (c.Delivery.MaxInFlight + 2)
}

// Credentials are the configured OAuth client and refresh token
// (zoho.client_id, zoho.client_secret, zoho.refresh_token) as the Zoho token
// source takes them; the secrets leave their Secret wrapping only here.
func (c *Config) Credentials() zohoapi.Credentials {
	return zohoapi.Credentials{
		ClientID:     c.Zoho.ClientID,
		ClientSecret: c.Zoho.ClientSecret.Value(),
		RefreshToken: c.Zoho.RefreshToken.Value(),
	}
}
