package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/kafkaconn"
)

// kafkaCommands are the operators' commands that use the cluster, each with
// the arguments of one run. config validate --online has its checklist
// (TestConfigValidateOnlineSecured).
var kafkaCommands = [][]string{
	{"dlq", "inspect"},
	{"dlq", "inspect", "--code", "INVALID_DATA", "-o", "json"},
	{"dlq", "stats"},
	{"dlq", "replay", "--to-source", "--dry-run"},
	{"dlq", "replay", "--to-source"},
	{"dlq", "replay", "--direct"},
	{"offsets", "show"},
	{"offsets", "reset", "--to", "earliest"},
	{"offsets", "reset", "--to", "earliest", "--execute"},
}

// TestOperatorCommandsExplainKafkaFailures: every operator command that uses
// the cluster fails (main exits 1) with what failed and the configuration
// keys to check — brokers that cannot be reached, SASL credentials the
// broker refuses, a broker certificate of an authority not configured —
// and never shows the password.
func TestOperatorCommandsExplainKafkaFailures(t *testing.T) {
	if kafkatest.External() {
		t.Skip("runs on an in-process kfake cluster secured with TLS and SCRAM")
	}
	const wrong = "not-the-Password-123"
	_, brokers, _ := kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{Mechanism: "SCRAM-SHA-256"})
	e := newOpsEnvOn(t, brokers, 1)
	closed := kafkatest.ClosedAddr(t)

	for _, tc := range []struct {
		name   string
		change func(kafka map[string]any)
		kind   kafkaconn.Kind
		want   []string // in the error, in this order
	}{
		{"unreachable", func(k map[string]any) { k["brokers"] = []string{closed} },
			kafkaconn.Unreachable, []string{"kafka.brokers: broker unreachable: cannot connect to " + closed}},
		{"wrong SASL password", func(k map[string]any) { k["sasl"].(map[string]any)["password"] = wrong },
			kafkaconn.SASLAuthentication, []string{`kafka.sasl.password: SASL authentication failed: the broker closed the connection while authenticating SCRAM-SHA-256 as "zohosink"`,
				"check kafka.sasl.username and kafka.sasl.password, and kafka.sasl.mechanism"}},
		{"unknown CA", func(k map[string]any) { delete(k["tls"].(map[string]any), "ca_file") },
			kafkaconn.TLSHandshake, []string{"kafka.tls.ca_file: TLS handshake failed: the broker's certificate is signed by an authority the system does not trust"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.settings()
			tc.change(s["kafka"])
			path := e.writeConfig(s)
			for _, args := range kafkaCommands {
				start := time.Now()
				out, err := runConsumer(path, args...)
				cmd := strings.Join(args, " ")
				var f *kafkaconn.Failure
				switch {
				case err == nil:
					t.Errorf("%s: no error (exit 0):\n%s", cmd, out)
					continue
				case !errors.As(err, &f) || f.Kind != tc.kind:
					t.Errorf("%s: err = %v, want a %q failure", cmd, err, tc.kind)
				}
				msg := err.Error()
				at := 0
				for _, w := range tc.want {
					i := strings.Index(msg[at:], w)
					if i < 0 {
						t.Errorf("%s: the error lacks %q (in order):\n%s", cmd, w, msg)
						break
					}
					at += i + len(w)
				}
				if strings.Contains(msg+out, wrong) || strings.Contains(msg+out, kafkatest.Settings(brokers).SASL.Password.Value()) {
					t.Errorf("%s: the error or output shows a password:\n%s\n%s", cmd, msg, out)
				}
				t.Logf("%s: %v (%s)", cmd, err, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// TestOperatorCommandsExplainNotAuthorized: a user the cluster's ACLs deny
// the topics is told "not authorized" with kafka.topics and kafka.dlq_topic;
// allowed the topics but not the group, with kafka.group.
func TestOperatorCommandsExplainNotAuthorized(t *testing.T) {
	if kafkatest.External() {
		t.Skip("runs on an in-process kfake cluster with ACLs")
	}
	_, brokers, _ := kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{Mechanism: "SCRAM-SHA-512"}, kfake.EnableACLs())
	user, password := "limited", "limited-password-1"
	kafkatest.AddSCRAMUser(t, brokers, user, password)
	e := newOpsEnvOn(t, brokers, 1)
	path := e.writeConfigAs(user, password)

	wantFailure := func(args []string, key string, want ...string) {
		t.Helper()
		_, err := runConsumer(path, args...)
		var f *kafkaconn.Failure
		if !errors.As(err, &f) || f.Kind != kafkaconn.NotAuthorized || f.Key != key {
			t.Errorf("%v: err = %v, want %q not authorized", args, err, key)
			return
		}
		wantLines(t, err.Error(), want...)
		if strings.Contains(err.Error(), password) {
			t.Errorf("%v: the error shows the password: %v", args, err)
		}
	}
	topicDenied := []string{"kafka.topics: not authorized: an ACL denies this principal a topic", `kafka.dlq_topic "` + e.dlqTopic + `"`}
	wantFailure([]string{"dlq", "inspect"}, "kafka.topics", topicDenied...)
	wantFailure([]string{"dlq", "replay", "--to-source"}, "kafka.topics", topicDenied...)

	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	adm := kadm.NewClient(kafkatest.Client(t, brokers)) // the superuser
	acl := kadm.NewACLs().Allow("User:"+user).Topics(e.topic, e.dlqTopic).
		Operations(kadm.OpDescribe, kadm.OpRead, kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral)
	if _, err := adm.CreateACLs(ctx, acl); err != nil {
		t.Fatal(err)
	}
	groupDenied := `kafka.group: not authorized: an ACL denies this principal the consumer group "` + e.group + `"`
	wantFailure([]string{"offsets", "show"}, "kafka.group", groupDenied)
	wantFailure([]string{"dlq", "replay", "--to-source"}, "kafka.group", groupDenied, e.group+".dlq-replay")
}

// TestDLQUnknownCode: a --code that is neither a known Zoho or local error
// code nor in the dead-letter topic is an error listing the known codes and
// the topic's (inspect, stats and replay alike), and nothing is replayed; a
// known code that matches nothing is "no records"; a code Zoho does not
// document but the topic holds is shown.
func TestDLQUnknownCode(t *testing.T) {
	e := newOpsEnv(t, 1)
	dead := []dlq.Record{
		{Value: []byte(`{"type":"identify"}`), Code: "INVALID_DATA", Field: "Plan", Message: "invalid data", SourceTopic: e.topic, FailedAt: time.Now()},
		{Value: []byte(`{"type":"identify"}`), Code: "INVALID_DATA", Field: "Plan", Message: "invalid data", SourceTopic: e.topic, SourceOffset: 1, FailedAt: time.Now()},
		{Value: []byte(`{"type":"identify"}`), Code: "SOME_NEW_ZOHO_CODE", Message: "new", SourceTopic: e.topic, SourceOffset: 2, FailedAt: time.Now()},
	}
	for _, d := range dead {
		kafkatest.Produce(t, e.brokers, e.dlqTopic, d.KafkaRecord(e.dlqTopic))
	}

	for _, args := range [][]string{
		{"dlq", "inspect", "--code", "INVALID_DAT"},
		{"dlq", "stats", "--code", "INVALID_DAT"},
		{"dlq", "replay", "--to-source", "--code", "INVALID_DAT"},
		{"dlq", "replay", "--direct", "--dry-run", "--code", "INVALID_DAT"},
	} {
		out, err := e.run(args...)
		var uc *dlq.UnknownCodeError
		if !errors.As(err, &uc) {
			t.Fatalf("%v: err = %v, want an unknown-code error\n%s", args, err, out)
		}
		wantLines(t, err.Error(),
			"--code INVALID_DAT: no record of "+e.dlqTopic+" has this code, and it is not a known Zoho or local error code.",
			"Known codes: DECODE_ERROR, MISSING_EMAIL, REQUEST_REJECTED, MANDATORY_NOT_FOUND, INVALID_DATA, DUPLICATE_DATA, MULTIPLE_OR_MULTI_ERRORS,",
			"Codes in "+e.dlqTopic+": INVALID_DATA (2), SOME_NEW_ZOHO_CODE (1).")
	}
	if pos := (&dlqEnv{opsEnv: e}).replayPosition(defaultReplayGroup(e.group, dlqSelection{code: "INVALID_DAT"})); pos != -1 {
		t.Errorf("the refused replay committed a position: %d", pos)
	}

	// Known codes, in any case, and the topic's own codes are no problem.
	wantLines(t, mustRun(t, e.cfgPath, "dlq", "inspect", "--code", "duplicate_data"), "No dead-letter records in "+e.dlqTopic+" match.")
	wantLines(t, mustRun(t, e.cfgPath, "dlq", "inspect", "--code", "some_new_zoho_code"), "SOME_NEW_ZOHO_CODE", "1 records")
	wantLines(t, mustRun(t, e.cfgPath, "dlq", "stats", "--code", "invalid_data"), "2 records of 2 distinct source records")
}
