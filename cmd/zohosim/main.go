// Command zohosim runs the in-memory Zoho CRM simulator (package
// zohoapi/zohosim) as a standalone HTTP server, for local development and
// docker-compose. One listener serves both the accounts host
// (/oauth/v2/token) and the API host (/crm/v8/...). On start it prints the
// Self Client credentials to use (simulator credentials, not secrets; random
// per start unless -client-id, -client-secret and -refresh-token fix them) and
// one fresh grant code, and runs until SIGINT/SIGTERM.
//
// Outside Zoho's paths it serves two debugging endpoints (no token needed):
// GET /zohosim/grant-code answers a new grant code for `consumer zoho token
// exchange --code`, and GET /zohosim/records?module=Leads the stored records
// as JSON.
//
//	zohosim -listen 127.0.0.1:8080 -latency 200ms -max-concurrency 10
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "zohosim:", err)
		os.Exit(2)
	}
}

// run starts the simulator with the flags in args, prints its address and
// credentials to out, and serves until ctx ends.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("zohosim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: zohosim [flags]

An in-memory Zoho CRM simulator: one listener serves the accounts host
(POST /oauth/v2/token) and the API host (/crm/v8/{module}/upsert,
/crm/v8/settings/fields, and /crm/v8/users and /crm/v8/org for Zoho's SDKs,
which need -scope with ZohoCRM.users.READ,ZohoCRM.org.READ). At start it prints the Self Client credentials to put
in the configuration (random per start unless -client-id, -client-secret and
-refresh-token are given) and one fresh grant code.

Debugging endpoints, outside Zoho's paths, no token needed:
%s
For example:
  consumer zoho token exchange --code "$(curl -s http://127.0.0.1:8080/zohosim/grant-code)" -c zohosink.yaml
  curl -s 'http://127.0.0.1:8080/zohosim/records?module=Leads'

Flags:
`, indent(zohosim.DebugEndpoints, "  "))
		fs.PrintDefaults()
	}
	var (
		o            zohosim.Options
		sameEmail    string
		failRate     float64
		failStatus   int
		verbose      bool
		throttleCode int
	)
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "TCP address to listen on")
	fs.StringVar(&o.PublicURL, "public-url", "", "base URL clients use (reported as api_domain); default http://<listen address>")
	fs.DurationVar(&o.Latency, "latency", 0, "delay added to every API call")
	fs.DurationVar(&o.Jitter, "jitter", 0, "random extra delay in [0, jitter) per API call")
	fs.IntVar(&o.MaxConcurrency, "max-concurrency", zohosim.DefaultMaxConcurrency, "concurrent upsert calls before 429 TOO_MANY_REQUESTS (negative: unlimited)")
	fs.IntVar(&o.DailyCredits, "daily-credits", 0, "API credits per rolling 24 h (0: unlimited)")
	fs.DurationVar(&o.TokenLifetime, "token-lifetime", zohosim.DefaultTokenLifetime, "access token lifetime")
	fs.BoolVar(&o.LegacyExpiresIn, "legacy-expires-in", false, "answer expires_in_sec (s) and expires_in (ms), Zoho's legacy token form")
	fs.IntVar(&throttleCode, "token-throttle-status", 200, "HTTP status of the token endpoint's 'Access Denied' throttle answer (200 or 400)")
	fs.StringVar(&sameEmail, "same-email", string(zohosim.SameEmailSequential), "two records with the same Email in one call: sequential (second updates first) or reject (DUPLICATE_DATA)")
	fs.Float64Var(&failRate, "fail-rate", 0, "fraction of upsert calls that fail with -fail-status (0..1)")
	fs.IntVar(&failStatus, "fail-status", 500, "HTTP status of -fail-rate failures")
	fs.BoolVar(&o.StrictPicklists, "strict-picklists", false, "refuse picklist values not in the field's list")
	fs.StringVar(&o.ClientID, "client-id", "", "fixed client id (default: random)")
	fs.StringVar(&o.ClientSecret, "client-secret", "", "fixed client secret (default: random)")
	fs.StringVar(&o.RefreshToken, "refresh-token", "", "fixed refresh token (default: random)")
	fs.StringVar(&o.Scope, "scope", zohosim.DefaultScope, "OAuth scope of the Self Client's tokens, comma-separated; GET /crm/v8/users and /crm/v8/org need ZohoCRM.users.READ and ZohoCRM.org.READ, the fields and layouts metadata ZohoCRM.settings.fields.READ and ZohoCRM.settings.layouts.READ (else 401 OAUTH_SCOPE_MISMATCH)")
	fs.BoolVar(&verbose, "v", false, "log every request (method, path, status)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch zohosim.SameEmailMode(sameEmail) {
	case zohosim.SameEmailSequential, zohosim.SameEmailReject:
		o.SameEmailInCall = zohosim.SameEmailMode(sameEmail)
	default:
		return fmt.Errorf("-same-email %q: want sequential or reject", sameEmail)
	}
	o.TokenThrottleStatus = throttleCode
	if verbose {
		logger := log.New(errOut, "", log.LstdFlags|log.Lmicroseconds)
		o.Logf = logger.Printf
	}

	s, err := zohosim.Start(o)
	if err != nil {
		return err
	}
	defer s.Close()
	if failRate > 0 {
		s.SetFailRate(failRate, failStatus)
	}
	fixed := credentialsNote(o)
	fmt.Fprintf(out, `zohosim listening on %s (accounts and API host)
Configuration (simulator credentials, %s):
  zoho.api_domain:    %s
  zoho.accounts_url:  %s
  zoho.client_id:     %s
  zoho.client_secret: %s
  zoho.refresh_token: %s
Grant code for consumer zoho token exchange --code (single use, valid %s; more: GET %s/zohosim/grant-code):
  %s
Stored records: GET %s/zohosim/records?module=Leads
`, s.URL(), fixed, s.URL(), s.URL(), s.ClientID(), s.ClientSecret(), s.RefreshToken(),
		grantLifetime(o), s.URL(), s.GrantCode(), s.URL())

	<-ctx.Done()
	st := s.Stats()
	fmt.Fprintf(out, "zohosim stopping at %s: %d upsert calls, %d inserts, %d updates, %d record errors, %d credits, %d tokens minted\n",
		time.Now().Format(time.RFC3339), st.UpsertCalls, st.Inserts, st.Updates, st.RecordErrors, st.Credits, st.TokenMints)
	return nil
}

// credentialsNote says which printed credentials are random per start.
func credentialsNote(o zohosim.Options) string {
	var random, flags []string
	for _, c := range []struct{ key, flag, val string }{
		{"client_id", "-client-id", o.ClientID},
		{"client_secret", "-client-secret", o.ClientSecret},
		{"refresh_token", "-refresh-token", o.RefreshToken},
	} {
		if c.val == "" {
			random = append(random, c.key)
			flags = append(flags, c.flag)
		}
	}
	switch len(random) {
	case 0:
		return "fixed by -client-id, -client-secret and -refresh-token"
	case 3:
		return "random on every start unless -client-id, -client-secret and -refresh-token fix them"
	}
	return fmt.Sprintf("%s random on every start unless %s fix them", strings.Join(random, " and "), strings.Join(flags, " and "))
}

// grantLifetime is how long the simulator accepts a grant code.
func grantLifetime(o zohosim.Options) time.Duration {
	if o.GrantCodeLifetime > 0 {
		return o.GrantCodeLifetime
	}
	return zohosim.DefaultGrantCodeLifetime
}

// indent prefixes every line of s with prefix.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
