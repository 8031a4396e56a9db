package batcher

import "time"

// MaxRecordsLimit is the largest MaxRecords: Zoho's Upsert Records API takes
// at most 100 records per call (zoho-crm-api.md, "Upsert Records").
const MaxRecordsLimit = 100

// Config sets batch size, latency, concurrency and memory bounds. Every value
// comes from the caller: the batcher has no defaults of its own (zohosink's
// live in package config: batch.max_records, batch.linger,
// delivery.max_in_flight, and batch.max_buffered with
// config.Config.EffectiveMaxBuffered). Validation with error messages for
// operators belongs to package config; New only clamps out-of-range values
// to the nearest valid one.
type Config struct {
	// MaxRecords is the most entries (distinct keys) in one batch, 1..100. A batch
	// is sealed as soon as it holds MaxRecords entries. Values below 1 are
	// taken as 1, above 100 as 100.
	MaxRecords int
	// Linger is how long a batch may wait for more items, counted from the first
	// item entering it. Once Linger has passed the batch is due: it is handed to
	// SendFunc as soon as a send slot is free, and keeps accepting items (up to
	// MaxRecords) until then. 0 means no waiting: a batch is due at once, so
	// batches grow only while all send slots are busy. Negative means 0.
	Linger time.Duration
	// MaxInFlight is the most SendFunc calls running at once, ≥ 1 (values
	// below 1 are taken as 1).
	MaxInFlight int
	// MaxBuffered is the most items held at once (in the open batch, parked,
	// sealed, or in flight); Add blocks at this limit. Merged items count one
	// each. MaxRecords × (MaxInFlight + 2) keeps every send slot busy with one
	// full batch waiting and one filling; a value below MaxRecords caps batches
	// at MaxBuffered items. Values below 1 are taken as 1.
	MaxBuffered int
	// MaxBufferedBytes is the most memory the items held may hold, in bytes
	// (their Item.Size summed): Add blocks while an item would take them
	// past it, unless nothing is held, so that one item larger than the
	// bound still goes through alone. It bounds memory when items are large
	// (events of tens of kilobytes), where MaxBuffered alone would let
	// MaxBuffered of them be held. 0 or less: no byte bound.
	MaxBufferedBytes int
}

// clamped returns c with out-of-range values brought to the nearest valid one.
func (c Config) clamped() Config {
	c.MaxRecords = min(max(c.MaxRecords, 1), MaxRecordsLimit)
	c.Linger = max(c.Linger, 0)
	c.MaxInFlight = max(c.MaxInFlight, 1)
	c.MaxBuffered = max(c.MaxBuffered, 1)
	c.MaxBufferedBytes = max(c.MaxBufferedBytes, 0)
	return c
}

// Fits reports whether an item of size bytes may be added to held items
// holding heldBytes: fewer than MaxBuffered are held, and either it keeps
// them within MaxBufferedBytes (when set) or none is held. Add waits until
// it does; a caller that must not block (the pipeline's poll loop) checks
// it against Batcher.Stats first.
func (c Config) Fits(held, heldBytes, size int) bool {
	if held >= c.MaxBuffered {
		return false
	}
	return c.MaxBufferedBytes <= 0 || held == 0 || heldBytes+size <= c.MaxBufferedBytes
}
