// Command zohosim runs the in-memory Zoho CRM simulator (package
// zohoapi/zohosim) as a standalone HTTP server, for local development and
// docker-compose. One listener serves both the accounts host
// (/oauth/v2/token) and the API host (/crm/v8/...). On start it prints the
// Self Client credentials to use (these are simulator credentials, not
// secrets) and runs until SIGINT/SIGTERM.
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
	fmt.Fprintf(out, `zohosim listening on %s (accounts and API host)
  zoho.api_domain:    %s
  zoho.accounts_url:  %s
  zoho.client_id:     %s
  zoho.client_secret: %s
  zoho.refresh_token: %s
`, s.URL(), s.URL(), s.URL(), s.ClientID(), s.ClientSecret(), s.RefreshToken())

	<-ctx.Done()
	st := s.Stats()
	fmt.Fprintf(out, "zohosim stopping at %s: %d upsert calls, %d inserts, %d updates, %d record errors, %d credits, %d tokens minted\n",
		time.Now().Format(time.RFC3339), st.UpsertCalls, st.Inserts, st.Updates, st.RecordErrors, st.Credits, st.TokenMints)
	return nil
}
