package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zohosink/zohosink/config"
)

// Kind is the class of a connection failure.
type Kind string

// The kinds of Failure, in the order a connection meets them.
const (
	// Unreachable: no TCP connection (refused, no route, DNS, timeout), or
	// the broker closed it without a word (often: TLS or SASL expected).
	Unreachable Kind = "broker unreachable"
	// TLSHandshake: the TLS handshake failed (unknown authority, name
	// mismatch, client certificate refused, not a TLS listener).
	TLSHandshake Kind = "TLS handshake failed"
	// SASLAuthentication: the broker refused the SASL mechanism or the
	// credentials.
	SASLAuthentication Kind = "SASL authentication failed"
	// NotAuthorized: authenticated, but an ACL denies a topic, the group or
	// the cluster.
	NotAuthorized Kind = "not authorized"
	// Other: anything else (the broker's error as it is).
	Other Kind = "request failed"
)

// Failure is a failed Kafka request explained for an operator: its Kind, the
// configuration key to look at and one line saying why and what to do.
type Failure struct {
	Kind Kind
	// Key is the configuration key to fix: kafka.brokers, kafka.tls.ca_file,
	// kafka.tls.server_name, kafka.tls.cert_file, kafka.tls.enabled,
	// kafka.sasl.mechanism, kafka.sasl.password, kafka.topics, kafka.group …
	Key string
	// Reason starts with Kind and ends with the underlying error.
	Reason string
	// Err is the error diagnosed.
	Err error
}

// Error returns "key: reason".
func (f *Failure) Error() string { return f.Key + ": " + f.Reason }

// Unwrap returns the error diagnosed.
func (f *Failure) Unwrap() error { return f.Err }

// Diagnose explains err, an error of a client built from Options(k), as a
// *Failure (nil for a nil error). It looks, with errors.As and errors.Is, for:
// x509.UnknownAuthorityError, x509.HostnameError, x509.CertificateInvalidError
// and tls.RecordHeaderError (TLSHandshake); a TLS alert from the broker
// (client certificate refused) or in answer to a PLAINTEXT request; kerr.SaslAuthenticationFailed,
// UnsupportedSaslMechanism and IllegalSaslState (SASLAuthentication);
// kerr.TopicAuthorizationFailed, GroupAuthorizationFailed,
// ClusterAuthorizationFailed (NotAuthorized); dial and DNS errors and a
// connection closed by the broker (Unreachable).
func Diagnose(err error, k config.Kafka) *Failure {
	if err == nil {
		return nil
	}
	f := func(kind Kind, key, why string) *Failure {
		return &Failure{Kind: kind, Key: key, Reason: fmt.Sprintf("%s: %s (%v)", kind, why, err), Err: err}
	}
	mech := k.SASL.MechanismName()

	var closed *closedInStep
	if errors.As(err, &closed) {
		switch {
		case closed.step == stepSASL:
			return f(SASLAuthentication, saslKey(mech), fmt.Sprintf("the broker closed the connection while authenticating %s%s: check %s", mech, saslUser(k), saslWhat(mech)))
		case closed.step == stepTLSHandshake && k.TLS.Enabled:
			return f(TLSHandshake, "kafka.tls.enabled", "the broker closed the connection during the TLS handshake: this is a PLAINTEXT or SASL_PLAINTEXT listener; use its TLS port or set kafka.tls.enabled: false")
		}
	}

	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownCA):
		if k.TLS.CAFile != "" {
			return f(TLSHandshake, "kafka.tls.ca_file", "the broker's certificate is not signed by a CA in "+k.TLS.CAFile)
		}
		return f(TLSHandshake, "kafka.tls.ca_file", "the broker's certificate is signed by an authority the system does not trust: set kafka.tls.ca_file to the PEM CA certificate that signs it")
	case errors.As(err, &hostname):
		names := hostname.Certificate.DNSNames
		for _, ip := range hostname.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		return f(TLSHandshake, "kafka.tls.server_name", fmt.Sprintf("the broker's certificate is for %s, not %s: connect with a name it holds or set kafka.tls.server_name",
			strings.Join(names, ", "), hostname.Host))
	case errors.As(err, &invalid):
		return f(TLSHandshake, "kafka.tls.ca_file", "the broker's certificate is not valid (expired, not yet valid, or not for a server)")
	case errors.As(err, &header):
		return f(TLSHandshake, "kafka.tls.enabled", "the broker did not answer in TLS: this is a PLAINTEXT or SASL_PLAINTEXT listener; use its TLS port or set kafka.tls.enabled: false")
	case tlsAlert(err, "certificate required", "bad certificate", "unknown certificate authority", "certificate unknown"):
		if k.TLS.CertFile == "" {
			return f(TLSHandshake, "kafka.tls.cert_file", "the broker requires a client certificate (mutual TLS): set kafka.tls.cert_file and kafka.tls.key_file")
		}
		return f(TLSHandshake, "kafka.tls.cert_file", "the broker refused the client certificate of kafka.tls.cert_file (not signed by a CA it trusts, or expired)")
	case !k.TLS.Enabled && strings.Contains(err.Error(), "plaintext connection speaking to a tls endpoint"):
		// franz-go's guess (no error type) when the answer starts like a TLS alert.
		return f(TLSHandshake, "kafka.tls.enabled", "the broker answered in TLS: this is an SSL or SASL_SSL listener; set kafka.tls.enabled: true")
	case tlsAlert(err, ""):
		return f(TLSHandshake, "kafka.tls.enabled", "the broker ended the TLS handshake")

	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return f(SASLAuthentication, saslKey(mech), fmt.Sprintf("the broker refused %s%s: check %s", mech, saslUser(k), saslWhat(mech)))
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return f(SASLAuthentication, "kafka.sasl.mechanism", fmt.Sprintf("the broker does not enable mechanism %s on this listener", mech))
	case errors.Is(err, kerr.IllegalSaslState):
		return f(SASLAuthentication, "kafka.sasl.mechanism", "the broker did not expect SASL on this listener (is it PLAINTEXT or SSL?)")

	case errors.Is(err, kerr.TopicAuthorizationFailed):
		return f(NotAuthorized, "kafka.topics", fmt.Sprintf("an ACL denies this principal a topic: the topics of kafka.topics and kafka.dlq_topic %q need DESCRIBE and READ, and WRITE to be produced to", k.DLQTopic))
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		return f(NotAuthorized, "kafka.group", fmt.Sprintf("an ACL denies this principal the consumer group %q, or one named after it (dlq replay's %s.dlq-replay…): it needs DESCRIBE and READ", k.Group, k.Group))
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		return f(NotAuthorized, "kafka.brokers", "an ACL denies this principal a cluster operation")

	case isDialError(err):
		return f(Unreachable, "kafka.brokers", fmt.Sprintf("cannot connect to %s", strings.Join(k.Brokers, ", ")))
	case closedByBroker(err):
		var hint []string
		if !k.TLS.Enabled {
			hint = append(hint, "a TLS listener needs kafka.tls.enabled: true")
		}
		if mech == "" {
			hint = append(hint, "a SASL listener needs kafka.sasl.mechanism")
		}
		why := "the broker closed the connection"
		if len(hint) > 0 {
			why += ": " + strings.Join(hint, "; ")
		}
		return f(Unreachable, "kafka.brokers", why)
	}
	return f(Other, "kafka.brokers", "the broker answered with an error")
}

// saslKey is the key to fix when the broker refuses the credentials of mech.
func saslKey(mech string) string {
	switch mech {
	case config.SASLOAuthBearer:
		return "kafka.sasl.oauth_token_file"
	case config.SASLAWSMSKIAM:
		return "kafka.sasl.mechanism"
	}
	return "kafka.sasl.password"
}

// saslWhat names the credentials of mech.
func saslWhat(mech string) string {
	switch mech {
	case config.SASLOAuthBearer:
		return "the token in kafka.sasl.oauth_token_file"
	case config.SASLAWSMSKIAM:
		return "the AWS credentials in " + config.EnvAWSAccessKeyID + "/" + config.EnvAWSSecretAccessKey + "/" + config.EnvAWSSessionToken + " and their IAM policy"
	}
	if mech == config.SASLScramSHA256 || mech == config.SASLScramSHA512 {
		return "kafka.sasl.username and kafka.sasl.password, and kafka.sasl.mechanism (a user's SCRAM credentials are for one mechanism)"
	}
	return "kafka.sasl.username and kafka.sasl.password"
}

// saslUser is ` as "user"` for the mechanisms with a user name, else "".
func saslUser(k config.Kafka) string {
	if k.SASL.Username == "" {
		return ""
	}
	switch k.SASL.MechanismName() {
	case config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512:
		return fmt.Sprintf(" as %q", k.SASL.Username)
	}
	return ""
}

// tlsAlert reports whether err is a TLS alert the broker sent ("remote
// error: tls: …") whose description contains one of descs ("" matches any).
// crypto/tls does not export the alert type of a received alert, so its text
// is matched.
func tlsAlert(err error, descs ...string) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		return false
	}
	msg := op.Err.Error()
	for _, d := range descs {
		if strings.Contains(msg, d) {
			return true
		}
	}
	return false
}

// isDialError reports whether err is a failed dial: refused, unreachable,
// DNS, or a timeout before a connection existed.
func isDialError(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// closedByBroker reports whether the broker closed the connection mid-way.
func closedByBroker(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// Probe connects to the cluster k describes with Options(k) and asks for its
// metadata, once per seed broker, without the retries a long-lived client
// makes, so a wrong setting is reported within timeout. It returns the
// brokers the cluster lists, or the Diagnose'd *Failure (or the
// *config.FieldError of Options). Unlike Diagnose alone, Probe also knows at
// which step a broker closed the connection — during the TLS handshake
// (a TLS client on a PLAINTEXT listener) or during SASL authentication (a
// broker that refuses credentials by closing, as kfake does) — and says so.
func Probe(ctx context.Context, k config.Kafka, timeout time.Duration) (kadm.BrokerDetails, error) {
	c, err := Connect(k)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(c.Options(), kgo.RequestRetries(1), kgo.RetryTimeout(timeout), kgo.DialTimeout(timeout))...)
	if err != nil {
		return nil, c.diagnose(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return nil, c.diagnose(err)
	}
	return md.Brokers, nil
}

// Conn is the connection to the cluster of kafka.* that one command (an
// operator's command, a replay) makes all its clients with: the options of
// Options plus a hook, shared by those clients, that follows how far their
// connections got. Explain uses it to turn a failed request into a *Failure
// naming the configuration keys, and to tell a broker that closed the
// connection during the TLS handshake or SASL authentication (the error
// alone says only EOF) from one that cannot be reached. Safe for concurrent
// use.
type Conn struct {
	k     config.Kafka
	opts  []kgo.Opt
	steps *stepHook
}

// Connect returns the Conn of k. Its error is Options' (a *config.FieldError
// naming the key).
func Connect(k config.Kafka) (*Conn, error) {
	opts, err := Options(k)
	if err != nil {
		return nil, err
	}
	steps := &stepHook{}
	return &Conn{k: k, opts: append(opts, kgo.WithHooks(steps)), steps: steps}, nil
}

// Options returns the options of every client of the Conn: Options(k) and
// the Conn's hook (a new slice each time: callers append their own).
func (c *Conn) Options() []kgo.Opt { return slices.Clone(c.opts) }

// Admin returns an admin client of the Conn, as the package's Admin makes it.
func (c *Conn) Admin() (*kadm.Client, func(), error) { return admin(c.Options(), c.k.ClientID) }

// Explain returns err explained for an operator when it is a failure to use
// the cluster: a *Failure (Diagnose, plus the step at which a broker closed a
// connection) of kind Unreachable, TLSHandshake, SASLAuthentication or
// NotAuthorized, naming the keys to check (kafka.brokers, kafka.tls.*,
// kafka.sasl.*, kafka.topics, kafka.group) and, in its reason, err itself
// (what the command was doing). A connection error counts only when a client
// of the Conn failed to connect, write or read, so an error of another party
// (an HTTP call to Zoho: *url.Error) is never taken for Kafka's. Every other
// error — kind Other, a *config.FieldError, the command's own — and an
// error already holding a *Failure are returned as they are; nil is nil. The
// result holds no secret (Failure never does).
func (c *Conn) Explain(err error) error {
	var f *Failure
	var urlErr *url.Error
	if err == nil || errors.As(err, &f) || errors.As(err, &urlErr) {
		return err
	}
	var kafkaErr *kerr.Error
	if !errors.As(err, &kafkaErr) && !c.steps.failed() {
		return err
	}
	if f = c.diagnose(err); f.Kind == Other {
		return err
	}
	return f
}

// diagnose is Diagnose of err, marked with the step a connection was closed in.
func (c *Conn) diagnose(err error) *Failure { return Diagnose(c.steps.mark(err), c.k) }

// stepHook records how far connections got: whether any request was written
// (so TCP and TLS were up), whether a SASL request failed, and whether any
// connection, write or read failed.
type stepHook struct {
	mu         sync.Mutex
	wrote      bool
	saslFailed bool
	anyFailed  bool
}

func (h *stepHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.anyFailed = true
	}
}

func (h *stepHook) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.wrote = h.wrote || err == nil
	h.anyFailed = h.anyFailed || err != nil
	if err != nil && isSASL(key) {
		h.saslFailed = true
	}
}

func (h *stepHook) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.anyFailed = h.anyFailed || err != nil
	if err != nil && isSASL(key) {
		h.saslFailed = true
	}
}

// failed reports whether a connection, a write or a read failed.
func (h *stepHook) failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.anyFailed
}

// isSASL reports whether the Kafka API key is a SASL request's
// (SaslHandshake or SaslAuthenticate).
func isSASL(key int16) bool {
	k := kmsg.Key(key)
	return k == kmsg.SASLHandshake || k == kmsg.SASLAuthenticate
}

// mark wraps a connection closed by the broker with the step it was closed in.
func (h *stepHook) mark(err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !closedByBroker(err):
		return err
	case h.saslFailed:
		return &closedInStep{step: stepSASL, err: err}
	case !h.wrote:
		return &closedInStep{step: stepTLSHandshake, err: err}
	}
	return err
}

// The steps of a connection in which a broker may close it.
const (
	stepTLSHandshake = "TLS handshake"
	stepSASL         = "SASL authentication"
)

// closedInStep is a connection the broker closed during step.
type closedInStep struct {
	step string
	err  error
}

// Error is the error's own: the Failure's reason says the step.
func (e *closedInStep) Error() string { return e.err.Error() }
func (e *closedInStep) Unwrap() error { return e.err }
