//go:build testcontainers

package kafkatest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// EnvKafkaImage names the environment variable that overrides the container
// image of the testcontainers path. The image must be an Apache Kafka image
// (apache/kafka or apache/kafka-native) that reads KAFKA_* variables and starts
// through /etc/kafka/docker/run.
const EnvKafkaImage = "ZOHOSINK_KAFKA_IMAGE"

// DefaultKafkaImage is the broker image of the testcontainers path: the same
// Apache Kafka version as scripts/kafka-local.
const DefaultKafkaImage = "apache/kafka:4.4.0"

const (
	containerPort    = "9093/tcp" // PLAINTEXT, advertised as the host's mapped port
	containerStarter = "/tmp/zohosink-start.sh"
)

// One container serves the whole test binary: starting Kafka in Docker takes
// seconds, and tests isolate themselves by topic and group names anyway. It is
// never terminated explicitly; testcontainers' reaper (Ryuk) removes it when
// the test process exits.
var shared struct {
	once    sync.Once
	brokers []string
	skip    string // non-empty: no Docker engine, skip with this message
	err     error
}

// containerBrokers returns the bootstrap address of a single-node Apache
// Kafka container (KRaft, combined broker and controller, replication 1,
// group.initial.rebalance.delay.ms=0), starting it on first use. Without a
// reachable Docker engine the test is skipped with a message saying so.
func containerBrokers(t testing.TB) []string {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if msg := dockerMissing(ctx); msg != "" {
			shared.skip = msg
			return
		}
		shared.brokers, shared.err = startKafkaContainer(ctx)
	})
	switch {
	case shared.skip != "":
		t.Skipf("kafkatest: %s=1 but %s", EnvTestcontainers, shared.skip)
	case shared.err != nil:
		t.Fatalf("kafkatest: starting the Kafka container: %v", shared.err)
	}
	return shared.brokers
}

// dockerMissing returns why no Docker engine can be used, or "" when one
// answers. testcontainers panics in some set-ups without Docker; that counts
// as missing too.
func dockerMissing(ctx context.Context) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("no Docker engine is reachable (%v)", r)
		}
	}()
	p, err := testcontainers.ProviderDefault.GetProvider()
	if err != nil {
		return fmt.Sprintf("no Docker engine is reachable: %v", err)
	}
	defer p.Close()
	if err := p.Health(ctx); err != nil {
		return fmt.Sprintf("no Docker engine is reachable: %v", err)
	}
	return ""
}

func startKafkaContainer(ctx context.Context) ([]string, error) {
	img := os.Getenv(EnvKafkaImage)
	if img == "" {
		img = DefaultKafkaImage
	}
	// The advertised listener must carry the host port Docker maps, which is
	// known only once the container runs: the container waits for a starter
	// script that the post-start hook writes with that address, as
	// testcontainers' own Kafka module does.
	ctr, err := testcontainers.Run(ctx, img,
		testcontainers.WithExposedPorts(containerPort),
		testcontainers.WithEnv(map[string]string{
			"KAFKA_NODE_ID":                                          "1",
			"KAFKA_PROCESS_ROLES":                                    "broker,controller",
			"KAFKA_LISTENERS":                                        "PLAINTEXT://0.0.0.0:9093,BROKER://0.0.0.0:9092,CONTROLLER://0.0.0.0:9094",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":                   "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"KAFKA_INTER_BROKER_LISTENER_NAME":                       "BROKER",
			"KAFKA_CONTROLLER_LISTENER_NAMES":                        "CONTROLLER",
			"KAFKA_CONTROLLER_QUORUM_VOTERS":                         "1@localhost:9094",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":                 "1",
			"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS":                     "3",
			"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR":         "1",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":                    "1",
			"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
			"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR":            "1",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":                 "0",
			"KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS":                     "1000",
			"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                        "true",
			"KAFKA_NUM_PARTITIONS":                                   "1",
		}),
		testcontainers.WithEntrypoint("sh"),
		testcontainers.WithCmd("-c", "while [ ! -f "+containerStarter+" ]; do sleep 0.1; done; exec bash "+containerStarter),
		testcontainers.WithLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostStarts: []testcontainers.ContainerHook{
				func(ctx context.Context, c testcontainers.Container) error {
					if err := wait.ForMappedPort(containerPort).WaitUntilReady(ctx, c); err != nil {
						return fmt.Errorf("wait for mapped port: %w", err)
					}
					endpoint, err := c.PortEndpoint(ctx, containerPort, "PLAINTEXT")
					if err != nil {
						return fmt.Errorf("port endpoint: %w", err)
					}
					inspect, err := c.Inspect(ctx)
					if err != nil {
						return fmt.Errorf("inspect: %w", err)
					}
					script := fmt.Sprintf("#!/bin/bash\nexport KAFKA_ADVERTISED_LISTENERS=%s,BROKER://%s:9092\nexec /etc/kafka/docker/run\n",
						endpoint, inspect.Config.Hostname)
					if err := c.CopyToContainer(ctx, []byte(script), containerStarter, 0o755); err != nil {
						return fmt.Errorf("copy starter script: %w", err)
					}
					return wait.ForLog("Kafka Server started").WithStartupTimeout(3*time.Minute).WaitUntilReady(ctx, c)
				},
			},
		}),
	)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
		return nil, fmt.Errorf("run %s: %w", img, err)
	}
	endpoint, err := ctr.PortEndpoint(ctx, containerPort, "")
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return nil, fmt.Errorf("broker address: %w", err)
	}
	brokers := []string{endpoint}
	if err := WaitReady(ctx, brokers); err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return nil, err
	}
	return brokers, nil
}
