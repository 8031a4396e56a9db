package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zohosink/zohosink/creditsaver"
	"github.com/zohosink/zohosink/zohoapi"
)

// FieldError is one configuration problem: the key at fault and what is wrong,
// e.g. "zoho.client_secret: is required". It never contains a secret's value.
// Err, when set, is the underlying error (a *zohoapi.DataCenterMismatchError,
// ErrUnknownKey, a decoding error), reachable with errors.Is and errors.As.
type FieldError struct {
	// Key is the configuration key, e.g. "batch.max_records" or
	// "mapping.fields[2].from"; for an unknown environment variable, its name
	// (ZOHOSINK_BATCH_MAXRECORDS).
	Key string
	// From, when set, names where the faulty value came from: an environment
	// variable (ZOHOSINK_BATCH_MAX_RECORDS) or a flag (--batch-max-records).
	// Empty for the file, the defaults and problems of the whole configuration.
	From string
	// Problem is a short human explanation.
	Problem string
	// Err is the underlying error, or nil.
	Err error
}

// Error returns "key: problem", or "key (from SOURCE): problem" when From is set:
// batch.max_records (from ZOHOSINK_BATCH_MAX_RECORDS): "abc" is not a whole number.
func (e *FieldError) Error() string {
	if e.From != "" {
		return e.Key + " (from " + e.From + "): " + e.Problem
	}
	return e.Key + ": " + e.Problem
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors returns every *FieldError in err (as returned by Load or
// Validate), in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

// Upsert trigger values Zoho accepts (zoho-crm-api.md, "Upsert").
var triggerValues = []string{"workflow", "approval", "blueprint", "pathfinder", "orchestration"}

// Log levels and formats accepted by log.level and log.format.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"console", "json"}
)

// Validate checks the whole configuration and returns every problem at once, as
// errors.Join of *FieldError (nil when valid). Messages name keys, never secret
// values. Checked: required kafka keys and a dead-letter topic that is not a
// source topic; kafka.tls and kafka.sasl (validateKafkaSecurity); required OAuth credentials and module;
// credentials (zoho.client_id, zoho.client_secret, zoho.refresh_token,
// kafka.sasl.password) that still hold a placeholder of the shipped examples
// (validatePlaceholders: a *FieldError wrapping ErrPlaceholder); batch.max_records in
// 1..100; positive counts and durations; the data center and hosts (as
// zohoapi.ResolveEndpoints resolves them: a *zohoapi.DataCenterMismatchError is
// wrapped); consent.required and mapping.* as mapping.NewMapper checks them
// (each problem a *FieldError wrapping a *mapping.ConfigError); trigger
// values; http.listen; log level and format.
func (c *Config) Validate() error {
	var p problems

	// kafka
	p.list("kafka.brokers", c.Kafka.Brokers, true)
	for i, b := range c.Kafka.Brokers {
		if _, _, err := net.SplitHostPort(b); b != "" && err != nil {
			p.add(fmt.Sprintf("kafka.brokers[%d]", i), fmt.Sprintf("%q is not host:port", b))
		}
	}
	p.list("kafka.topics", c.Kafka.Topics, true)
	p.required("kafka.group", c.Kafka.Group)
	p.required("kafka.dlq_topic", c.Kafka.DLQTopic)
	if c.Kafka.DLQTopic != "" && slices.Contains(c.Kafka.Topics, c.Kafka.DLQTopic) {
		p.add("kafka.dlq_topic", fmt.Sprintf("%q is also a source topic (kafka.topics): dead letters would be consumed again", c.Kafka.DLQTopic))
	}
	p.required("kafka.client_id", c.Kafka.ClientID)
	p.positive("kafka.commit_interval", c.Kafka.CommitInterval)
	p.positive("kafka.session_timeout", c.Kafka.SessionTimeout)
	if c.Kafka.FetchMaxBytes <= 0 {
		p.add("kafka.fetch_max_bytes", "must be > 0")
	}
	if c.Kafka.MaxMessageBytes < 0 {
		p.add("kafka.max_message_bytes", "must be ≥ 0 (0: sized from the dead-letter topic's max.message.bytes)")
	}
	if c.Kafka.StartOffset != StartEarliest && c.Kafka.StartOffset != StartLatest {
		p.add("kafka.start_offset", fmt.Sprintf("%q is not one of %s, %s", c.Kafka.StartOffset, StartEarliest, StartLatest))
	}
	c.validateKafkaSecurity(&p)

	// zoho
	c.validateHosts(&p)
	p.required("zoho.module", c.Zoho.Module)
	p.required("zoho.client_id", c.Zoho.ClientID)
	p.required("zoho.client_secret", c.Zoho.ClientSecret.Value())
	p.required("zoho.refresh_token", c.Zoho.RefreshToken.Value())
	c.validatePlaceholders(&p)
	p.list("zoho.duplicate_check_fields", c.Zoho.DuplicateCheckFields, false)
	for i, t := range c.Zoho.Trigger {
		if !slices.Contains(triggerValues, t) {
			p.add(fmt.Sprintf("zoho.trigger[%d]", i), fmt.Sprintf("%q is not one of %s", t, strings.Join(triggerValues, ", ")))
		}
	}
	p.positive("zoho.request_timeout", c.Zoho.RequestTimeout)
	if c.Zoho.DailyCreditBudget < 0 {
		p.add("zoho.daily_credit_budget", fmt.Sprintf("%d must be ≥ 0 (0: no local budget)", c.Zoho.DailyCreditBudget))
	}
	p.positive("zoho.fields_refresh_interval", c.Zoho.FieldsRefreshInterval)
	p.nonNegative("zoho.fields_min_stale_interval", c.Zoho.FieldsMinStaleInterval)

	// consent, mapping
	c.validateMapping(&p)

	// batch, delivery
	if c.Batch.MaxRecords < 1 || c.Batch.MaxRecords > 100 {
		p.add("batch.max_records", fmt.Sprintf("%d is outside 1..100 (Zoho upserts at most 100 records per call)", c.Batch.MaxRecords))
	}
	p.nonNegative("batch.linger", c.Batch.Linger)
	if c.Batch.MaxBuffered < 0 {
		p.add("batch.max_buffered", "must be ≥ 0 (0: batch.max_records × (delivery.max_in_flight + 2))")
	} else if c.Batch.MaxBuffered > 0 && c.Batch.MaxBuffered < c.Batch.MaxRecords {
		p.add("batch.max_buffered", fmt.Sprintf("%d is below batch.max_records (%d): a full batch could never form", c.Batch.MaxBuffered, c.Batch.MaxRecords))
	}
	if c.Delivery.MaxInFlight < 1 {
		p.add("delivery.max_in_flight", "must be ≥ 1")
	}
	p.positive("delivery.retry_initial", c.Delivery.RetryInitial)
	p.positive("delivery.retry_max", c.Delivery.RetryMax)
	if c.Delivery.RetryMax > 0 && c.Delivery.RetryInitial > c.Delivery.RetryMax {
		p.add("delivery.retry_max", fmt.Sprintf("%s is below delivery.retry_initial (%s)", c.Delivery.RetryMax, c.Delivery.RetryInitial))
	}
	p.positive("delivery.throttle_backoff", c.Delivery.ThrottleBackoff)
	if c.Delivery.BreakerFailures < 1 {
		p.add("delivery.breaker_failures", "must be ≥ 1")
	}
	p.positive("delivery.breaker_open_timeout", c.Delivery.BreakerOpenTimeout)
	p.nonNegative("delivery.shutdown_grace", c.Delivery.ShutdownGrace)
	if k := c.Delivery.CreditSaverKeys; c.Delivery.CreditSaver && (k < 1 || k > creditsaver.MaxKeys) {
		p.add("delivery.credit_saver_keys", fmt.Sprintf("%d is not in 1..%d while delivery.credit_saver is on (68 bytes a key, allocated at start; turn the saver off with delivery.credit_saver: false)", k, creditsaver.MaxKeys))
	}
	if c.Delivery.CreditSaver && c.Delivery.CreditSaverTTL <= 0 {
		p.add("delivery.credit_saver_ttl", "must be > 0 while delivery.credit_saver is on (turn the saver off with delivery.credit_saver: false)")
	}

	// http, log
	if problem := listenProblem(c.HTTP.Listen); problem != "" {
		p.add("http.listen", problem)
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		p.add("log.level", fmt.Sprintf("%q is not one of %s", c.Log.Level, strings.Join(logLevels, ", ")))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		p.add("log.format", fmt.Sprintf("%q is not one of %s", c.Log.Format, strings.Join(logFormats, ", ")))
	}
	return p.err()
}

// listenProblem says what is wrong with a TCP listen address, "" when
// nothing: it must be host:port (the host may be empty: every interface)
// with a port net.Listen takes, a number in 0..65535 (0: any free port) or a
// service name.
func listenProblem(addr string) string {
	if addr == "" {
		return "is required (host:port)"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Sprintf("%q: port %q is not a port number in 0..65535", addr, port)
	}
	return ""
}

// validateHosts checks zoho.data_center, zoho.api_domain and zoho.accounts_url
// the way zohoapi.ResolveEndpoints will use them.
func (c *Config) validateHosts(p *problems) {
	z := c.Zoho
	ok := true
	if strings.TrimSpace(z.DataCenter) != "" {
		if _, known := zohoapi.DataCenterByCode(z.DataCenter); !known {
			p.add("zoho.data_center", fmt.Sprintf("unknown data center %q (want one of us, eu, in, au, jp, ca, sa, cn)", z.DataCenter))
			ok = false
		}
	} else if strings.TrimSpace(z.APIDomain) == "" || strings.TrimSpace(z.AccountsURL) == "" {
		p.add("zoho.data_center", "is required unless both zoho.api_domain and zoho.accounts_url are set")
		ok = false
	}
	for _, h := range []struct{ key, val string }{{"zoho.api_domain", z.APIDomain}, {"zoho.accounts_url", z.AccountsURL}} {
		if problem := hostProblem(h.val); problem != "" {
			p.add(h.key, problem)
			ok = false
		}
	}
	if !ok {
		return
	}
	_, err := zohoapi.ResolveEndpoints(z.DataCenter, z.APIDomain, z.AccountsURL)
	if err == nil {
		return
	}
	key := "zoho.accounts_url"
	var mismatch *zohoapi.DataCenterMismatchError
	if errors.As(err, &mismatch) && strings.TrimSpace(z.APIDomain) != "" && strings.TrimSpace(z.DataCenter) != "" {
		// Blame the API domain when it is explicit and contradicts the data
		// center; otherwise the accounts URL is the odd one out.
		apiDC, apiIsZoho := zohoapi.DataCenterOfHost(z.APIDomain)
		want, _ := zohoapi.DataCenterByCode(z.DataCenter)
		if apiIsZoho && apiDC.Code != want.Code {
			key = "zoho.api_domain"
		}
	}
	*p = append(*p, &FieldError{Key: key, Problem: err.Error(), Err: err})
}

// hostProblem checks a host or http(s) base URL as zohoapi accepts it; "" is fine.
func hostProblem(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "https://" + s
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Sprintf("%q is not a host or URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q: scheme must be http or https", s)
	case strings.Trim(u.Path, "/") != "":
		return fmt.Sprintf("%q: give a host, not a path", s)
	}
	return ""
}

// Endpoints resolves the Zoho base URLs from zoho.data_center, zoho.api_domain
// and zoho.accounts_url (zohoapi.ResolveEndpoints).
func (c *Config) Endpoints() (zohoapi.Endpoints, error) {
	return zohoapi.ResolveEndpoints(c.Zoho.DataCenter, c.Zoho.APIDomain, c.Zoho.AccountsURL)
}

// problems collects *FieldError values.
type problems []error

func (p *problems) add(key, problem string) {
	*p = append(*p, &FieldError{Key: key, Problem: problem})
}

func (p *problems) required(key, v string) {
	if strings.TrimSpace(v) == "" {
		p.add(key, "is required")
	}
}

// list reports an empty list (when required) and empty items.
func (p *problems) list(key string, v []string, required bool) {
	if required && len(v) == 0 {
		p.add(key, "is required (at least one)")
	}
	for i, s := range v {
		if strings.TrimSpace(s) == "" {
			p.add(fmt.Sprintf("%s[%d]", key, i), "is empty")
		}
	}
}

func (p *problems) positive(key string, d time.Duration) {
	if d <= 0 {
		p.add(key, fmt.Sprintf("%s must be > 0", d))
	}
}

func (p *problems) nonNegative(key string, d time.Duration) {
	if d < 0 {
		p.add(key, fmt.Sprintf("%s is negative", d))
	}
}

func (p problems) err() error { return errors.Join(p...) }
