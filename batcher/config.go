package batcher

import "time"

// Defaults and limits applied by New to a Config.
const (
	// MaxRecordsLimit is the largest MaxRecords: Zoho's Upsert Records API takes
	// at most 100 records per call (zoho-crm-api.md, "Upsert Records").
	MaxRecordsLimit = 100
	// DefaultMaxRecords is used when Config.MaxRecords is zero or negative.
	DefaultMaxRecords = MaxRecordsLimit
	// DefaultMaxInFlight is used when Config.MaxInFlight is zero or negative
	// (DESIGN.md's delivery.max_in_flight example).
	DefaultMaxInFlight = 4
)

// Config sets batch size, latency, concurrency and memory bounds. The zero
// Config is usable: every field has a documented default, applied by New.
// Validation with error messages for operators belongs to package config; New
// only clamps.
type Config struct {
	// MaxRecords is the most entries (distinct keys) in one batch, 1..100. A batch
	// is sealed as soon as it holds MaxRecords entries. ≤ 0 means
	// DefaultMaxRecords (100); > 100 is clamped to 100.
	MaxRecords int
	// Linger is how long a batch may wait for more items, counted from the first
	// item entering it. Once Linger has passed the batch is due: it is handed to
	// SendFunc as soon as a send slot is free, and keeps accepting items (up to
	// MaxRecords) until then. 0 means no waiting: a batch is due at once, so
	// batches grow only while all send slots are busy. Negative means 0.
	Linger time.Duration
	// MaxInFlight is the most SendFunc calls running at once. ≤ 0 means
	// DefaultMaxInFlight (4).
	MaxInFlight int
	// MaxBuffered is the most items held at once (in the open batch, parked,
	// sealed, or in flight); Add blocks at this limit. Merged items count one
	// each. ≤ 0 means MaxRecords × (MaxInFlight + 2): every send slot busy, one
	// full batch waiting and one filling. A value below MaxRecords caps batches at
	// MaxBuffered items.
	MaxBuffered int
}

// withDefaults returns c with defaults applied and values clamped.
func (c Config) withDefaults() Config {
	if c.MaxRecords <= 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	c.MaxRecords = min(c.MaxRecords, MaxRecordsLimit)
	c.Linger = max(c.Linger, 0)
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = c.MaxRecords * (c.MaxInFlight + 2)
	}
	return c
}
