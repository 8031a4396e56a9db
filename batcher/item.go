package batcher

// Item is one unit of work added to the Batcher: the Zoho record built from one
// source event, plus whatever the caller needs to settle that event later.
type Item[S any] struct {
	// Key is the dedupe key (e.g. the lower-cased email address). Items with equal
	// keys are merged into one Entry while they share the open batch, and are
	// delivered in arrival order across batches. The empty string is a key like
	// any other.
	Key string
	// Record maps Zoho field API names to values. The Batcher never reads or
	// modifies it; see Entry.Merged.
	Record map[string]any
	// Source is opaque to the Batcher (for the pipeline: where the event came
	// from, to mark it done or dead-letter it). It is handed back unchanged.
	Source S
}

// Entry is everything one batch carries for one key: the items, in arrival
// order, that become a single Zoho record.
type Entry[S any] struct {
	// Key is the items' common key.
	Key string
	// Items are the merged items, oldest first; never empty.
	Items []Item[S]
}

// Merged returns a new map holding the fields of all items, later items' fields
// winning: a field present in a later item replaces the earlier value, even when
// the later value is nil (JSON null). Fields absent from later items keep their
// earlier value. It does not modify the items' records; the returned map shares
// no map with them (values themselves are not deep-copied).
func (e Entry[S]) Merged() map[string]any {
	n := 0
	for _, it := range e.Items {
		n = max(n, len(it.Record))
	}
	m := make(map[string]any, n)
	for _, it := range e.Items {
		for k, v := range it.Record {
			m[k] = v
		}
	}
	return m
}

// Batch is what one SendFunc call delivers: at most Config.MaxRecords entries,
// keys unique within the batch, entries in the order their keys first entered
// the batch.
type Batch[S any] struct {
	// Entries are the batch's entries, one per distinct key.
	Entries []Entry[S]
}

// Items returns the number of items in the batch (at least len(b.Entries)).
func (b *Batch[S]) Items() int {
	n := 0
	for _, e := range b.Entries {
		n += len(e.Items)
	}
	return n
}
