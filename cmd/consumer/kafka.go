package main

import (
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/kafkaconn"
)

// kafkaOpts are the connection options (brokers, client id, TLS, SASL) of
// every Kafka client the commands make: kafkaconn.Options of kafka.*.
func kafkaOpts(cfg *config.Config) ([]kgo.Opt, error) {
	return kafkaconn.Options(cfg.Kafka)
}

// warnSecurity writes the configuration's kafka.tls / kafka.sasl warnings
// (config.Kafka.SecurityWarnings) to w, one "warning: …" line each.
func warnSecurity(w io.Writer, cfg *config.Config) {
	for _, s := range cfg.Kafka.SecurityWarnings() {
		fmt.Fprintln(w, "warning: "+s)
	}
}
