package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/wiring"
)

// loadConfig loads --config plus the environment, listing every problem at once.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(path, cmd.Flags())
	if err != nil {
		return cfg, fmt.Errorf("configuration is not valid:\n%w", err)
	}
	warnSecurity(cmd.ErrOrStderr(), cfg)
	return cfg, nil
}

// The names dlq_replay.go calls, which is being rewritten onto
// delivery.Sender and dlq/replay; they go once it calls package wiring itself.
var (
	newLogger     = wiring.Logger
	newZohoClient = wiring.ZohoClient
	renderFitted  = tables.Fitted
	tableWidth    = tables.Width
	formatTime    = tables.Time
	printable     = tables.Printable
)

// dlqPlace is a dead-letter record's offset, with its partition when not 0
// (tables.Offset), for dlq_replay.go.
func dlqPlace(r dlq.Record) string { return tables.Offset(r.DLQPartition, r.DLQOffset) }

// pipelineOptions is wiring.PipelineOptions for dlq_replay.go, which sets
// KafkaOptions itself (kafkaOpts, reporting the error this drops).
func pipelineOptions(cfg *config.Config, zoho pipeline.Upserter, log *zap.Logger) pipeline.Options {
	o, _ := wiring.PipelineOptions(cfg, zoho, log)
	return o
}
