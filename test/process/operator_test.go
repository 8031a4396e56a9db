package process_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestOperatorCommandsFailWithDiagnosis: the built binary's operator
// commands that use Kafka, run against brokers that cannot be reached and
// with SASL credentials the broker refuses, exit 1 and say on stderr what
// failed and the configuration keys to check, without the password.
func TestOperatorCommandsFailWithDiagnosis(t *testing.T) {
	if kafkatest.External() {
		t.Skip("runs on an in-process kfake cluster secured with TLS and SCRAM")
	}
	const wrong = "not-the-Password-123"
	_, brokers, _ := kafkatest.SecureFakeCluster(t, kafkatest.FakeSecurity{Mechanism: "SCRAM-SHA-512"})
	e := newEnvOn(t, brokers, 1, zohosim.Options{})
	closed := kafkatest.ClosedAddr(t)

	for _, tc := range []struct {
		name   string
		change func(kafka map[string]any)
		want   []string // on stderr
	}{
		{"unreachable", func(k map[string]any) { k["brokers"] = []string{closed} },
			[]string{"error: kafka.brokers: broker unreachable: cannot connect to " + closed}},
		{"wrong SASL password", func(k map[string]any) { k["sasl"].(map[string]any)["password"] = wrong },
			[]string{"error: kafka.sasl.password: SASL authentication failed", "check kafka.sasl.username and kafka.sasl.password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := e.writeConfig("ops", procConfig{})
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			if err := yaml.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			tc.change(cfg["kafka"].(map[string]any))
			if b, err = yaml.Marshal(cfg); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"dlq", "inspect"}, {"dlq", "stats"}, {"dlq", "replay", "--to-source"},
				{"offsets", "show"}, {"offsets", "reset", "--to", "earliest", "--execute"},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				cmd := exec.CommandContext(ctx, consumerBin, append(args, "--config", path)...)
				cmd.Env = childEnv()
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				cancel()
				name := strings.Join(args, " ")
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 {
					t.Errorf("%s: %v, want exit status 1\nstdout: %s\nstderr: %s", name, err, &stdout, &stderr)
				}
				wantIn(t, name, stderr.String(), tc.want...)
				if strings.Contains(stdout.String()+stderr.String(), wrong) {
					t.Errorf("%s: the output shows the password:\n%s%s", name, &stdout, &stderr)
				}
			}
		})
	}
}

// wantIn reports each of wants that text lacks.
func wantIn(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s: lacks %q:\n%s", what, w, text)
		}
	}
}
