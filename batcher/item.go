package batcher

import "github.com/zohosink/zohosink/zohoapi"

// Item is one unit of work added to the Batcher: the Zoho record built from one
// source event, plus whatever the caller needs to settle that event later.
type Item[S any] struct {
	// Key is the dedupe key (e.g. the lower-cased email address). Items with equal
	// keys are merged into one Entry while they share the open batch, and are
	// delivered in arrival order across batches. The empty string is a key like
	// any other.
	Key string
	// Record is the Zoho record, its values already encoded. The Batcher
	// never reads or modifies it; see Entry.Merged.
	Record zohoapi.Record
	// Source is opaque to the Batcher (for the pipeline: where the event came
	// from, to mark it done or dead-letter it). It is handed back unchanged.
	Source S
	// Size is the memory the item holds, in bytes, counted toward
	// Config.MaxBufferedBytes until its batch is released; 0 counts nothing.
	Size int
}

// Entry is everything one batch carries for one key: the items, in arrival
// order, that become a single Zoho record.
type Entry[S any] struct {
	// Key is the items' common key.
	Key string
	// Items are the merged items, oldest first; never empty.
	Items []Item[S]
}

// Merged returns the record of the entry: the fields of all items, a field
// present in a later item replacing the earlier value, each field at the place
// it first appeared (zohoapi.Merge). The items' records are not modified; the
// record of a single item is returned as it is.
func (e Entry[S]) Merged() zohoapi.Record {
	if len(e.Items) == 1 {
		return e.Items[0].Record
	}
	recs := make([]zohoapi.Record, len(e.Items))
	for i, it := range e.Items {
		recs[i] = it.Record
	}
	return zohoapi.Merge(recs...)
}

// Batch is what one SendFunc call delivers: at most Config.MaxRecords entries,
// keys unique within the batch, entries in the order their keys first entered
// the batch.
type Batch[S any] struct {
	// Entries are the batch's entries, one per distinct key.
	Entries []Entry[S]
	// Seq is the batch's place in the order its Batcher sealed batches: 1
	// for the first, one more for each next (0: not sealed by a Batcher).
	// Batches are handed to SendFunc in Seq order, but their goroutines
	// may run in any order: a SendFunc that shares something scarce among
	// batches can serve them by Seq (the delivery package's credits do).
	Seq uint64
}

// Items returns the number of items in the batch (at least len(b.Entries)).
func (b *Batch[S]) Items() int {
	n := 0
	for _, e := range b.Entries {
		n += len(e.Items)
	}
	return n
}
