// Command kafkaready waits until a Kafka cluster answers metadata and
// consumer-group coordinator requests, then exits 0; it exits 1 with the last
// error when the timeout passes first. scripts/kafka-local runs it after
// starting the broker, so tests never race a broker that is still electing
// leaders or creating __consumer_offsets.
//
// Usage: go run ./internal/kafkatest/cmd/kafkaready -brokers 127.0.0.1:19092 -timeout 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zohosink/zohosink/internal/kafkatest"
)

func main() {
	brokers := flag.String("brokers", os.Getenv(kafkatest.EnvBrokers), "comma-separated bootstrap addresses (default $KAFKA_BROKERS)")
	timeout := flag.Duration("timeout", time.Minute, "how long to wait for the cluster")
	flag.Parse()
	if *brokers == "" {
		fmt.Fprintln(os.Stderr, "kafkaready: -brokers or $KAFKA_BROKERS is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := kafkatest.WaitReady(ctx, strings.Split(*brokers, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "kafkaready: %v\n", err)
		os.Exit(1)
	}
}
