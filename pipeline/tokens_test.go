package pipeline_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestOdd401IsAnOutageNotAStop: 401s whose body is not Zoho's JSON (a proxy's
// HTML page) refresh the token once; persisting with the fresh token they are
// retried as an outage (the breaker opens, readiness says so), never a
// configuration stop; when they end, everything is delivered and committed.
func TestOdd401IsAnOutageNotAStop(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.sim.FailNext(1000, http.StatusUnauthorized)
	h.produce(leads("odd401", 5)...)
	o := h.options()
	o.BreakerFailures = 2
	r := h.start(o)
	h.eventually(20*time.Second, "the breaker opens on the persisting 401s", func() bool {
		return pausedBy(r.p, delivery.PauseBreakerOpen)
	})
	if err := r.p.Ready(); notReady(err) == pipeline.NotReadyConfig {
		t.Fatalf("an HTML 401 stopped delivery: %v", err)
	}
	if got := h.sim.Stats().TokenMints; got > 2 {
		t.Errorf("%d token mints during the 401s, want at most 2 (one early mint, no loop)", got)
	}
	h.sim.FailNext(0, 0)
	h.waitCommitted(30 * time.Second)
	if err := r.shutdown(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if s := r.p.Stats(); s.Delivered != 5 || s.DeadLetteredTotal() != 0 {
		t.Fatalf("delivered %d, dead-lettered %v; want 5 and none", s.Delivered, s.DeadLettered)
	}
}

// TestUnusableAnswersNeverAcknowledge: answers without a result for every
// record (200 with empty data[], 200 with fewer results than records, 204
// without a body, 503 with an HTML page, and 400/403/404 with a body that is not
// Zoho's JSON) acknowledge nothing: nothing is
// committed or counted delivered while they last, nothing is dead-lettered,
// and every record arrives once Zoho answers properly.
func TestUnusableAnswersNeverAcknowledge(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
	}{
		{"200 empty data", `{"data":[]}`, 200},
		{"200 fewer results", `{"data":[{"code":"SUCCESS","action":"insert","details":{"id":"1"},"message":"record added","status":"success"}]}`, 200},
		{"204 no body", ``, 204},
		{"503 HTML", `<html><body><h1>503 Service Unavailable</h1></body></html>`, 503},
		// 4xx without Zoho's JSON: a proxy's page says nothing about the
		// records or the configuration (no split, no dead letter, no stop).
		{"400 HTML", `<html><body><h1>400 Bad Request</h1></body></html>`, 400},
		{"403 HTML", `<html><body><h1>403 Forbidden</h1></body></html>`, 403},
		{"404 HTML", `<html><body><h1>404 Not Found</h1></body></html>`, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1, zohosim.Options{})
			// A proxy in front of the simulator's API answers tt while odd is set.
			var odd atomic.Bool
			var oddCalls atomic.Int64
			odd.Store(true)
			simURL, _ := url.Parse(h.sim.URL())
			fwd := httputil.NewSingleHostReverseProxy(simURL)
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if odd.Load() && strings.HasSuffix(r.URL.Path, "/upsert") {
					oddCalls.Add(1)
					_, _ = io.Copy(io.Discard, r.Body)
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body)
					return
				}
				fwd.ServeHTTP(w, r)
			}))
			t.Cleanup(proxy.Close)
			eps := zohoapi.Endpoints{API: proxy.URL, Accounts: h.sim.URL()}
			ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps,
				Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: h.sim.ClientSecret(), RefreshToken: h.sim.RefreshToken()}})
			o := h.options()
			o.Zoho = zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
			o.Batch.Linger = 300 * time.Millisecond // the three leads in one call
			h.produce(leads("unusable", 3)...)
			r := h.start(o)
			h.eventually(20*time.Second, "several unusable answers", func() bool { return oddCalls.Load() >= 3 })
			if c := h.committed(); c[0] != 0 {
				t.Fatalf("committed %d on unusable answers", c[0])
			}
			if s := r.p.Stats(); s.Delivered != 0 || s.DeadLetteredTotal() != 0 {
				t.Fatalf("delivered %d, dead-lettered %v on unusable answers; want neither", s.Delivered, s.DeadLettered)
			}
			odd.Store(false)
			h.waitCommitted(30 * time.Second)
			r.shutdown()
			if s := r.p.Stats(); s.Delivered != 3 || s.DeadLetteredTotal() != 0 || len(h.sim.Records("Leads")) != 3 {
				t.Fatalf("delivered %d, dead-lettered %v, leads %d; want 3, none, 3", s.Delivered, s.DeadLettered, len(h.sim.Records("Leads")))
			}
		})
	}
}

// TestTokenMintBudgetPausesFetching: with short-lived tokens and the mint
// budget spent, delivery waits for the budget instead of asking Zoho (which
// would lock the refresh token out): readiness names the reason, Zoho never
// throttles, nothing is dead-lettered or committed past what was delivered.
func TestTokenMintBudgetPausesFetching(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{TokenLifetime: time.Second})
	eps := zohoapi.Endpoints{API: h.sim.URL(), Accounts: h.sim.URL()}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps, MintBudget: 2,
		Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: h.sim.ClientSecret(), RefreshToken: h.sim.RefreshToken()}})
	o := h.options()
	o.Zoho = zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
	r := h.start(o)
	for i := range 2 { // each lead needs a new token: the last one expired
		h.produce(leads("budget"+string(rune('a'+i)), 1)...)
		h.waitCommitted(30 * time.Second)
		time.Sleep(1100 * time.Millisecond) // let the one-second token expire
	}
	h.produce(leads("budgetc", 1)...)
	h.eventually(20*time.Second, "readiness names the spent mint budget", func() bool {
		return pausedBy(r.p, delivery.PauseTokenBudget)
	})
	st := h.sim.Stats()
	if st.TokenMints != 2 || st.TokenThrottled != 0 {
		t.Errorf("Zoho minted %d tokens and throttled %d requests; want 2 and none", st.TokenMints, st.TokenThrottled)
	}
	if c, ends := h.committed(), h.endOffsets(); c[0] != ends[0]-1 {
		t.Errorf("committed %d of %d: want all but the waiting record", c[0], ends[0])
	}
	r.shutdown()
	if s := r.p.Stats(); s.Delivered != 2 || s.DeadLetteredTotal() != 0 {
		t.Errorf("delivered %d, dead-lettered %v; want 2 and none", s.Delivered, s.DeadLettered)
	}
}

// TestWrongCredentialsFailReadinessAtStart: with a wrong client secret and no
// event to deliver, the pipeline is not ready with a configuration error as
// soon as it starts (one token request at start), instead of reporting ready
// until the first lead arrives; correct credentials leave it ready.
func TestWrongCredentialsFailReadinessAtStart(t *testing.T) {
	for _, tt := range []struct {
		name   string
		secret func(h *harness) string
		ready  bool
	}{
		{"wrong secret", func(*harness) string { return "wrong-secret" }, false},
		{"right secret", func(h *harness) string { return h.sim.ClientSecret() }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1, zohosim.Options{})
			eps := zohoapi.Endpoints{API: h.sim.URL(), Accounts: h.sim.URL()}
			ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps,
				Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: tt.secret(h), RefreshToken: h.sim.RefreshToken()}})
			o := h.options()
			o.Zoho = zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
			o.Credentials = ts
			r := h.start(o)
			var nr *pipeline.NotReadyError
			h.eventually(20*time.Second, "a readiness verdict", func() bool {
				err := r.p.Ready()
				return err == nil || (errors.As(err, &nr) && nr.Reason != pipeline.NotReadyStopped && nr.Reason != pipeline.NotReadyStarting)
			})
			err := r.p.Ready()
			if tt.ready {
				if err != nil {
					t.Fatalf("Ready = %v, want nil", err)
				}
				if got := h.sim.Stats().TokenMints; got != 1 {
					t.Errorf("%d token mints at start, want 1", got)
				}
				return
			}
			if !errors.As(err, &nr) || nr.Reason != pipeline.NotReadyConfig {
				t.Fatalf("Ready = %v, want a configuration error", err)
			}
			if !strings.Contains(err.Error(), "invalid_client") {
				t.Errorf("Ready = %v, want it to name Zoho's invalid_client error", err)
			}
			if runErr := r.shutdown(); runErr == nil {
				t.Error("Run = nil, want the configuration error")
			}
		})
	}
}
