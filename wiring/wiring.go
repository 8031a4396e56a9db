package wiring

import (
	"context"
	"net/http"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq/replay"
	"github.com/zohosink/zohosink/kafkaconn"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
)

// Logger builds a zap logger of the given level (debug|info|warn|error) and
// format (json: zap's production encoder; anything else: the console
// encoder, without stack traces). An unknown level is an error.
func Logger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if format != "json" {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	return zc.Build()
}

// ZohoClient builds the Zoho client and its token source from zoho.*: the
// hosts (cfg.Endpoints; its error when they do not resolve), the
// credentials, zoho.token_cache_file and zoho.request_timeout (for each
// token request and each API attempt).
func ZohoClient(cfg *config.Config, log *zap.Logger) (*zohoapi.Client, error) {
	eps, err := cfg.Endpoints()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: cfg.Zoho.RequestTimeout}
	tokens := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: cfg.Credentials(),
		HTTPClient:  hc,
		CacheFile:   cfg.Zoho.TokenCacheFile,
		Logger:      log,
	})
	// No HTTPClient: the client's own transport keeps an idle connection per
	// concurrent upsert (net/http's default keeps 2 per host, so every call
	// past the second would open a new TLS connection to Zoho).
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: tokens, Timeout: cfg.Zoho.RequestTimeout}), nil
}

// PipelineOptions translates the configuration into pipeline options: every
// setting from its key, the Kafka connection from a kafkaconn.Conn (its options, and its Explain for the errors the pipeline logs; its
// error when a kafka.tls file cannot be read), zoho as the upsert client and
// log as the logger. Tokens, Credentials and Fields are left for the caller
// (NewPipeline sets them from the Zoho client).
func PipelineOptions(cfg *config.Config, zoho delivery.Upserter, log *zap.Logger) (pipeline.Options, error) {
	conn, err := kafkaconn.Connect(cfg.Kafka)
	if err != nil {
		return pipeline.Options{}, err
	}
	return pipeline.Options{
		Brokers:                cfg.Kafka.Brokers,
		Topics:                 cfg.Kafka.Topics,
		Group:                  cfg.Kafka.Group,
		DLQTopic:               cfg.Kafka.DLQTopic,
		ClientID:               cfg.Kafka.ClientID,
		CommitInterval:         cfg.Kafka.CommitInterval,
		SessionTimeout:         cfg.Kafka.SessionTimeout,
		FetchMaxBytes:          cfg.Kafka.FetchMaxBytes,
		MaxMessageBytes:        cfg.Kafka.MaxMessageBytes,
		StartAtLatest:          cfg.Kafka.StartOffset == config.StartLatest,
		KafkaOptions:           conn.Options(),
		ExplainKafka:           conn.Explain,
		Module:                 cfg.Zoho.Module,
		DuplicateCheckFields:   cfg.EffectiveDuplicateCheckFields(),
		Trigger:                cfg.Zoho.Trigger,
		Zoho:                   zoho,
		Mapping:                cfg.MapperConfig(),
		FieldsRefreshInterval:  cfg.Zoho.FieldsRefreshInterval,
		FieldsMinStaleInterval: cfg.Zoho.FieldsMinStaleInterval,
		Batch: batcher.Config{
			MaxRecords:  cfg.Batch.MaxRecords,
			Linger:      cfg.Batch.Linger,
			MaxInFlight: cfg.Delivery.MaxInFlight,
			MaxBuffered: cfg.EffectiveMaxBuffered(),
		},
		RetryInitial:       cfg.Delivery.RetryInitial,
		RetryMax:           cfg.Delivery.RetryMax,
		ThrottleBackoff:    cfg.Delivery.ThrottleBackoff,
		BreakerFailures:    uint32(cfg.Delivery.BreakerFailures),
		BreakerOpenTimeout: cfg.Delivery.BreakerOpenTimeout,
		ShutdownGrace:      cfg.Delivery.ShutdownGrace,
		CreditSaver:        cfg.Delivery.CreditSaver,
		CreditSaverKeys:    cfg.Delivery.CreditSaverKeys,
		CreditSaverTTL:     cfg.Delivery.CreditSaverTTL,
		DailyCreditBudget:  cfg.Zoho.DailyCreditBudget,
		Logger:             log,
	}, nil
}

// ReplayOptions are the options of a dead-letter replay of group (`consumer
// dlq replay --direct`), from the same settings as PipelineOptions:
// the delivery settings, the mapping, the batches, the Kafka connection;
// dlqLimit is its dead-letter producer's limit (topics.Limits.ProducerLimit).
func ReplayOptions(cfg *config.Config, zoho delivery.Upserter, log *zap.Logger, group string, dlqLimit int32) (replay.Options, error) {
	po, err := PipelineOptions(cfg, zoho, log)
	if err != nil {
		return replay.Options{}, err
	}
	return replay.Options{
		Group: group, DLQTopic: po.DLQTopic, DLQLimit: dlqLimit, KafkaOptions: po.KafkaOptions,
		Delivery: po.DeliveryOptions(), Mapping: po.Mapping, Batch: po.Batch, Logger: log,
	}, nil
}

// FieldsMetadata reads the Fields metadata of zoho.module once from src (the
// Zoho client), bounded by zoho.request_timeout, for a mapper outside `run`
// (`dlq replay --direct` and its dry run): the result is
// mapping.MapperConfig.Metadata. When the read fails it returns nil and the
// error: values are then converted as without metadata (sent untyped).
func FieldsMetadata(ctx context.Context, cfg *config.Config, src fieldcache.Source) (func() *fieldcache.Snapshot, error) {
	module := cfg.Zoho.Module
	cache, err := fieldcache.New(fieldcache.Options{Source: src, Modules: []string{module}})
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, cfg.Zoho.RequestTimeout)
		err = cache.Refresh(ctx, module)
		cancel()
	}
	if err != nil {
		return nil, err
	}
	snap := cache.Snapshot(module)
	return func() *fieldcache.Snapshot { return snap }, nil
}

// NewPipeline builds the pipeline as `consumer run` runs it: the Zoho client
// (ZohoClient), PipelineOptions with that client, and its token source on
// /metrics and as the credentials checked at start, and the client as the
// source of the module's Fields metadata. Errors are ZohoClient's, PipelineOptions' and pipeline.New's.
func NewPipeline(cfg *config.Config, log *zap.Logger) (*pipeline.Pipeline, error) {
	zc, err := ZohoClient(cfg, log)
	if err != nil {
		return nil, err
	}
	o, err := PipelineOptions(cfg, zc, log)
	if err != nil {
		return nil, err
	}
	o.Tokens = zc.Tokens()
	o.Credentials = zc.Tokens()
	o.Fields = zc
	return pipeline.New(o)
}
