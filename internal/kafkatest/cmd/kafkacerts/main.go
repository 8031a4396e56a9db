// Command kafkacerts writes a throwaway certificate authority for the SASL_SSL
// listener of scripts/kafka-local: ca.pem (what clients trust,
// kafka.tls.ca_file), server.pem and server-key.pem (the broker's certificate
// for 127.0.0.1 and localhost), broker-keystore.pem (the key and certificate
// in one file, Kafka's ssl.keystore.type=PEM), and a client certificate
// (client.pem, client-key.pem). Everything is generated anew on each run
// (internal/tlstest) and valid for 30 days.
//
// Usage: go run ./internal/kafkatest/cmd/kafkacerts -dir .cache/kafka-local/tls
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zohosink/zohosink/internal/tlstest"
)

func main() {
	dir := flag.String("dir", "", "folder to write the PEM files into (created 0700)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "kafkacerts: -dir is required")
		os.Exit(2)
	}
	if err := run(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "kafkacerts: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := tlstest.Generate(dir, 30*24*time.Hour)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(ca.ServerKeyFile)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(ca.ServerCertFile)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "broker-keystore.pem"), append(key, cert...), 0o600)
}
