package main

import (
	"context"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/kafkaconn"
)

// withKafka runs fn, the part of a command that uses the cluster, with the
// connection of kafka.* (kafkaconn.Connect): every client fn makes is made
// of conn.Options() or conn.Admin(). A failure to use the cluster comes back
// as kafkaconn.Conn.Explain says it (what failed and the configuration keys
// to check); main then exits 1.
func withKafka(cfg *config.Config, fn func(conn *kafkaconn.Conn) error) error {
	conn, err := kafkaconn.Connect(cfg.Kafka)
	if err != nil {
		return err
	}
	return conn.Explain(fn(conn))
}

// withKafkaAdmin is withKafka for a command that needs only an admin client
// of the connection: fn gets it and a context bounded by
// kafkaconn.AdminTimeout (derived from ctx).
func withKafkaAdmin(ctx context.Context, cfg *config.Config, fn func(ctx context.Context, adm *kadm.Client) error) error {
	return withKafka(cfg, func(conn *kafkaconn.Conn) error {
		adm, closeAdm, err := conn.Admin()
		if err != nil {
			return err
		}
		defer closeAdm()
		ctx, cancel := context.WithTimeout(ctx, kafkaconn.AdminTimeout)
		defer cancel()
		return fn(ctx, adm)
	})
}

// warnSecurity writes the configuration's kafka.tls / kafka.sasl warnings
// (config.Kafka.SecurityWarnings) to w, one "warning: …" line each.
func warnSecurity(w io.Writer, cfg *config.Config) {
	for _, s := range cfg.Kafka.SecurityWarnings() {
		fmt.Fprintln(w, "warning: "+s)
	}
}
