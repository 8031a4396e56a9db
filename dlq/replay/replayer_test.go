package replay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/dlq/replay"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestReplayerDeliversThroughTheSameDeliveryPath replays dead-letter records
// with a corrected mapping: good ones reach Zoho, a record Zoho rejects again
// is dead-lettered again with its new reason and its original source headers,
// a record today's mapping rejects is dead-lettered with the mapper's code, a
// record today's mapping drops is skipped, and a record of another module is
// skipped.
func TestReplayerDeliversThroughTheSameDeliveryPath(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.AddField("Leads", zohosim.Field{APIName: "Plan", DataType: "text", Length: 50}); err != nil {
		t.Fatal(err)
	}
	o := h.options()
	o.Mapping.Fields = []mapping.FieldMapping{{From: "traits.plan", To: "Plan"}}
	r, err := replay.NewReplayer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	traits := func(email, last string) map[string]any {
		m := map[string]any{"email": email, "company": "Acme", "plan": "pro"}
		if last != "" {
			m["lastName"] = last
		}
		return m
	}
	noConsent := []byte(`{"type":"identify","userId":"u5","traits":{"email":"e@example.com","lastName":"E"}}`)
	otherModule := deadLetter(event("identify", "", traits("f@example.com", "F"), "u6"), "u6", 16)
	otherModule.Module = "Contacts"
	recs := []dlq.Record{
		deadLetter(event("identify", "", traits("a@example.com", "A"), "u1"), "u1", 10),
		deadLetter(event("track", "Signed Up", traits("b@example.com", "B"), "u2"), "u2", 11),
		deadLetter(event("identify", "", traits("c@example.com", ""), "u3"), "u3", 12), // no Last_Name: MANDATORY_NOT_FOUND
		deadLetter([]byte(`not json`), "u4", 13),
		deadLetter(noConsent, "u5", 14),
		otherModule,
	}
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	in := records(recs...)
	in[2].Count = 2 // dead-lettered by two replays already
	res, err := r.Replay(ctx, in)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if res.Sent != 2 || res.DeadLettered != 2 || res.Skipped["no_consent"]+res.Skipped[replay.SkipOtherModule] != 2 || len(res.Skipped) != 2 ||
		res.Skipped["no_consent"] != 1 || res.Skipped[replay.SkipOtherModule] != 1 {
		t.Errorf("result = %+v", res)
	}
	if !slices.Equal(res.Handled, []bool{true, true, true, true, true, true}) {
		t.Errorf("handled = %v", res.Handled)
	}
	for _, email := range []string{"a@example.com", "b@example.com"} {
		lead, ok := h.sim.Lead(email)
		if !ok || lead["Plan"] != "pro" {
			t.Errorf("lead %s = %v (found %v), want Plan pro", email, lead, ok)
		}
	}
	if _, ok := h.sim.Lead("c@example.com"); ok {
		t.Error("the lead without Last_Name was inserted")
	}

	dead := h.deadLetters(2)
	byKey := map[string]dlq.Record{}
	marks := map[string]dlq.ReplayMark{}
	for _, kr := range dead {
		d, err := dlq.Parse(kr)
		if err != nil {
			t.Fatal(err)
		}
		byKey[string(d.Key)] = d
		marks[string(d.Key)] = dlq.ReplayMarkOf(kr.Headers)
	}
	// Both the Zoho rejection and the local one carry the replay marks.
	if m := marks["u3"]; m != (dlq.ReplayMark{Group: replayGroup, Count: 3}) {
		t.Errorf("marks of the record Zoho rejected again = %+v, want group %s count 3", m, replayGroup)
	}
	if m := marks["u4"]; m != (dlq.ReplayMark{Group: replayGroup, Count: 1}) {
		t.Errorf("marks of the record rejected locally again = %+v, want group %s count 1", m, replayGroup)
	}
	c, bad := byKey["u3"], byKey["u4"]
	if c.Code != "MANDATORY_NOT_FOUND" || c.Field != "Last_Name" || c.SourceTopic != "events" || c.SourcePartition != 2 || c.SourceOffset != 12 ||
		!c.SourceTimestamp.Equal(recs[2].SourceTimestamp) || string(c.Value) != string(recs[2].Value) || len(c.ZohoRecord) == 0 {
		t.Errorf("re-dead-lettered record = %+v", c)
	}
	if bad.Code != mapping.CodeDecodeError || bad.SourceOffset != 13 || string(bad.Value) != "not json" {
		t.Errorf("undecodable record = %+v", bad)
	}
	if calls := h.sim.Stats().UpsertCalls; calls != 1 {
		t.Errorf("%d Zoho calls, want one delivering 2", calls)
	}
}

// TestReplayerStopsOnConfigurationError: a configuration error ends Replay
// with the error instead of waiting, and the records stay unhandled.
func TestReplayerStopsOnConfigurationError(t *testing.T) {
	h := newHarness(t)
	h.sim.SetScopeMismatch(true)
	r, err := replay.NewReplayer(h.options())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	recs := records(deadLetter(event("identify", "", map[string]any{"email": "a@example.com", "lastName": "A"}, "u1"), "u1", 1))
	res, err := r.Replay(ctx, recs)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Replay: err = %v, ctx = %v; want a configuration error before the deadline", err, ctx.Err())
	}
	if zohoapi.Classify(errors.Unwrap(err)) != zohoapi.ClassConfig && zohoapi.Classify(err) != zohoapi.ClassConfig {
		t.Errorf("error %v is not a configuration error", err)
	}
	if res.Handled[0] || res.Sent != 0 || res.DeadLettered != 0 {
		t.Errorf("result = %+v, want nothing handled", res)
	}
}

// TestReplayerStopsWhenZohoThrottles: the first throttle that fewer calls
// cannot fix — of the token refresh, or upserts refused even one at a time
// — ends Replay with a *ThrottledError instead of
// waiting minutes for Zoho; the records stay unhandled, nothing is sent or
// dead-lettered, later Replay calls return at once, and the log speaks of the
// replay (no "fetching paused": a replay fetches nothing).
func TestReplayerStopsWhenZohoThrottles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		throttle func(*zohosim.Server)
		token    bool
	}{
		{"token refresh", func(s *zohosim.Server) { s.UseUpTokenMints(s.RefreshToken()) }, true},
		{"upsert 429", func(s *zohosim.Server) { s.Throttle429Next(1000) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.throttle(h.sim)
			o := h.options()
			// Long enough that waiting out a throttle would end the test's context first.
			o.Delivery.ThrottleBackoff, o.Delivery.BreakerOpenTimeout = 10*time.Minute, 10*time.Minute
			core, logs := observer.New(zapcore.DebugLevel)
			o.Logger = zap.New(core)
			r, err := replay.NewReplayer(o)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
			defer cancel()
			recs := records(
				deadLetter(event("identify", "", map[string]any{"email": "a@example.com", "lastName": "A"}, "u1"), "u1", 1),
				deadLetter(event("identify", "", map[string]any{"email": "b@example.com", "lastName": "B"}, "u2"), "u2", 2),
			)
			res, err := r.Replay(ctx, recs)
			var te *replay.ThrottledError
			if !errors.As(err, &te) || ctx.Err() != nil {
				t.Fatalf("Replay: err = %v, ctx = %v; want a *ThrottledError before the deadline", err, ctx.Err())
			}
			if te.Token != tc.token || zohoapi.Classify(te.Err) != zohoapi.ClassThrottled {
				t.Errorf("ThrottledError = %+v, want Token %v and a throttled zohoapi error", te, tc.token)
			}
			if ra := te.RetryAfter(); tc.token != !ra.IsZero() || (tc.token && !ra.Equal(te.At.Add(replay.TokenWindow))) {
				t.Errorf("RetryAfter = %v (at %v)", ra, te.At)
			}
			if slices.Contains(res.Handled, true) || res.Sent != 0 || res.DeadLettered != 0 {
				t.Errorf("result = %+v, want nothing handled", res)
			}
			if len(h.sim.Records("Leads")) != 0 {
				t.Error("records reached Zoho")
			}
			res, err = r.Replay(ctx, recs)
			if !errors.As(err, &te) || slices.Contains(res.Handled, true) {
				t.Errorf("second Replay = %+v, %v; want the throttle again and nothing handled", res, err)
			}
			for _, e := range logs.All() {
				if strings.Contains(e.Message, "fetching") {
					t.Errorf("replay logged %q %v", e.Message, e.ContextMap())
				}
			}
			if logs.FilterMessageSnippet("Zoho throttled the replay").Len() != 1 {
				t.Errorf("the throttle was not logged once: %v", logs.All())
			}
		})
	}
}

// TestReplayerRidesOutAConcurrency429: a 429 while calls can still be cut
// (the replay shares the org with other callers) lowers the concurrency
// limit and is retried soon; the replay goes on and sends everything.
func TestReplayerRidesOutAConcurrency429(t *testing.T) {
	h := newHarness(t)
	h.sim.Throttle429Next(1)
	o := h.options()
	o.Delivery.ThrottleBackoff = 10 * time.Minute
	r, err := replay.NewReplayer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	res, err := r.Replay(ctx, records(
		deadLetter(event("identify", "", map[string]any{"email": "a@example.com", "lastName": "A", "company": "C"}, "u1"), "u1", 1),
		deadLetter(event("identify", "", map[string]any{"email": "b@example.com", "lastName": "B", "company": "C"}, "u2"), "u2", 2),
	))
	if err != nil || res.Sent != 2 {
		t.Fatalf("Replay = %+v, %v; want both sent", res, err)
	}
	if st := h.sim.Stats(); st.Status[http.StatusTooManyRequests] != 1 {
		t.Errorf("Zoho answered 429 %d times, want the 1 injected", st.Status[http.StatusTooManyRequests])
	}
}

// TestReplayerStopsOnSpentMintBudget: a replay that needs a token while the
// mint budget is spent stops at once as a token throttle, naming the time the
// budget allows the next mint, instead of waiting or asking Zoho.
func TestReplayerStopsOnSpentMintBudget(t *testing.T) {
	h := newHarness(t)
	eps := zohoapi.Endpoints{API: h.sim.URL(), Accounts: h.sim.URL()}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps, MintBudget: 1,
		Credentials: zohoapi.Credentials{ClientID: h.sim.ClientID(), ClientSecret: h.sim.ClientSecret(), RefreshToken: h.sim.RefreshToken()}})
	tok, err := ts.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts.Invalidate(tok) // the next call needs a mint the budget does not allow
	o := h.options()
	o.Delivery.Zoho = zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: 10 * time.Second})
	r, err := replay.NewReplayer(o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	_, err = r.Replay(ctx, records(deadLetter(event("identify", "", map[string]any{"email": "a@example.com", "lastName": "A"}, "u1"), "u1", 1)))
	var te *replay.ThrottledError
	var wait *zohoapi.MintWaitError
	if !errors.As(err, &te) || !te.Token || !errors.As(err, &wait) || ctx.Err() != nil {
		t.Fatalf("Replay: %v (ctx %v); want a token *ThrottledError for the mint budget", err, ctx.Err())
	}
	if !te.RetryAfter().Equal(wait.Until) {
		t.Errorf("RetryAfter %v, want the budget's %v", te.RetryAfter(), wait.Until)
	}
	if st := h.sim.Stats(); st.TokenMints != 1 || st.TokenThrottled != 0 {
		t.Errorf("Zoho minted %d, throttled %d; want 1 and none", st.TokenMints, st.TokenThrottled)
	}
}

// TestReplayerStopsWhenZohoCreditsRunLow: once Zoho reports fewer credits
// left (X-API-CREDITS-REMAINING) than the next upsert needs, the replay
// stops as a throttle instead of waiting for the credits, and that upsert
// is not made.
func TestReplayerStopsWhenZohoCreditsRunLow(t *testing.T) {
	h := newHarness(t)
	h.sim.SetDailyCredits(2)
	r, err := replay.NewReplayer(h.options())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	lead := func(i int) dlq.Record {
		u := fmt.Sprintf("u%d", i)
		return deadLetter(event("identify", "", map[string]any{"email": u + "@example.com", "lastName": "L", "company": "C"}, u), u, int64(i))
	}
	if _, err := r.Replay(ctx, records(lead(0))); err != nil { // 1 credit: Zoho reports 1 left
		t.Fatal(err)
	}
	var batch []dlq.Record
	for i := 1; i <= 11; i++ { // 2 credits
		batch = append(batch, lead(i))
	}
	_, err = r.Replay(ctx, records(batch...))
	var te *replay.ThrottledError
	if !errors.As(err, &te) || te.Token || ctx.Err() != nil {
		t.Fatalf("Replay: %v (ctx %v); want an upsert *ThrottledError before the deadline", err, ctx.Err())
	}
	if n := h.sim.Stats().UpsertCalls; n != 1 {
		t.Errorf("%d upsert calls, want only the first (the second waits for credits)", n)
	}
}
