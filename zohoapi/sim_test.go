package zohoapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohosink/zohosink/internal/recordtest"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// seed is the Lead Generated payload of issue 2.
const seed = `{"Email":"jane.doe@example.com","First_Name":"Jane","Last_Name":"Doe","Company":"Acme Ltd","Lead_Source":"Website","Description":"Request a Demo"}`

// simClient starts a simulator and a client wired to it (the simulator serves
// both the accounts and the API host).
func simClient(tb testing.TB, o zohosim.Options, timeout time.Duration) (*zohosim.Server, *zohoapi.Client, *zohoapi.TokenSource) {
	tb.Helper()
	sim := zohosim.New(o)
	tb.Cleanup(sim.Close)
	eps, err := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	if err != nil {
		tb.Fatal(err)
	}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
	})
	return sim, zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts, Timeout: timeout}), ts
}

func upsert(tb testing.TB, c *zohoapi.Client, recs ...string) (*zohoapi.UpsertResult, error) {
	tb.Helper()
	raw := make([]zohoapi.Record, len(recs))
	for i, r := range recs {
		raw[i] = recordtest.Of(r)
	}
	return c.Upsert(context.Background(), zohoapi.UpsertRequest{Module: "Leads", Records: raw, DuplicateCheckFields: []string{"Email"}})
}

func TestSimSeedInsertThenUpdate(t *testing.T) {
	sim, c, ts := simClient(t, zohosim.Options{}, 0)
	first, err := upsert(t, c, seed)
	if err != nil {
		t.Fatal(err)
	}
	r := first.Results[0]
	if first.StatusCode != 200 || r.Err != nil || r.Action != "insert" || r.ID == "" || first.Credits != 1 {
		t.Fatalf("first upsert: status %d, %+v", first.StatusCode, r)
	}
	// The same lead again, with the Email in another case: same record, updated.
	again, err := upsert(t, c, `{"Email":"Jane.Doe@Example.com","Last_Name":"Doe","Lead_Source":"Website","Description":"Request a Demo"}`)
	if err != nil {
		t.Fatal(err)
	}
	r2 := again.Results[0]
	if r2.Err != nil || r2.Action != "update" || r2.ID != r.ID || r2.DuplicateField != "Email" {
		t.Fatalf("repeat: %+v, want update of %s", r2, r.ID)
	}
	recs := sim.Records("Leads")
	if len(recs) != 1 {
		t.Fatalf("simulator holds %d leads, want 1", len(recs))
	}
	lead, ok := sim.Lead("jane.doe@example.com")
	if !ok || lead["id"] != r.ID || lead["First_Name"] != "Jane" || lead["Company"] != "Acme Ltd" || lead["Lead_Source"] != "Website" || lead["Description"] != "Request a Demo" {
		t.Errorf("stored lead %v", lead)
	}
	if st := sim.Stats(); st.Inserts != 1 || st.Updates != 1 || st.Credits != 2 {
		t.Errorf("stats %+v", st)
	}
	if ts.Mints() != 1 {
		t.Errorf("mints = %d, want 1", ts.Mints())
	}
}

func TestSimPartialFailure(t *testing.T) {
	sim, c, _ := simClient(t, zohosim.Options{}, 0)
	res, err := upsert(t, c,
		seed,
		`{"Email":"no.name@example.com","Company":"X"}`,
		`{"Email":"not-an-email","Last_Name":"Y","Company":"Y"}`,
		`{"Email":"c@example.com","Last_Name":"C","Company":"C","No_Such_Field":"x"}`,
		`{"Email":"no.name.no.company@example.com"}`,
		`{"Email":"bad email","Company":"Z"}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 207 || len(res.Results) != 6 {
		t.Fatalf("status %d, %d results", res.StatusCode, len(res.Results))
	}
	if res.Results[0].Action != "insert" {
		t.Errorf("record 0: %+v", res.Results[0])
	}
	for i, want := range []struct{ code, field string }{{}, {"MANDATORY_NOT_FOUND", "Last_Name"}, {"INVALID_DATA", "Email"}, {"INVALID_DATA", "No_Such_Field"},
		// MULTIPLE_OR_MULTI_ERRORS: of one code, that code; else as it is; every field.
		{"MANDATORY_NOT_FOUND", "Last_Name,Company"}, {"MULTIPLE_OR_MULTI_ERRORS", "Email,Last_Name"}} {
		if i == 0 {
			continue
		}
		e := res.Results[i].Err
		if e == nil || e.Code != want.code || e.Field != want.field || zohoapi.ClassifyRecord(e) != zohoapi.ClassPermanent {
			t.Errorf("record %d: %+v, want %s on %s", i, e, want.code, want.field)
		}
	}
	if len(sim.Records("Leads")) != 1 {
		t.Errorf("failed records stored")
	}
}

func TestSimInvalidatedTokenMidRun(t *testing.T) {
	sim, c, ts := simClient(t, zohosim.Options{}, 0)
	if _, err := upsert(t, c, seed); err != nil {
		t.Fatal(err)
	}
	sim.InvalidateTokens()
	res, err := upsert(t, c, seed)
	if err != nil || res.Results[0].Action != "update" {
		t.Fatalf("after InvalidateTokens: %+v, %v", res, err)
	}
	if ts.Mints() != 2 {
		t.Errorf("mints = %d, want 2 (one refresh)", ts.Mints())
	}
	if st := sim.Stats(); st.Status[401] != 1 || st.UpsertCalls != 3 {
		t.Errorf("want exactly one 401 and one retry; stats %+v", st)
	}
}

func TestSimExpiredTokenMidRun(t *testing.T) {
	// The simulator's clock runs ahead of ours: the token the client still
	// trusts has expired at Zoho. One 401, one refresh, one retry.
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	sim, c, ts := simClient(t, zohosim.Options{Now: now}, 0)
	if _, err := upsert(t, c, seed); err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(2 * time.Hour))
	res, err := upsert(t, c, seed)
	if err != nil || res.Results[0].Err != nil {
		t.Fatalf("expired token: %+v, %v", res, err)
	}
	if ts.Mints() != 2 || sim.Stats().Status[401] != 1 {
		t.Errorf("mints %d, 401s %d; want 2 and 1", ts.Mints(), sim.Stats().Status[401])
	}
}

func TestSimLegacyExpiresIn(t *testing.T) {
	_, c, ts := simClient(t, zohosim.Options{LegacyExpiresIn: true}, 0)
	for i := 0; i < 3; i++ {
		if _, err := upsert(t, c, seed); err != nil {
			t.Fatal(err)
		}
	}
	if ts.Mints() != 1 {
		t.Errorf("legacy expires_in (ms) misread: %d mints for 3 calls", ts.Mints())
	}
}

func TestSimTokenThrottle(t *testing.T) {
	for _, status := range []int{200, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			sim, _, ts := simClient(t, zohosim.Options{TokenThrottleStatus: status}, 0)
			ctx := context.Background()
			tok, err := ts.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Other processes minted the window away; our next mint is refused.
			sim.UseUpTokenMints(sim.RefreshToken())
			if !ts.Invalidate(tok) {
				t.Fatal("the first 401 did not force a mint")
			}
			_, err = ts.Token(ctx)
			var te *zohoapi.TokenError
			if !errors.As(err, &te) || !te.Throttled || zohoapi.Classify(err) != zohoapi.ClassThrottled {
				t.Fatalf("mint in a used-up window: %v, want throttled *TokenError", err)
			}
			if ts.Mints() != 1 {
				t.Errorf("mints = %d", ts.Mints())
			}
			// During the backoff the token endpoint is not asked again.
			for i := 0; i < 5; i++ {
				if _, err := ts.Token(ctx); zohoapi.Classify(err) != zohoapi.ClassThrottled {
					t.Fatalf("during backoff: %v", err)
				}
			}
			if st := sim.Stats(); st.TokenRequests != 2 || st.TokenThrottled != 1 {
				t.Errorf("token endpoint asked during the backoff: %d requests, %d throttled", st.TokenRequests, st.TokenThrottled)
			}
		})
	}
}

func TestSimTokenErrors(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	defer sim.Close()
	eps, _ := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	tests := []struct {
		name string
		cr   zohoapi.Credentials
		code string
	}{
		{"unknown client", zohoapi.Credentials{ClientID: "1000.UNKNOWN", ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()}, "invalid_client"},
		{"wrong secret", zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: "wrong", RefreshToken: sim.RefreshToken()}, "invalid_client_secret"},
		{"unknown refresh token", zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: "1000.revoked"}, "invalid_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps, Credentials: tt.cr})
			_, err := ts.Token(context.Background())
			var te *zohoapi.TokenError
			if !errors.As(err, &te) || te.Code != tt.code || zohoapi.Classify(err) != zohoapi.ClassConfig {
				t.Fatalf("err = %v, want config %s", err, tt.code)
			}
		})
	}
}

func TestSimExchangeCode(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	defer sim.Close()
	eps, _ := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	code := sim.GrantCode()
	rt, err := zohoapi.ExchangeCode(context.Background(), nil, eps, sim.ClientID(), sim.ClientSecret(), code)
	if err != nil || rt == "" {
		t.Fatalf("ExchangeCode = %q, %v", rt, err)
	}
	// The new refresh token works.
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps, Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: rt}})
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Grant codes are single-use.
	_, err = zohoapi.ExchangeCode(context.Background(), nil, eps, sim.ClientID(), sim.ClientSecret(), code)
	var te *zohoapi.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_code" {
		t.Fatalf("reused code: %v", err)
	}
}

func TestSimFields(t *testing.T) {
	_, c, _ := simClient(t, zohosim.Options{}, 0)
	fields, err := c.Fields(context.Background(), "Leads")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]zohoapi.Field{}
	for _, f := range fields {
		by[f.APIName] = f
	}
	if f := by["Last_Name"]; !f.SystemMandatory || f.Length != 80 || f.DataType != "text" {
		t.Errorf("Last_Name %+v", f)
	}
	if f := by["Email"]; !f.Unique || f.DataType != "email" || f.Length != 100 {
		t.Errorf("Email %+v", f)
	}
	if f := by["Lead_Source"]; f.DataType != "picklist" || len(f.PicklistValues) == 0 {
		t.Errorf("Lead_Source %+v", f)
	}
	if _, err := c.Fields(context.Background(), "NoSuchModule"); zohoapi.Classify(err) != zohoapi.ClassConfig {
		t.Errorf("unknown module: %v (%v)", err, zohoapi.Classify(err))
	}
}

// TestSimFieldsOfEveryType reads the metadata of a custom module with a
// field of every data type through the client: types, lengths, decimal places
// and picklist values arrive typed.
func TestSimFieldsOfEveryType(t *testing.T) {
	sim, c, _ := simClient(t, zohosim.Options{}, 0)
	sim.AddModule("Subscriptions", zohosim.FieldsOfEveryType())
	fields, err := c.Fields(context.Background(), "Subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]zohoapi.Field{}
	for _, f := range fields {
		by[f.APIName] = f
	}
	for _, want := range []zohoapi.Field{
		{APIName: "Currency_Field", Label: "Currency Field", DataType: "currency", JSONType: "double", Length: 16, DecimalPlace: 2, Custom: true},
		{APIName: "Integer_Field", Label: "Integer Field", DataType: "integer", JSONType: "integer", Length: 9, DecimalPlace: -1, Custom: true},
		{APIName: "Multiselectpicklist_Field", Label: "Multiselectpicklist Field", DataType: "multiselectpicklist", JSONType: "jsonarray", Length: 2000, DecimalPlace: -1, Custom: true, PicklistValues: []string{"Red", "Green", "Blue"}},
	} {
		if got := by[want.APIName]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
	}
}

// TestSimLayouts: the default Leads layout marks Company required, which the
// Fields API does not (zoho-crm-api.md "Fields metadata").
func TestSimLayouts(t *testing.T) {
	_, c, _ := simClient(t, zohosim.Options{}, 0)
	layouts, err := c.Layouts(context.Background(), "Leads")
	if err != nil {
		t.Fatal(err)
	}
	if len(layouts) != 1 || layouts[0].Name != "Standard" || !layouts[0].Default || layouts[0].Status != "active" {
		t.Fatalf("layouts %+v", layouts)
	}
	if got := zohoapi.LayoutMandatory(layouts); fmt.Sprint(got) != "[Last_Name Company]" {
		t.Fatalf("LayoutMandatory = %v", got)
	}
	if len(layouts[0].Fields) < 20 || layouts[0].Fields[0].APIName != "Last_Name" {
		t.Fatalf("layout fields %+v", layouts[0].Fields)
	}
	contacts, err := c.Layouts(context.Background(), "Contacts")
	if err != nil || fmt.Sprint(zohoapi.LayoutMandatory(contacts)) != "[Last_Name]" {
		t.Fatalf("Contacts: %v %v", zohoapi.LayoutMandatory(contacts), err)
	}
	if _, err := c.Layouts(context.Background(), "NoSuchModule"); zohoapi.Classify(err) != zohoapi.ClassConfig {
		t.Errorf("unknown module: %v (%v)", err, zohoapi.Classify(err))
	}
}

func TestSimRequestFailures(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*zohosim.Server)
		want   zohoapi.Class
	}{
		{"500", func(s *zohosim.Server) { s.FailNext(1, 500) }, zohoapi.ClassTransient},
		{"503 HTML", func(s *zohosim.Server) { s.FailNext(1, 503) }, zohoapi.ClassTransient},
		{"429 burst", func(s *zohosim.Server) { s.Throttle429Next(1) }, zohoapi.ClassThrottled},
		{"scope mismatch", func(s *zohosim.Server) { s.SetScopeMismatch(true) }, zohoapi.ClassConfig},
		{"hang", func(s *zohosim.Server) { s.HangNext(1) }, zohoapi.ClassTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, _ := simClient(t, zohosim.Options{}, 200*time.Millisecond)
			tt.inject(sim)
			_, err := upsert(t, c, seed)
			if err == nil || zohoapi.Classify(err) != tt.want {
				t.Fatalf("err = %v (class %v), want %v", err, zohoapi.Classify(err), tt.want)
			}
			if _, ok := sim.Lead("jane.doe@example.com"); ok {
				t.Error("record stored despite the failure")
			}
		})
	}
	t.Run("unknown module", func(t *testing.T) {
		_, c, _ := simClient(t, zohosim.Options{}, 0)
		_, err := c.Upsert(context.Background(), zohoapi.UpsertRequest{Module: "Leadz", Records: []zohoapi.Record{recordtest.Of(seed)}})
		var ae *zohoapi.APIError
		if !errors.As(err, &ae) || zohoapi.Classify(err) != zohoapi.ClassConfig {
			t.Fatalf("err = %v, want config *APIError", err)
		}
	})
}

// BenchmarkUpsert100 upserts 100 leads per call into the simulator on loopback.
// ns/op and allocs/op cover the whole round trip in this process (client
// encode/send/parse plus the simulator's own work); µs/upsert is the same
// wall time. BenchmarkEncodeParse100 (package zohoapi) isolates the client's
// share.
func BenchmarkUpsert100(b *testing.B) {
	_, c, _ := simClient(b, zohosim.Options{MaxConcurrency: -1}, 0)
	recs := make([]zohoapi.Record, 100)
	for i := range recs {
		recs[i] = recordtest.Of(fmt.Sprintf(`{"Email":"lead%03d@example.com","First_Name":"Lead","Last_Name":"Number %d","Company":"Acme Ltd","Lead_Source":"Website","Description":"Request a Demo"}`, i, i))
	}
	req := zohoapi.UpsertRequest{Module: "Leads", Records: recs, DuplicateCheckFields: []string{"Email"}, Trigger: []string{}}
	ctx := context.Background()
	if _, err := c.Upsert(ctx, req); err != nil { // insert once; the loop updates
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := c.Upsert(ctx, req)
		if err != nil || len(res.Results) != 100 || res.Results[99].Err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/upsert")
}

func TestSimTokenCacheAcrossRestarts(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	defer sim.Close()
	eps, _ := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	cache := t.TempDir() + "/zoho-token.json"
	// Twelve "process starts" in a row (a crash loop): more than Zoho's 10 mints
	// per 10 minutes if each minted, but the cached token is reused.
	for start := 0; start < 12; start++ {
		ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
			Endpoints:   eps,
			Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()},
			CacheFile:   cache,
		})
		c := zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts})
		if _, err := upsert(t, c, seed); err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
	}
	if st := sim.Stats(); st.TokenMints != 1 || st.TokenThrottled != 0 {
		t.Errorf("simulator minted %d tokens (%d throttled) over 12 starts, want 1", st.TokenMints, st.TokenThrottled)
	}
}

// TestSimTokenCacheBoundToCredentials: a cached token is used only by the
// credentials that minted it. A process started with a wrong client secret
// beside a cache holding a valid token of the right credentials is refused
// at start (invalid_client_secret, a configuration error), not an hour later
// when that token expires; it leaves the cache alone, so a process with the
// right secret still reuses the cached token without minting.
func TestSimTokenCacheBoundToCredentials(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	defer sim.Close()
	eps, _ := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	cache := t.TempDir() + "/zoho-token.json"
	start := func(secret string) *zohoapi.TokenSource {
		return zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
			Endpoints:   eps,
			Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: secret, RefreshToken: sim.RefreshToken()},
			CacheFile:   cache,
		})
	}
	ctx := context.Background()
	first, err := start(sim.ClientSecret()).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}

	wrong := start("not-" + sim.ClientSecret())
	tok, err := wrong.Token(ctx)
	var te *zohoapi.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_client_secret" || zohoapi.Classify(err) != zohoapi.ClassConfig {
		t.Fatalf("wrong client secret at start: token %q, error %v; want Zoho's invalid_client_secret (a configuration error)", tok, err)
	}

	right := start(sim.ClientSecret())
	if tok, err := right.Token(ctx); err != nil || tok != first || right.Mints() != 0 {
		t.Fatalf("right client secret after the wrong one: token %q (cached %q), %v, %d mints; want the cached token, no mint", tok, first, err, right.Mints())
	}
	if _, err := upsert(t, zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: right}), seed); err != nil {
		t.Fatalf("upsert with the cached token: %v", err)
	}
	if st := sim.Stats(); st.TokenMints != 1 || st.TokenRequests != 2 {
		t.Errorf("simulator: %d mints of %d token requests, want 1 of 2 (the first start's mint, the wrong secret's refusal)", st.TokenMints, st.TokenRequests)
	}
}

// TestSimClassifiesHostPermissionAndDependentAnswers drives the client into the
// simulator's INVALID_HOST, NO_PERMISSION and DEPENDENT_* answers and checks
// the class each one gets (classify.go's table, zoho-crm-api.md).
func TestSimClassifiesHostPermissionAndDependentAnswers(t *testing.T) {
	sim, c, _ := simClient(t, zohosim.Options{}, 0)
	ctx := context.Background()

	requestLevel := []struct {
		name, code string
		status     int
		set, unset func()
	}{
		{"INVALID_HOST", "INVALID_HOST", 400, func() { sim.SetAPIHost("www.zohoapis.com") }, func() { sim.SetAPIHost("") }},
		{"NO_PERMISSION", "NO_PERMISSION", 403, func() { sim.SetNoPermission(true) }, func() { sim.SetNoPermission(false) }},
	}
	for _, tc := range requestLevel {
		tc.set()
		_, upErr := upsert(t, c, seed)
		_, fieldsErr := c.Fields(ctx, "Leads")
		tc.unset()
		for call, err := range map[string]error{"upsert": upErr, "fields": fieldsErr} {
			var apiErr *zohoapi.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.code || apiErr.StatusCode != tc.status {
				t.Errorf("%s %s: err %v, want APIError %d %s", tc.name, call, err, tc.status, tc.code)
				continue
			}
			if got := zohoapi.Classify(err); got != zohoapi.ClassConfig {
				t.Errorf("%s %s: class %v, want config", tc.name, call, got)
			}
		}
	}
	if len(sim.Records("Leads")) != 0 {
		t.Fatal("a refused call wrote a record")
	}

	if err := sim.AddFieldDependency("Leads", zohosim.FieldDependency{Parent: "Country", Child: "State",
		Allowed: map[string][]string{"India": {"Kerala"}}}); err != nil {
		t.Fatal(err)
	}
	rec := func(email, country, state string) string {
		m := map[string]string{"Email": email, "Last_Name": "Doe", "Company": "Acme", "State": state}
		if country != "" {
			m["Country"] = country
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	perRecord := []struct {
		code, dependencyError string
		record                string
		want                  zohoapi.Class
	}{
		{"DEPENDENT_FIELD_MISSING", "", rec("missing@example.com", "", "Kerala"), zohoapi.ClassPermanent},
		{"DEPENDENT_MISMATCH", "", rec("mismatch@example.com", "India", "Texas"), zohoapi.ClassPermanent},
		{"DEPENDENT_SERVICE_ERROR", "LIMIT_EXCEEDED", rec("limit@example.com", "India", "Kerala"), zohoapi.ClassTransient},
		{"DEPENDENT_SERVICE_ERROR", "PROCESSING_ERROR", rec("processing@example.com", "India", "Kerala"), zohoapi.ClassTransient},
		{"DEPENDENT_SERVICE_ERROR", "NO_PERMISSION", rec("noperm@example.com", "India", "Kerala"), zohoapi.ClassPermanent},
		{"DEPENDENT_SERVICE_ERROR", "CANNOT_PROCESS", rec("cannot@example.com", "India", "Kerala"), zohoapi.ClassPermanent},
	}
	for _, tc := range perRecord {
		if tc.dependencyError != "" {
			sim.DependentServiceErrorNext(1, tc.dependencyError)
		}
		res, err := upsert(t, c, tc.record, rec("fine-"+tc.code+tc.dependencyError+"@example.com", "India", "Kerala"))
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.code, tc.dependencyError, err)
		}
		bad, good := res.Results[0], res.Results[1]
		if res.StatusCode != 207 || bad.Err == nil || bad.Err.Code != tc.code || good.Err != nil || good.Action != "insert" {
			t.Errorf("%s/%s: status %d, results %+v %+v", tc.code, tc.dependencyError, res.StatusCode, bad, good)
			continue
		}
		if got := zohoapi.ClassifyRecord(bad.Err); got != tc.want {
			t.Errorf("%s/%s: class %v, want %v (details %s)", tc.code, tc.dependencyError, got, tc.want, bad.Err.Details)
		}
	}
}
