package main

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
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

// newLogger builds a zap logger of the given level (debug|info|warn|error) and
// format (console|json).
func newLogger(level, format string) (*zap.Logger, error) {
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

// newZohoClient builds the Zoho client (token source included) from the configuration.
func newZohoClient(cfg *config.Config, log *zap.Logger) (*zohoapi.Client, error) {
	eps, err := cfg.Endpoints()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: cfg.Zoho.RequestTimeout}
	tokens := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{
		Endpoints:   eps,
		Credentials: zohoCredentials(cfg),
		HTTPClient:  hc,
		CacheFile:   cfg.Zoho.TokenCacheFile,
		Logger:      log,
	})
	// No HTTPClient: the client's own transport keeps an idle connection per
	// concurrent upsert (net/http's default keeps 2 per host, so every call
	// past the second would open a new TLS connection to Zoho).
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: tokens, Timeout: cfg.Zoho.RequestTimeout}), nil
}

// zohoCredentials are the configured OAuth client and refresh token.
func zohoCredentials(cfg *config.Config) zohoapi.Credentials {
	return zohoapi.Credentials{
		ClientID:     cfg.Zoho.ClientID,
		ClientSecret: cfg.Zoho.ClientSecret.Value(),
		RefreshToken: cfg.Zoho.RefreshToken.Value(),
	}
}

// newPipeline wires the configuration, the Zoho client and the logger into a pipeline.
func newPipeline(cfg *config.Config, log *zap.Logger) (*pipeline.Pipeline, error) {
	zc, err := newZohoClient(cfg, log)
	if err != nil {
		return nil, err
	}
	o := pipelineOptions(cfg, zc, log)
	o.Tokens = zc.Tokens()
	if o.KafkaOptions, err = kafkaOpts(cfg); err != nil {
		return nil, err
	}
	return pipeline.New(o)
}

// pipelineOptions translates the configuration into pipeline options.
func pipelineOptions(cfg *config.Config, zoho pipeline.Upserter, log *zap.Logger) pipeline.Options {
	return pipeline.Options{
		Brokers:              cfg.Kafka.Brokers,
		Topics:               cfg.Kafka.Topics,
		Group:                cfg.Kafka.Group,
		DLQTopic:             cfg.Kafka.DLQTopic,
		ClientID:             cfg.Kafka.ClientID,
		CommitInterval:       cfg.Kafka.CommitInterval,
		SessionTimeout:       cfg.Kafka.SessionTimeout,
		FetchMaxBytes:        cfg.Kafka.FetchMaxBytes,
		MaxMessageBytes:      cfg.Kafka.MaxMessageBytes,
		StartAtLatest:        cfg.Kafka.StartOffset == config.StartLatest,
		Module:               cfg.Zoho.Module,
		DuplicateCheckFields: cfg.Zoho.DuplicateCheckFields,
		Trigger:              cfg.Zoho.Trigger,
		Zoho:                 zoho,
		Mapping:              cfg.MapperConfig(),
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
		Logger:             log,
	}
}
