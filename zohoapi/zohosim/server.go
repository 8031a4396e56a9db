package zohosim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultScope is the OAuth scope of the ready-made Self Client: what
// zohosink asks for (records, and the Fields and Layouts metadata).
const DefaultScope = "ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.layouts.READ"

// DefaultMaxConcurrency is the default limit of concurrent upsert calls. Zoho's
// "heavy call" sub-limit (reportedly upserts of more than 10 records) is 10 for
// every edition; the Standard edition's overall limit is 10 too.
const DefaultMaxConcurrency = 10

// DefaultTokenLifetime is the lifetime of an access token (Zoho: expires_in 3600).
const DefaultTokenLifetime = time.Hour

// DefaultGrantCodeLifetime is how long a grant code from [Server.GrantCode] is
// accepted. Zoho's Self Client lets the user pick 3–10 minutes; the spec notes
// codes living 1–3 minutes. Two minutes is inside both.
const DefaultGrantCodeLifetime = 2 * time.Minute

// Token throttle, per refresh token (Zoho "Token Validity" page): at most
// TokenMintsPerWindow access tokens per TokenMintWindow, and at most
// MaxLiveTokens unexpired access tokens (a new one silently invalidates the
// oldest).
const (
	TokenMintsPerWindow = 10
	TokenMintWindow     = 10 * time.Minute
	MaxLiveTokens       = 15
)

// MaxRecordsPerCall is Zoho's limit of records in one upsert call.
const MaxRecordsPerCall = 100

// SameEmailMode selects what happens when one upsert call carries two records
// with the same duplicate-check value (e.g. the same Email). Zoho's behaviour is
// unconfirmed (zoho-crm-api.md); clients should merge such records before
// sending.
type SameEmailMode string

const (
	// SameEmailSequential (the default) processes records in input order: the
	// second record finds the first and updates it ("action":"update").
	SameEmailSequential SameEmailMode = "sequential"
	// SameEmailReject answers DUPLICATE_DATA for every later record whose
	// duplicate-check value already appeared earlier in the same call.
	SameEmailReject SameEmailMode = "reject"
)

// Options configure a [Server]. The zero value is a usable simulator with
// Zoho's default limits and no faults.
type Options struct {
	// Listen is the TCP address to listen on. Default "127.0.0.1:0".
	Listen string
	// PublicURL is the base URL reported as api_domain in token responses and
	// by [Server.URL]. Default "http://" + the listener's address. Set it when
	// clients reach the simulator under another name (docker-compose).
	PublicURL string
	// Now is the simulator's clock for token expiry, the token throttle,
	// grant-code expiry, the rolling 24 h credit window and record timestamps.
	// Default time.Now. Latency and hangs always use real time.
	Now func() time.Time
	// Location is the time zone of Created_Time/Modified_Time. Default UTC
	// (formatted "+00:00", like Zoho's "+05:30" for an IST org).
	Location *time.Location

	// ClientID, ClientSecret and RefreshToken fix the credentials of the
	// ready-made Self Client. Empty: random, Zoho-shaped values.
	ClientID, ClientSecret, RefreshToken string
	// Scope is the scope granted to tokens, Zoho's comma-separated list.
	// Default [DefaultScope]. GET /crm/v8/users and /crm/v8/org need
	// ZohoCRM.users.READ and ZohoCRM.org.READ (or .ALL) in it, GET
	// /crm/v8/settings/fields and /crm/v8/settings/layouts need
	// ZohoCRM.settings.fields.READ and ZohoCRM.settings.layouts.READ (or
	// .ALL, or ZohoCRM.settings.ALL), else they answer 401
	// OAUTH_SCOPE_MISMATCH; upsert does not check it.
	Scope string

	// TokenLifetime is the access-token lifetime. Default [DefaultTokenLifetime].
	// expires_in reports it in whole seconds (rounded down).
	TokenLifetime time.Duration
	// LegacyExpiresIn makes token responses use the legacy form:
	// "expires_in_sec" in seconds and "expires_in" in milliseconds.
	LegacyExpiresIn bool
	// TokenThrottleStatus is the HTTP status of the "Access Denied" throttle
	// answer of the token endpoint: 200 (Zoho's docs, the default) or 400
	// (reported by integrators).
	TokenThrottleStatus int
	// GrantCodeLifetime is how long grant codes are accepted. Default
	// [DefaultGrantCodeLifetime].
	GrantCodeLifetime time.Duration

	// Latency is the response time of every API call (upsert, fields, users, org),
	// plus a uniformly random extra in [0, Jitter), counted from the call's
	// arrival: the simulator's own processing is part of it, so a call takes
	// max(Latency+jitter, processing), as a remote Zoho would.
	Latency, Jitter time.Duration
	// MaxConcurrency limits concurrent upsert calls; more answer 429
	// TOO_MANY_REQUESTS. 0 means [DefaultMaxConcurrency]; negative: unlimited.
	MaxConcurrency int
	// DailyCredits is the credit budget per rolling 24 h; 0 means unlimited.
	// Upsert costs 1 credit per 10 records (rounded up), a fields call 1.
	DailyCredits int
	// SameEmailInCall: see [SameEmailMode]. Default [SameEmailSequential].
	SameEmailInCall SameEmailMode
	// ScopeMismatch makes every API call answer 401 OAUTH_SCOPE_MISMATCH, as
	// Zoho does for a token without ZohoCRM.modules scope.
	ScopeMismatch bool
	// ConfigErrorsTopLevel makes INVALID_MODULE and INVALID_REQUEST_METHOD on
	// the upsert path come back as a top-level error object instead of a single
	// item inside "data" (the default, per zoho-crm-api.md: "inside data[]!").
	ConfigErrorsTopLevel bool
	// StrictPicklists rejects picklist values not in the field's list with
	// INVALID_DATA (details.supported_values). Default off: Zoho's v7 docs say
	// picklists accept other values (unconfirmed for v8).
	StrictPicklists bool

	// Logf, if set, receives one line per request (method, path, status);
	// never tokens or secrets.
	Logf func(format string, args ...any)
}

// Server is a running simulator. Create it with [New] or [Start]; stop it
// with [Server.Close]. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	url      string
	handler  http.Handler
	now      func() time.Time
	loc      *time.Location
	closing  chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	once     sync.Once

	clientID, clientSecret, refreshToken string

	mu sync.Mutex // guards everything below
	knobs
	tokens   tokenState
	modules  map[string]*module
	creds    []creditCharge
	stats    Stats
	calls    []Call
	apiLive  int // upsert calls in progress
	idSeq    int64
	userName string
	userID   string
}

// knobs hold the runtime-adjustable behaviour (guarded by Server.mu).
type knobs struct {
	latency, jitter      time.Duration
	maxConcurrency       int
	dailyCredits         int
	sameEmail            SameEmailMode
	scopeMismatch        bool
	tokenThrottleStatus  int
	tokenLifetime        time.Duration
	failNext             int
	failStatus           int
	failRate             float64
	failRateStatus       int
	throttleNext         int
	hangNext             int
	tokenFailNext        int
	tokenFailStatus      int
	apiHost              string
	noPermission         bool
	dependentServiceNext int
	dependencyError      string
}

// New starts a simulator with options o and panics if it cannot listen (like
// httptest.NewServer). Use [Start] to get the error instead.
func New(o Options) *Server {
	s, err := Start(o)
	if err != nil {
		panic(fmt.Sprintf("zohosim: %v", err))
	}
	return s
}

// Start starts a simulator with options o, listening on o.Listen.
func Start(o Options) (*Server, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", o.Listen, err)
	}
	s := newServer(o, ln)
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func newServer(o Options, ln net.Listener) *Server {
	s := &Server{opts: o, ln: ln, closing: make(chan struct{})}
	s.now = o.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.loc = o.Location
	if s.loc == nil {
		s.loc = time.UTC
	}
	s.url = strings.TrimRight(o.PublicURL, "/")
	if s.url == "" {
		s.url = "http://" + ln.Addr().String()
	}
	s.clientID = o.ClientID
	if s.clientID == "" {
		s.clientID = "1000." + strings.ToUpper(randHex(15))
	}
	s.clientSecret = o.ClientSecret
	if s.clientSecret == "" {
		s.clientSecret = randHex(21)
	}
	if o.Scope == "" {
		s.opts.Scope = DefaultScope
	}
	s.knobs = knobs{
		latency:             o.Latency,
		jitter:              o.Jitter,
		maxConcurrency:      o.MaxConcurrency,
		dailyCredits:        o.DailyCredits,
		sameEmail:           o.SameEmailInCall,
		scopeMismatch:       o.ScopeMismatch,
		tokenThrottleStatus: o.TokenThrottleStatus,
		tokenLifetime:       o.TokenLifetime,
	}
	if s.maxConcurrency == 0 {
		s.maxConcurrency = DefaultMaxConcurrency
	}
	if s.sameEmail == "" {
		s.sameEmail = SameEmailSequential
	}
	if s.tokenThrottleStatus == 0 {
		s.tokenThrottleStatus = http.StatusOK
	}
	if s.tokenLifetime <= 0 {
		s.tokenLifetime = DefaultTokenLifetime
	}
	if s.opts.GrantCodeLifetime <= 0 {
		s.opts.GrantCodeLifetime = DefaultGrantCodeLifetime
	}
	s.tokens.init()
	s.refreshToken = o.RefreshToken
	if s.refreshToken == "" {
		s.refreshToken = newTokenString()
	}
	s.tokens.addRefresh(s.refreshToken, s.opts.Scope)
	s.modules = defaultModules()
	s.userName = simUserFirstName + " " + simUserLastName
	s.userID = s.newID()
	s.stats = Stats{Status: map[int]int{}, RecordErrorCodes: map[string]int{}}

	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/v2/token", s.handleToken)
	mux.HandleFunc("/oauth/v2/token/revoke", s.handleRevoke)
	mux.HandleFunc("/crm/", s.handleAPI)
	s.registerDebug(mux)
	mux.HandleFunc("/", s.handleNotFound)
	s.handler = s.track(mux)
	return s
}

// track counts in-progress requests so Close can wait for them, and refuses
// requests once Close has begun.
func (s *Server) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.closeMu.RLock()
		if s.closed {
			s.closeMu.RUnlock()
			http.Error(w, "zohosim: closed", http.StatusServiceUnavailable)
			return
		}
		s.inflight.Add(1)
		s.closeMu.RUnlock()
		defer s.inflight.Done()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if s.opts.Logf != nil {
			s.opts.Logf("zohosim: %s %s -> %d", r.Method, r.URL.Path, rec.status)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// URL is the simulator's base URL, "http://127.0.0.1:PORT" (or
// [Options.PublicURL]). It serves both the accounts host (/oauth/v2/token) and
// the API host (/crm/v8/...): use it as both accounts URL and API domain.
func (s *Server) URL() string { return s.url }

// Handler is the simulator's HTTP handler, for mounting it in another server
// (httptest, a proxy under test). Token responses still report [Server.URL] as
// api_domain.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the listener, releases hung requests, and waits until every
// request handler has returned. Calling Close more than once is safe.
func (s *Server) Close() {
	s.once.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.closing)
		if s.srv != nil {
			_ = s.srv.Close()
		}
		s.inflight.Wait()
	})
}

// ClientID is the client id of the ready-made Self Client.
func (s *Server) ClientID() string { return s.clientID }

// ClientSecret is the client secret of the ready-made Self Client.
func (s *Server) ClientSecret() string { return s.clientSecret }

// RefreshToken is a refresh token of the ready-made Self Client, with scope
// [Options.Scope] (default ZohoCRM.modules.ALL).
func (s *Server) RefreshToken() string { return s.refreshToken }

// sleep waits d of real time, or until the request or the server ends. It
// reports whether the full time passed.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// newID returns a fresh 19-digit Zoho-style record id, e.g. "4150868000003000001".
// Caller holds s.mu (or is in construction).
func (s *Server) newID() string {
	s.idSeq++
	return fmt.Sprintf("4150868%012d", 3000000+s.idSeq)
}

func randHex(nBytes int) string {
	b := make([]byte, nBytes)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("zohosim: crypto/rand failed"))
	}
	return hex.EncodeToString(b)
}

// newTokenString returns a Zoho-shaped token "1000.<32 hex>.<32 hex>".
func newTokenString() string {
	return "1000." + randHex(16) + "." + randHex(16)
}
