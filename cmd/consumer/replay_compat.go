package main

import (
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/wiring"
)

// This file keeps the names that dlq_replay.go calls, which is being
// rewritten onto delivery.Sender and dlq/replay (issue 9): the logic moved to
// wiring, internal/tables and dlq, and these only forward to it. Delete the
// file once dlq_replay.go calls those packages itself.

// Forwarders to the functions that replaced them.
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
func pipelineOptions(cfg *config.Config, zoho delivery.Upserter, log *zap.Logger) pipeline.Options {
	o, _ := wiring.PipelineOptions(cfg, zoho, log)
	return o
}
