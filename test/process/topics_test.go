package process_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestMissingSourceTopic: `consumer run` on a source topic that does not
// exist says so (an error naming it in the log, /readyz 503 naming it)
// instead of claiming to consume; once the topic is created, /readyz answers
// 200 and its events reach Zoho without a restart.
func TestMissingSourceTopic(t *testing.T) {
	e := newEnv(t, 1, zohosim.Options{})
	e.topic = kafkatest.TopicName(t)
	e.producer = kafkatest.Client(t, e.brokers, kgo.DefaultProduceTopic(e.topic))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := e.start("missing-1", procConfig{Listen: addr})
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	e.eventually(60*time.Second, "/readyz answers 503 naming the missing topic", func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, e.topic) && strings.Contains(body, "do not exist")
	})
	e.eventually(10*time.Second, "the log names the missing topic", func() bool {
		b, _ := os.ReadFile(p.logPath)
		return strings.Contains(string(b), "source topic does not exist") && strings.Contains(string(b), e.topic)
	})

	ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
	defer cancel()
	if _, err := e.adm.CreateTopic(ctx, 1, 1, nil, e.topic); err != nil {
		t.Fatal(err)
	}
	s := &stream{users: 5}
	e.produce(s.take(20))
	e.eventually(60*time.Second, "/readyz answers 200", func() bool {
		code, _ := readyz()
		return code == http.StatusOK
	})
	e.waitCommitted(60 * time.Second)
	e.checkLeads(s)
	if code := e.terminate(p, 15*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
}
