package preflight

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/kafkaconn"
	"github.com/zohosink/zohosink/topics"
)

// checkKafka checks that the source topics and the dead-letter topic
// exist and that the broker grants reading and writing them.
func checkKafka(ctx context.Context, r *Report, cfg *config.Config) {
	r.section("Kafka (brokers %s, group %s)", strings.Join(cfg.Kafka.Brokers, ", "), cfg.Kafka.Group)
	if !checkKafkaConnection(ctx, r, cfg) {
		return
	}
	adm, closeAdm, err := kafkaconn.Admin(cfg.Kafka)
	if err != nil {
		r.fail("kafka.brokers: %v", err)
		return
	}
	defer closeAdm()
	names := append(slices.Clone(cfg.Kafka.Topics), cfg.Kafka.DLQTopic)
	topics, err := listTopicsAuthorized(ctx, adm, names)
	if err != nil {
		r.fail("kafka.brokers: cannot list topics: %v", err)
		return
	}
	for i, name := range cfg.Kafka.Topics {
		key := fmt.Sprintf("kafka.topics[%d]", i)
		td, ok := topics[name]
		switch {
		case ok && errors.Is(td.Err, kerr.TopicAuthorizationFailed):
			r.fail("%s: topic %q: not authorized: an ACL denies this client the topic (it needs DESCRIBE and READ)", key, name)
		case !ok || td.Err != nil:
			r.fail("%s: topic %q does not exist (or is not visible to this client)", key, name)
		case !allowed(td, kadm.OpRead):
			r.fail("%s: topic %q: the broker does not let this client read it (ACL READ)", key, name)
		default:
			r.ok("%s: topic %q exists (%s) and is readable", key, name, tables.Partitions(len(td.Partitions)))
		}
	}
	td, ok := topics[cfg.Kafka.DLQTopic]
	switch {
	case ok && errors.Is(td.Err, kerr.TopicAuthorizationFailed):
		r.fail("kafka.dlq_topic: topic %q: not authorized: an ACL denies this client the topic (it needs DESCRIBE and WRITE)", cfg.Kafka.DLQTopic)
	case !ok || td.Err != nil:
		r.warn("kafka.dlq_topic: topic %q does not exist: `consumer run` creates it with the broker's defaults and a max.message.bytes above the largest source topic's (needs CREATE permission); create it yourself to choose partitions and retention", cfg.Kafka.DLQTopic)
	case !allowed(td, kadm.OpWrite):
		r.fail("kafka.dlq_topic: topic %q: the broker does not let this client write it (ACL WRITE)", cfg.Kafka.DLQTopic)
	default:
		r.ok("kafka.dlq_topic: topic %q exists (%s) and is writable", cfg.Kafka.DLQTopic, tables.Partitions(len(td.Partitions)))
	}
	checkGroupAccess(ctx, r, adm, cfg)
	checkRecordSizes(ctx, r, cfg, adm)
}

// checkRecordSizes compares the topics' max.message.bytes as `consumer run`
// does at start (topics.Describe): a dead-letter topic smaller than a
// source topic fails, a kafka.max_message_bytes below a source topic's warns.
func checkRecordSizes(ctx context.Context, r *Report, cfg *config.Config, adm *kadm.Client) {
	lim, err := topics.Describe(ctx, adm, cfg.Kafka.Topics, cfg.Kafka.DLQTopic)
	if err != nil {
		r.warn("kafka: cannot read the topics' max.message.bytes (ACL DESCRIBE_CONFIGS): %v", err)
		return
	}
	tooSmall := lim.DLQTooSmall()
	for _, e := range tooSmall {
		r.fail("kafka.dlq_topic: %v", e)
	}
	if msg := lim.SettingTooSmall(cfg.Kafka.MaxMessageBytes); msg != "" {
		r.warn("%s", msg)
	}
	if topic, largest := lim.LargestSource(); len(tooSmall) == 0 && !lim.DLQMissing && largest > 0 {
		r.ok("kafka.dlq_topic: max.message.bytes %d, at least the largest source topic's (%d, %q); dead letters are written in batches of up to %d bytes",
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

// probeTimeout bounds the connection check (kafkaconn.Probe).
const probeTimeout = 15 * time.Second

// checkKafkaConnection prints the kafka.tls / kafka.sasl warnings, connects
// as every command does (kafkaconn) and reports the connection, or why it
// failed (kafkaconn.Diagnose: unreachable, TLS handshake, SASL, not
// authorized) with the key to fix. It reports whether the connection works.
func checkKafkaConnection(ctx context.Context, r *Report, cfg *config.Config) bool {
	for _, w := range cfg.Kafka.SecurityWarnings() {
		r.warn("%s", w)
	}
	brokers, err := kafkaconn.Probe(ctx, cfg.Kafka, probeTimeout)
	if err != nil {
		r.fail("%v", err)
		return false
	}
	r.ok("kafka.brokers: connected%s; the cluster has %d broker(s)", connectionLabel(cfg.Kafka), len(brokers))
	return true
}

// connectionLabel says how the connection is secured: " over TLS with SASL
// SCRAM-SHA-512 as "svc"", or "" for PLAINTEXT.
func connectionLabel(k config.Kafka) string {
	s := ""
	if k.TLS.Enabled {
		s = " over TLS"
		if k.TLS.CertFile != "" {
			s += " with a client certificate"
		}
	}
	switch mech := k.SASL.MechanismName(); mech {
	case "":
	case config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512:
		s += fmt.Sprintf(", authenticated with SASL %s as %q", mech, k.SASL.Username)
	default:
		s += ", authenticated with SASL " + mech
	}
	return s
}

// checkGroupAccess checks that the broker lets this client use kafka.group
// (DescribeGroups: an ACL denying the group is GroupAuthorizationFailed).
func checkGroupAccess(ctx context.Context, r *Report, adm *kadm.Client, cfg *config.Config) {
	groups, err := adm.DescribeGroups(ctx, cfg.Kafka.Group)
	if err == nil {
		err = groups.Error()
	}
	switch {
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		r.fail("kafka.group: group %q: not authorized: an ACL denies this client the group (it needs DESCRIBE and READ)", cfg.Kafka.Group)
	case errors.Is(err, kerr.GroupIDNotFound):
		r.ok("kafka.group: group %q is new: the first `consumer run` starts it", cfg.Kafka.Group)
	case err != nil:
		r.fail("kafka.group: group %q: %v", cfg.Kafka.Group, kafkaconn.Diagnose(err, cfg.Kafka))
	default:
		g := groups[cfg.Kafka.Group]
		r.ok("kafka.group: group %q is accessible (%s, %d member(s))", cfg.Kafka.Group, g.State, len(g.Members))
	}
}

// listTopicsAuthorized lists names with their authorized operations. A broker
// answers a metadata request that names a topic the client may not describe
// with TopicAuthorizationFailed for the whole request; then each topic is
// asked for alone, and the denied ones carry that error in their
// TopicDetail.Err.
func listTopicsAuthorized(ctx context.Context, adm *kadm.Client, names []string) (kadm.TopicDetails, error) {
	ctx = kadm.WithAuthorizedOps(ctx)
	topics, err := adm.ListTopics(ctx, names...)
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		return topics, err
	}
	topics = kadm.TopicDetails{}
	for _, name := range names {
		one, err := adm.ListTopics(ctx, name)
		switch {
		case errors.Is(err, kerr.TopicAuthorizationFailed):
			topics[name] = kadm.TopicDetail{Topic: name, Err: err}
		case err != nil:
			return nil, err
		default:
			maps.Copy(topics, one)
		}
	}
	return topics, nil
}
