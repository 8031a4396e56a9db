package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/mapping/fieldvalue"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
)

// fieldsReadTimeout bounds the reads of the Fields metadata at start
// (retried with backoff from fieldsRetryInitial, a spent mint budget waited
// out when it ends within the bound): past it, delivery starts with values
// sent untyped and the cache keeps trying.
const fieldsReadTimeout = 30 * time.Second

// fieldsRetryInitial is the first wait before reading the Fields metadata
// again while there is none (at start and in run); the waits double up to
// Options.FieldsMinStaleInterval (fieldcache.Options.RetryInitial).
const fieldsRetryInitial = 2 * time.Second

// fieldsAwait bounds how long a record that Zoho rejected after its values
// were sent untyped waits for the metadata to be read (remap) before it is
// dead-lettered, saying so (delivery.UntypedNote).
const fieldsAwait = 10 * time.Second

// fields keeps the Fields metadata of the pipeline's module for the mapper
// (mapping.MapperConfig.Metadata) and reports on it: read at start (retried
// for up to fieldsReadTimeout), then refreshed every
// Options.FieldsRefreshInterval and after Zoho answers INVALID_DATA naming a
// field (Options.FieldsMinStaleInterval apart); while there is none, read
// again with backoff (fieldsRetryInitial up to FieldsMinStaleInterval) and
// as soon as Zoho answers an upsert.
type fields struct {
	module string
	cache  *fieldcache.Cache // nil without Options.Fields: values are sent untyped
	log    *zap.Logger
	mapper *mapping.Mapper // set by New once the mapper exists
	// failing is set while reads fail, so that a failure streak is logged once.
	failing atomic.Bool
	lastGen atomic.Uint64 // generation of the snapshot last reported
	known   chan struct{} // closed once the first snapshot is read
	once    sync.Once
	missing prometheus.Gauge
	reads   *prometheus.CounterVec
	omitted *prometheus.CounterVec
}

// newFields builds the field cache of o.Module from o.Fields (none when nil).
func newFields(o *Options) (*fields, error) {
	f := &fields{
		module: o.Module,
		log:    o.Logger,
		known:  make(chan struct{}),
		missing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "zohosink_zoho_fields_metadata_missing",
			Help:        "1 while the Fields metadata of the module is unknown (not read yet, or unreadable since start): mapped values are sent untyped (texts, numbers as text, booleans), as Zoho may refuse them.",
			ConstLabels: prometheus.Labels{"module": o.Module},
		}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zohosink_zoho_fields_metadata_reads_total",
			Help: "Reads of the module's Fields metadata (GET /crm/v8/settings/fields, 1 credit each), by outcome (ok, failed).",
		}, []string{"outcome"}),
		omitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zohosink_mapping_values_omitted_total",
			Help: "Mapped values left out of delivered records because they could not be converted to their field's data type (mapping.invalid_values: omit), by field API name and reason.",
		}, []string{"field", "reason"}),
	}
	f.missing.Set(1)
	f.reads.WithLabelValues(outcomeOK)
	f.reads.WithLabelValues(outcomeFailed)
	if o.Fields == nil {
		return f, nil
	}
	c, err := fieldcache.New(fieldcache.Options{
		Source: o.Fields, Modules: []string{o.Module},
		Interval: o.FieldsRefreshInterval, MinStaleInterval: o.FieldsMinStaleInterval,
		RetryInitial: fieldsRetryInitial, RetryMax: o.FieldsMinStaleInterval,
		OnRefresh: f.refreshed,
	})
	if err != nil {
		return nil, err
	}
	f.cache = c
	if o.Mapping.Metadata == nil {
		o.Mapping.Metadata = func() *fieldcache.Snapshot { return c.Snapshot(o.Module) }
	}
	return f, nil
}

func (f *fields) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.missing, f.reads, f.omitted}
}

// start reads the metadata, retrying transient failures and waiting out a
// spent mint budget for up to fieldsReadTimeout (fieldcache.RefreshUntil),
// and warns about mapping targets the module lacks; a failure is reported
// (refreshed) and delivery goes on, run reading it again.
func (f *fields) start(ctx context.Context) {
	if f.cache == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, fieldsReadTimeout)
	defer cancel()
	if f.cache.RefreshUntil(ctx, f.module) != nil {
		return
	}
	for _, e := range f.mapper.TargetProblems(f.cache.Snapshot(f.module)) {
		f.log.Warn("mapping does not fit the module's fields", zap.String("key", e.Key), zap.String("problem", e.Problem))
	}
}

// run refreshes the metadata until ctx ends (fieldcache.Cache.Run).
func (f *fields) run(ctx context.Context) {
	if f.cache != nil {
		_ = f.cache.Run(ctx)
	}
}

// answered is called when Zoho answered an upsert: while the metadata is
// missing, the reason (Zoho or the access token unavailable) may just have
// cleared, so it is read at once.
func (f *fields) answered() {
	if f.cache != nil {
		f.cache.RetryNow(f.module)
	}
}

// remap is the Sender's Options.Remap: it maps rec again once the metadata
// is read, waiting for the read (asked for at once) for up to fieldsAwait
// or until ctx ends (not at all with ctx done), unless the last read failed
// for a reason no retry fixes. False when the metadata is still missing or the event no longer
// maps to a record to deliver (with mapping.invalid_values dead_letter, a
// value that does not convert: the dead letter then says it was sent
// untyped, and its replay rejects it locally).
func (f *fields) remap(ctx context.Context, rec *kgo.Record) (zohoapi.Record, []mapping.Omission, bool) {
	if !f.await(ctx) {
		return nil, nil, false
	}
	m := f.mapper.Map(rec.Value)
	if m.Outcome != mapping.OutcomeDeliver || m.Untyped {
		return nil, nil, false
	}
	f.observe(m.Omitted)
	return m.Record, m.Omitted, true
}

// await waits for the first snapshot (see remap); true once there is one.
func (f *fields) await(ctx context.Context) bool {
	if f.cache.Snapshot(f.module) != nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if err := f.cache.Status(f.module).Err; err != nil {
		if _, retry := fieldcache.RetryWait(err, 0, time.Now()); !retry {
			return false
		}
	}
	f.cache.RetryNow(f.module)
	ctx, cancel := context.WithTimeout(ctx, fieldsAwait)
	defer cancel()
	select {
	case <-f.known:
		return true
	case <-ctx.Done():
		return false
	}
}

// stale asks for a refresh soon: Zoho answered INVALID_DATA naming a field.
func (f *fields) stale(field string) {
	if f.cache != nil {
		f.log.Debug("zoho refused a value: reading the Fields metadata again", zap.String("field", field))
		f.cache.Stale(f.module)
	}
}

// refreshed is the cache's OnRefresh: metrics, one warning per failure
// streak, and the omission series of a new snapshot's mapped fields.
func (f *fields) refreshed(module string, err error) {
	snap := f.cache.Snapshot(module)
	if snap != nil {
		f.missing.Set(0)
		f.once.Do(func() { close(f.known) })
	}
	if err != nil {
		f.reads.WithLabelValues(outcomeFailed).Inc()
		if !f.failing.Swap(true) {
			if snap == nil {
				f.log.Warn("cannot read the Fields metadata of the module: mapped values are sent untyped until it is read", zap.String("module", module), zap.Error(err))
			} else {
				f.log.Warn("cannot read the Fields metadata of the module again: values are converted by the last copy", zap.String("module", module), zap.Error(err))
			}
		}
		return
	}
	f.reads.WithLabelValues(outcomeOK).Inc()
	if f.failing.Swap(false) {
		f.log.Info("Fields metadata of the module read again", zap.String("module", module))
	}
	if f.mapper != nil && f.lastGen.Swap(snap.Generation) != snap.Generation {
		f.precreate(snap)
	}
}

// precreate makes the omission series of every field the mapper writes
// exist at 0, for each reason its data type can report.
func (f *fields) precreate(snap *fieldcache.Snapshot) {
	for _, name := range f.mapper.Targets() {
		if name == mapping.FieldEmail {
			continue // never converted
		}
		fd, ok := snap.Field(name)
		if !ok {
			continue
		}
		c, err := fieldvalue.New(fd)
		if err != nil {
			if fe, ok := err.(*fieldvalue.Error); ok {
				f.omitted.WithLabelValues(name, string(fe.Reason))
				f.log.Warn("mapping target cannot be written: its values are left out", zap.String("field", name), zap.Error(err))
			}
			continue
		}
		for _, r := range c.Reasons() {
			f.omitted.WithLabelValues(name, string(r))
		}
	}
}

// observe counts and logs (at debug, field names only) the values a mapped
// record left out.
func (f *fields) observe(omitted []mapping.Omission) {
	for _, o := range omitted {
		f.omitted.WithLabelValues(o.Field, string(o.Reason)).Inc()
		f.log.Debug("mapped value left out: not convertible to its field's type", zap.String("field", o.Field), zap.String("reason", string(o.Reason)))
	}
}
