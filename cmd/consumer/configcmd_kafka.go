package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/kafkaconn"
)

// probeTimeout bounds the connection check of config validate --online.
const probeTimeout = 15 * time.Second

// checkKafkaConnection prints the kafka.tls / kafka.sasl warnings, connects
// as every command does (kafkaconn) and reports the connection, or why it
// failed (kafkaconn.Diagnose: unreachable, TLS handshake, SASL, not
// authorized) with the key to fix. It reports whether the connection works.
func checkKafkaConnection(ctx context.Context, cl *checklist, cfg *config.Config) bool {
	for _, w := range cfg.Kafka.SecurityWarnings() {
		cl.warn("%s", w)
	}
	brokers, err := kafkaconn.Probe(ctx, cfg.Kafka, probeTimeout)
	if err != nil {
		cl.fail("%v", err)
		return false
	}
	cl.ok("kafka.brokers: connected%s; the cluster has %d broker(s)", connectionLabel(cfg.Kafka), len(brokers))
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
func checkGroupAccess(ctx context.Context, cl *checklist, adm *kadm.Client, cfg *config.Config) {
	groups, err := adm.DescribeGroups(ctx, cfg.Kafka.Group)
	if err == nil {
		err = groups.Error()
	}
	switch {
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		cl.fail("kafka.group: group %q: not authorized: an ACL denies this client the group (it needs DESCRIBE and READ)", cfg.Kafka.Group)
	case errors.Is(err, kerr.GroupIDNotFound):
		cl.ok("kafka.group: group %q is new: the first `consumer run` starts it", cfg.Kafka.Group)
	case err != nil:
		cl.fail("kafka.group: group %q: %v", cfg.Kafka.Group, kafkaconn.Diagnose(err, cfg.Kafka))
	default:
		g := groups[cfg.Kafka.Group]
		cl.ok("kafka.group: group %q is accessible (%s, %d member(s))", cfg.Kafka.Group, g.State, len(g.Members))
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
