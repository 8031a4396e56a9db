package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

// fakeSecurities are the secured kfake clusters the validate tests use: TLS,
// and TLS with each SASL mechanism kfake supports.
var fakeSecurities = []kafkatest.FakeSecurity{
	{}, {Mechanism: "PLAIN"}, {Mechanism: "SCRAM-SHA-256"}, {Mechanism: "SCRAM-SHA-512"},
}

// TestConfigValidateOnlineSecured: over TLS and each SASL mechanism, the good
// credentials pass every check, and wrong ones fail with the SASL problem
// (not "unreachable" or a missing topic), naming the key to fix and never
// the password.
func TestConfigValidateOnlineSecured(t *testing.T) {
	if kafkatest.External() {
		t.Skip("runs on in-process kfake clusters")
	}
	for _, sec := range fakeSecurities {
		t.Run("TLS+"+sec.Mechanism, func(t *testing.T) {
			_, brokers, _ := kafkatest.SecureFakeCluster(t, sec)
			e := newOpsEnvOn(t, brokers, 1)
			out, err := e.run("config", "validate", "--online")
			if err != nil {
				t.Fatalf("validate --online: %v\n%s", err, out)
			}
			want := "✓ kafka.brokers: connected over TLS"
			if sec.Mechanism != "" {
				want += ", authenticated with SASL " + sec.Mechanism + ` as "zohosink"`
			}
			wantLines(t, out, want, "✓ kafka.group: group \""+e.group+"\" is new", "✓ All checks passed (0 warning(s)).")
			if sec.Mechanism == "" {
				return
			}

			const wrong = "not-the-Password-123"
			s := e.settings()
			s["kafka"]["sasl"].(map[string]any)["password"] = wrong
			out, err = runConsumer(e.writeConfig(s), "config", "validate", "--online")
			wantExit1(t, err, out)
			wantLines(t, out,
				`✗ kafka.sasl.password: SASL authentication failed: the broker closed the connection while authenticating `+sec.Mechanism+` as "zohosink": check kafka.sasl.username and kafka.sasl.password`,
				"✗ 1 online check(s) failed")
			if strings.Contains(out, wrong) || strings.Contains(out, "kafka.topics[0]") {
				t.Errorf("the report shows the password or goes on to the topics:\n%s", out)
			}
		})
	}
}

// TestConfigValidateOnlineTLSProblems: a certificate of an unknown authority
// and a name mismatch are told apart and name their keys.
func TestConfigValidateOnlineTLSProblems(t *testing.T) {
	if kafkatest.External() {
		t.Skip("runs on in-process kfake clusters")
	}
	_, brokers, _ := kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{Mechanism: "SCRAM-SHA-256"})
	e := newOpsEnvOn(t, brokers, 1)

	s := e.settings()
	delete(s["kafka"]["tls"].(map[string]any), "ca_file") // the system roots
	out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out, "✗ kafka.tls.ca_file: TLS handshake failed: the broker's certificate is signed by an authority the system does not trust")

	s = e.settings()
	s["kafka"]["tls"].(map[string]any)["server_name"] = "kafka.example.com"
	out, err = runConsumer(e.writeConfig(s), "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out, "✗ kafka.tls.server_name: TLS handshake failed: the broker's certificate is for localhost, 127.0.0.1, ::1, not kafka.example.com")

	s = e.settings()
	s["kafka"]["tls"].(map[string]any)["insecure_skip_verify"] = true
	s["kafka"]["tls"].(map[string]any)["server_name"] = "kafka.example.com"
	out, err = runConsumer(e.writeConfig(s), "config", "validate", "--online")
	if err != nil {
		t.Fatalf("validate --online with insecure_skip_verify: %v\n%s", err, out)
	}
	wantLines(t, out, "! kafka.tls.insecure_skip_verify: true: the brokers' certificates are not verified", "✓ All checks passed (1 warning(s)).")
}

// TestConfigValidateOnlineNotAuthorized: a user the cluster's ACLs deny is
// told "not authorized" for the topic or the group, not "does not exist". On
// kfake with ACLs, or on scripts/kafka-local's SASL_SSL listener (its user
// without ACLs).
func TestConfigValidateOnlineNotAuthorized(t *testing.T) {
	var brokers []string
	var user, password string
	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	switch limited := os.Getenv("KAFKA_SASL_LIMITED_USERNAME"); {
	case limited != "":
		brokers = kafkatest.Brokers(t)
		user, password = limited, kafkatest.Settings(brokers).SASL.Password.Value()
	case kafkatest.External():
		t.Skip("needs kfake or the SASL_SSL listener of scripts/kafka-local")
	default:
		_, brokers, _ = kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{Mechanism: "SCRAM-SHA-512"}, kfake.EnableACLs())
		user, password = "limited", "limited-password-1"
		kafkatest.AddSCRAMUser(t, brokers, user, password)
	}
	e := newOpsEnvOn(t, brokers, 1)
	path := e.writeConfigAs(user, password)

	out, err := runConsumer(path, "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out,
		`✓ kafka.brokers: connected over TLS, authenticated with SASL SCRAM-SHA-512 as "`+user+`"`,
		`✗ kafka.topics[0]: topic "`+e.topic+`": not authorized: an ACL denies this client the topic`,
		`✗ kafka.dlq_topic: topic "`+e.dlqTopic+`": not authorized`,
		`✗ kafka.group: group "`+e.group+`": not authorized: an ACL denies this client the group`,
	)

	// Allowed the topics, the group is still denied: told apart.
	adm := kadm.NewClient(kafkatest.Client(t, brokers))
	acl := kadm.NewACLs().Allow("User:"+user).Topics(e.topic, e.dlqTopic).
		Operations(kadm.OpDescribe, kadm.OpRead, kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral)
	if _, err := adm.CreateACLs(ctx, acl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = adm.DeleteACLs(context.Background(), acl) })
	out, err = runConsumer(path, "config", "validate", "--online")
	wantExit1(t, err, out)
	wantLines(t, out,
		`✓ kafka.topics[0]: topic "`+e.topic+`" exists (1 partition) and is readable`,
		`✗ kafka.group: group "`+e.group+`": not authorized`,
		"✗ 1 online check(s) failed",
	)
}
