package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
)

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or print the effective configuration",
		Long: `The configuration comes from the YAML file (--config), ZOHOSINK_* environment
variables (ZOHOSINK_ + the key upper-cased, "." → "_", e.g.
ZOHOSINK_ZOHO_CLIENT_SECRET) and defaults: the environment wins over the
file, the file over the defaults. An empty variable counts as unset; a
ZOHOSINK_* variable that is not a key's (a typo) is reported as a problem,
like an unknown key in the file.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newConfigValidateCommand(), newConfigPrintCommand())
	return cmd
}

func newConfigPrintCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration with each value's source; secrets redacted",
		Long: `Print writes the effective configuration as YAML, every key with a comment
naming where its value came from: "file", "env ZOHOSINK_…" or "default".
Values that do not say what they mean carry a note after the source (an
empty zoho.token_cache_file, batch.max_buffered: 0 and its effective value).
Secrets (zoho.client_secret, zoho.refresh_token) print as [redacted]. An
invalid configuration is printed as far as it could be loaded, with a note on
stderr; "consumer config validate" lists the problems.`,
		Example: `  consumer config print --config zohosink.yaml
  ZOHOSINK_BATCH_LINGER=250ms consumer config print -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("config")
			cfg, err := config.Load(path, cmd.Flags())
			if cfg == nil {
				return err
			}
			if perr := config.Print(cmd.OutOrStdout(), cfg); perr != nil {
				return perr
			}
			if n := len(config.FieldErrors(err)); n > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "# the configuration has %d problem(s): run `consumer config validate` to list them\n", n)
			}
			return nil
		},
	}
}

func newConfigValidateCommand() *cobra.Command {
	var online bool
	cmd := &cobra.Command{
		Use:   "validate [--online]",
		Short: "List every configuration problem at once; --online also checks Zoho and Kafka",
		Long: `Validate loads the configuration and lists every problem at once, one per line,
with its key (batch.max_records, zoho.api_domain, mapping.fields[0].to …). It
exits 1 when there is a problem, 0 otherwise.

With --online it also prints a checklist of what a deploy needs, OK or not:
  - Zoho token: refreshes an access token with zoho.refresh_token (one token
    mint; Zoho allows 10 per 10 minutes; a cached token is not reused, so the
    refresh token itself is proven, but the new token is stored in
    zoho.token_cache_file, so the next consumer run reuses it instead of
    minting another), explains a data-center mismatch, a wrong
    client ID or secret and a revoked refresh token in plain words, and warns
    when the token's api_domain is not the API host zohosink calls;
  - Zoho fields: reads zoho.module's field metadata and checks that every field
    zohosink writes (the Lead Capture preset's Email, First_Name, Last_Name,
    Phone, Company, Lead_Source, Description and the targets of
    mapping.fields) exists, is writable and takes text, and that the module's
    system-mandatory fields are mapped;
  - Kafka: connects as every command does (kafka.brokers, kafka.tls.*,
    kafka.sasl.*) and tells apart a broker that cannot be reached, a failed
    TLS handshake (unknown certificate authority, name mismatch, client
    certificate refused, not a TLS listener), failed SASL authentication and
    a client an ACL denies a topic or the group; then checks that the source
    topics and the dead-letter topic exist, that the broker lets zohosink
    read and write them, that it may use kafka.group, and that the
    dead-letter topic accepts records as large as every source topic does
    (max.message.bytes; a kafka.max_message_bytes below that is a warning).
The last line is the verdict: every check passed, or how many failed.`,
		Example: `  consumer config validate --config zohosink.yaml
  consumer config validate --online -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("config")
			cfg, err := config.Load(path, cmd.Flags())
			if cfg == nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err != nil {
				problems := config.FieldErrors(err)
				if len(problems) == 0 {
					return err
				}
				fmt.Fprintf(out, "The configuration has %d problem(s):\n", len(problems))
				for _, p := range problems {
					fmt.Fprintf(out, "  ✗ %s\n", p)
				}
				if online {
					fmt.Fprintln(out, "Online checks skipped: fix the problems above first.")
				}
				return exitCode(1)
			}
			if !online {
				fmt.Fprintln(out, "✓ The configuration is valid.")
				for _, w := range cfg.Kafka.SecurityWarnings() {
					fmt.Fprintf(out, "  ! %s\n", w)
				}
				return nil
			}
			// The verdict on the whole comes last, after the online checks.
			fmt.Fprintln(out, "✓ The configuration is valid (offline checks).")
			ctx, cancel := context.WithTimeout(cmd.Context(), adminTimeout)
			defer cancel()
			cl := &checklist{out: out}
			checkZohoOnline(ctx, cl, cfg)
			checkKafkaOnline(ctx, cl, cfg)
			fmt.Fprintln(out)
			if cl.failed > 0 {
				fmt.Fprintf(out, "✗ %d online check(s) failed, %d warning(s): not ready to deploy.\n", cl.failed, cl.warned)
				return exitCode(1)
			}
			fmt.Fprintf(out, "✓ All checks passed (%d warning(s)).\n", cl.warned)
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also check Zoho (token, field metadata) and Kafka (topics)")
	return cmd
}

// checklist prints check results: ✓ passed, ✗ failed, ! warning.
type checklist struct {
	out            io.Writer
	failed, warned int
}

func (c *checklist) section(format string, args ...any) {
	fmt.Fprintf(c.out, "\n"+format+"\n", args...)
}

func (c *checklist) ok(format string, args ...any) {
	fmt.Fprintf(c.out, "  ✓ "+format+"\n", args...)
}

func (c *checklist) fail(format string, args ...any) {
	c.failed++
	fmt.Fprintf(c.out, "  ✗ "+format+"\n", args...)
}

func (c *checklist) warn(format string, args ...any) {
	c.warned++
	fmt.Fprintf(c.out, "  ! "+format+"\n", args...)
}

// checkZohoOnline refreshes a token and checks the module's fields.
func checkZohoOnline(ctx context.Context, cl *checklist, cfg *config.Config) {
	eps, err := cfg.Endpoints()
	if err != nil { // Validate already checked this
		cl.fail("zoho hosts: %v", err)
		return
	}
	where := "data center " + cfg.Zoho.DataCenter
	if cfg.Zoho.APIDomain != "" || cfg.Zoho.AccountsURL != "" {
		where = "explicit hosts"
	}
	cl.section("Zoho (%s: accounts %s, API %s)", where, eps.Accounts, eps.API)
	rec := &apiDomainRecorder{next: http.DefaultTransport}
	hc := &http.Client{Timeout: cfg.Zoho.RequestTimeout, Transport: rec}
	tokens := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoCredentials(cfg),
		HTTPClient:  hc,
		CacheFile:   cfg.Zoho.TokenCacheFile,
		Logger:      zap.NewNop(),
	})
	// Refresh, not Token: a cached access token would not prove that the
	// refresh token still works. The new token goes to the cache, where the
	// next `consumer run` finds it instead of minting one more.
	if _, err := tokens.Refresh(ctx); err != nil {
		cl.fail("access token: %s", tokenProblem(err, cfg, eps))
		cl.section("Zoho fields of module %s", cfg.Zoho.Module)
		cl.fail("not checked: no access token")
		return
	}
	const refreshed = "access token refreshed with zoho.client_id, zoho.client_secret and zoho.refresh_token"
	// zohoapi refuses a token for another Zoho data center (tokenProblem
	// explains it) but lets other hosts differ: a proxy or a sandbox may be
	// reached under another name than the one its accounts server reports.
	switch tokenAPI := rec.get(); {
	case tokenAPI == "":
		cl.ok("%s (the token response names no api_domain)", refreshed)
	case zohoapi.SameAPIHost(tokenAPI, eps.API):
		cl.ok("%s; the token's api_domain matches %s", refreshed, eps.API)
	default:
		cl.ok("%s", refreshed)
		cl.warn("the token's api_domain is %s but zohosink calls %s (zoho.api_domain): unless %s reaches the same server (a proxy), set zoho.api_domain: %s", tokenAPI, eps.API, eps.API, tokenAPI)
	}

	client := zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: tokens, HTTPClient: hc, Timeout: cfg.Zoho.RequestTimeout})
	cl.section("Zoho fields of module %s", cfg.Zoho.Module)
	fields, err := client.Fields(ctx, cfg.Zoho.Module)
	if err != nil {
		cl.fail("field metadata: %s", fieldsProblem(err, cfg))
		return
	}
	checkFields(cl, cfg, fields)
}

// apiDomainRecorder is an http.RoundTripper that remembers the api_domain of
// the last token response (POST …/oauth/v2/token) passing through, for
// checkZohoOnline to compare with the configured API host. It reads only that
// member; the body is handed on unchanged.
type apiDomainRecorder struct {
	next      http.RoundTripper
	mu        sync.Mutex
	apiDomain string
}

// RoundTrip implements http.RoundTripper.
func (r *apiDomainRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth/v2/token") {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var tr struct {
		APIDomain string `json:"api_domain"`
	}
	if json.Unmarshal(body, &tr) == nil && tr.APIDomain != "" {
		r.mu.Lock()
		r.apiDomain = tr.APIDomain
		r.mu.Unlock()
	}
	return resp, nil
}

// get returns the api_domain of the last token response, or "".
func (r *apiDomainRecorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.apiDomain
}

// tokenProblem explains a token refresh failure in plain words.
func tokenProblem(err error, cfg *config.Config, eps zohoapi.Endpoints) string {
	var dc *zohoapi.DataCenterMismatchError
	var te *zohoapi.TokenError
	var ae *zohoapi.APIError
	var wait *zohoapi.MintWaitError
	switch {
	case errors.As(err, &wait):
		return fmt.Sprintf("not asked: %d access tokens were minted for this refresh token in the last %v (recorded in zoho.token_cache_file %s), and one more would get it locked out by Zoho; retry after %s",
			wait.Budget, wait.Window, cfg.Zoho.TokenCacheFile, wait.Until.Format(time.RFC3339))
	case errors.As(err, &dc):
		hint := "set zoho.data_center to the data center your Zoho account lives in and remove zoho.api_domain / zoho.accounts_url"
		if other, ok := zohoapi.DataCenterOfHost(dc.HostB); ok {
			hint = fmt.Sprintf("Zoho says your account lives in data center %q (%s): set zoho.data_center: %s and remove zoho.api_domain / zoho.accounts_url", other.Code, other.APIHost, other.Code)
		}
		return fmt.Sprintf("data-center mismatch: the token was issued for API host %q but zohosink is configured to call %q. %s", dc.HostB, dc.HostA, hint)
	case errors.As(err, &te):
		switch {
		case te.Throttled:
			return "Zoho throttles token refreshes for this refresh token (at most 10 access tokens per 10 minutes): wait a few minutes and retry; keep zoho.token_cache_file on (the default; not \"\" or off) and its folder writable, so that restarts and commands reuse one token"
		case te.Code == "invalid_client":
			return fmt.Sprintf("zoho.client_id is not known at %s (Zoho error invalid_client): the client ID is wrong, or the client was created in another data center than zoho.data_center %q", eps.Accounts, cfg.Zoho.DataCenter)
		case te.Code == "invalid_client_secret":
			return "zoho.client_secret is wrong (Zoho error invalid_client_secret): it does not belong to zoho.client_id; copy it again from the Zoho API console (Self Client → Client Secret)"
		case te.Code == "invalid_code":
			return "zoho.refresh_token is invalid or revoked (Zoho error invalid_code): it was revoked, belongs to another client or data center, or was mistyped; generate a grant code in the Zoho API console (Self Client → Generate Code, scope ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ) and run `consumer zoho token exchange --code …`"
		}
		return te.Error()
	case errors.As(err, &ae):
		return fmt.Sprintf("the accounts server %s answered HTTP %d: %v", eps.Accounts, ae.StatusCode, ae)
	}
	return fmt.Sprintf("cannot reach the accounts server %s: %v", eps.Accounts, err)
}

// fieldsProblem explains a failed field-metadata call in plain words.
func fieldsProblem(err error, cfg *config.Config) string {
	var ae *zohoapi.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "INVALID_MODULE":
			return fmt.Sprintf("zoho.module %q is not a module of this Zoho account (module API names are case-sensitive: Leads, Contacts, …)", cfg.Zoho.Module)
		case "OAUTH_SCOPE_MISMATCH":
			return "the refresh token's scope does not allow this call (OAUTH_SCOPE_MISMATCH): generate a new grant code with scope ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ and run `consumer zoho token exchange --code …`"
		}
	}
	return err.Error()
}

// checkFields checks every field zohosink writes against the module's metadata.
func checkFields(cl *checklist, cfg *config.Config, fields []zohoapi.Field) {
	byName := make(map[string]zohoapi.Field, len(fields))
	for _, f := range fields {
		byName[f.APIName] = f
	}
	mapped := map[string]string{} // field → where its value comes from
	check := func(key, api, from string, preset bool) {
		f, ok := byName[api]
		switch {
		case !ok:
			msg := fmt.Sprintf("%s: %q is not a field of %s", key, api, cfg.Zoho.Module)
			if s := closestField(api, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			if preset {
				// The preset writes it whenever the event has the value;
				// Zoho then rejects the record (INVALID_DATA).
				cl.warn("%s: records carrying %s will be rejected", msg, from)
				return
			}
			cl.fail("%s", msg)
		case f.ReadOnly:
			cl.fail("%s: %q is read-only in %s: Zoho will not take the values of %s", key, api, cfg.Zoho.Module, from)
		case !slices.Contains(mapping.WritableDataTypes(!preset), f.DataType):
			cl.fail("%s: %q is of type %s, which zohosink does not write: map %s to a field of type %s", key, api, f.DataType, from, strings.Join(mapping.WritableDataTypes(!preset), ", "))
		default:
			cl.ok("%s ← %s (%s, length %d)", api, from, f.DataType, f.Length)
		}
		if ok {
			mapped[api] = from
		}
	}
	for _, p := range mapping.PresetFields() {
		check("preset", p.APIName, p.From, true)
	}
	for i, m := range cfg.Mapping.Fields {
		check(fmt.Sprintf("mapping.fields[%d].to", i), m.To, m.From, false)
	}
	for _, f := range fields {
		if !f.SystemMandatory {
			continue
		}
		if from, ok := mapped[f.APIName]; ok {
			cl.ok("%s is system-mandatory in %s and mapped from %s (events without it can only update existing records)", f.APIName, cfg.Zoho.Module, from)
		} else {
			cl.fail("%s is system-mandatory in %s but nothing maps to it: every insert will be rejected with MANDATORY_NOT_FOUND; add a mapping.fields entry with to: %s", f.APIName, cfg.Zoho.Module, f.APIName)
		}
	}
}

// closestField suggests the field name nearest to name: equal ignoring case
// and "_", or within edit distance 2.
func closestField(name string, fields []zohoapi.Field) string {
	fold := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	best, bestDist := "", 3
	for _, f := range fields {
		if fold(f.APIName) == fold(name) {
			return f.APIName
		}
		if d := config.EditDistance(strings.ToLower(name), strings.ToLower(f.APIName)); d < bestDist {
			best, bestDist = f.APIName, d
		}
	}
	return best
}

// checkKafkaOnline checks that the source topics and the dead-letter topic
// exist and that the broker grants reading and writing them.
func checkKafkaOnline(ctx context.Context, cl *checklist, cfg *config.Config) {
	cl.section("Kafka (brokers %s, group %s)", strings.Join(cfg.Kafka.Brokers, ", "), cfg.Kafka.Group)
	if !checkKafkaConnection(ctx, cl, cfg) {
		return
	}
	adm, closeAdm, err := newKafkaAdmin(cfg)
	if err != nil {
		cl.fail("kafka.brokers: %v", err)
		return
	}
	defer closeAdm()
	names := append(slices.Clone(cfg.Kafka.Topics), cfg.Kafka.DLQTopic)
	topics, err := listTopicsAuthorized(ctx, adm, names)
	if err != nil {
		cl.fail("kafka.brokers: cannot list topics: %v", err)
		return
	}
	for i, name := range cfg.Kafka.Topics {
		key := fmt.Sprintf("kafka.topics[%d]", i)
		td, ok := topics[name]
		switch {
		case ok && errors.Is(td.Err, kerr.TopicAuthorizationFailed):
			cl.fail("%s: topic %q: not authorized: an ACL denies this client the topic (it needs DESCRIBE and READ)", key, name)
		case !ok || td.Err != nil:
			cl.fail("%s: topic %q does not exist (or is not visible to this client)", key, name)
		case !allowed(td, kadm.OpRead):
			cl.fail("%s: topic %q: the broker does not let this client read it (ACL READ)", key, name)
		default:
			cl.ok("%s: topic %q exists (%s) and is readable", key, name, partitionsLabel(len(td.Partitions)))
		}
	}
	td, ok := topics[cfg.Kafka.DLQTopic]
	switch {
	case ok && errors.Is(td.Err, kerr.TopicAuthorizationFailed):
		cl.fail("kafka.dlq_topic: topic %q: not authorized: an ACL denies this client the topic (it needs DESCRIBE and WRITE)", cfg.Kafka.DLQTopic)
	case !ok || td.Err != nil:
		cl.warn("kafka.dlq_topic: topic %q does not exist: `consumer run` creates it with the broker's defaults and a max.message.bytes above the largest source topic's (needs CREATE permission); create it yourself to choose partitions and retention", cfg.Kafka.DLQTopic)
	case !allowed(td, kadm.OpWrite):
		cl.fail("kafka.dlq_topic: topic %q: the broker does not let this client write it (ACL WRITE)", cfg.Kafka.DLQTopic)
	default:
		cl.ok("kafka.dlq_topic: topic %q exists (%s) and is writable", cfg.Kafka.DLQTopic, partitionsLabel(len(td.Partitions)))
	}
	checkGroupAccess(ctx, cl, adm, cfg)
	checkRecordSizes(ctx, cl, cfg, adm)
}

// checkRecordSizes compares the topics' max.message.bytes as `consumer run`
// does at start (pipeline.DescribeTopics): a dead-letter topic smaller than a
// source topic fails, a kafka.max_message_bytes below a source topic's warns.
func checkRecordSizes(ctx context.Context, cl *checklist, cfg *config.Config, adm *kadm.Client) {
	lim, err := pipeline.DescribeTopics(ctx, adm, cfg.Kafka.Topics, cfg.Kafka.DLQTopic)
	if err != nil {
		cl.warn("kafka: cannot read the topics' max.message.bytes (ACL DESCRIBE_CONFIGS): %v", err)
		return
	}
	tooSmall := lim.DLQTooSmall()
	for _, e := range tooSmall {
		cl.fail("kafka.dlq_topic: %v", e)
	}
	if msg := lim.SettingTooSmall(cfg.Kafka.MaxMessageBytes); msg != "" {
		cl.warn("%s", msg)
	}
	if topic, largest := lim.LargestSource(); len(tooSmall) == 0 && !lim.DLQMissing && largest > 0 {
		cl.ok("kafka.dlq_topic: max.message.bytes %d, at least the largest source topic's (%d, %q); dead letters are written in batches of up to %d bytes",
			lim.MaxMessageBytes[cfg.Kafka.DLQTopic], largest, topic, lim.ProducerLimit(cfg.Kafka.MaxMessageBytes))
	}
}

// allowed reports whether the topic's authorized operations include op; a
// broker that does not report them (no authorizer) allows it.
func allowed(td kadm.TopicDetail, op kadm.ACLOperation) bool {
	if len(td.AuthorizedOperations) == 0 {
		return true
	}
	return slices.Contains(td.AuthorizedOperations, op) || slices.Contains(td.AuthorizedOperations, kadm.OpAll)
}
