package delivery

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi"
)

// UntypedNote ends the error.message of the dead letter of a record that
// Zoho rejected with INVALID_DATA (zohoapi.RecordError.InvalidDataFields)
// while its values had been sent untyped (Source.Untyped) and could not be
// mapped again with the metadata (Options.Remap): the event is likely not
// bad data, and replaying it once the metadata is read delivers it typed.
const UntypedNote = " (the values were sent untyped: the module's Fields metadata could not be read yet; the event is likely valid: replay it with `consumer dlq replay` once zohosink_zoho_fields_metadata_missing is 0)"

// rejectedUntyped reports whether Zoho's rejection r of entry e may be due to
// values sent untyped: r names INVALID_DATA fields and an item of e was
// mapped without the metadata.
func rejectedUntyped(e batcher.Entry[Source], r *zohoapi.RecordError) bool {
	return len(r.InvalidDataFields()) > 0 && slices.ContainsFunc(e.Items, func(it batcher.Item[Source]) bool { return it.Source.Untyped })
}

// retype maps the items of entries (rejected with INVALID_DATA after their
// values were sent untyped) again through Options.Remap, which may wait for
// the metadata until ctx ends. Entries whose every item maps again are
// returned to be sent again, typed; the others' items are dead-lettered
// with UntypedNote (their Zoho rejection in rejections, by entry).
func (s *Sender) retype(ctx context.Context, entries []batcher.Entry[Source], rejections []*zohoapi.RecordError) (batch, deadLetters) {
	var again batch
	var dead []dlq.Record
	var deadSrc []Source
	for i, e := range entries {
		if items, ok := s.remapItems(ctx, e.Items); ok {
			ne := batcher.Entry[Source]{Key: e.Key, Items: items}
			again.entries = append(again.entries, ne)
			again.records = append(again.records, ne.Merged())
			continue
		}
		r := rejections[i]
		rec := e.Merged()
		for _, it := range e.Items {
			dead = append(dead, s.rejected(it.Source, r.Code, r.Message+UntypedNote, r.Field, r.Details, rec.JSON()))
			deadSrc = append(deadSrc, it.Source)
		}
	}
	return again, s.claimDeadLetters(dead, deadSrc)
}

// noWait is the context of Remap calls that must not wait for the metadata.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// retypeReady maps again, in place, the entries of d holding items mapped
// untyped, when Remap can without waiting (the metadata was read since they
// were mapped): before every attempt, so that no record is sent untyped
// once the metadata is known.
func (s *Sender) retypeReady(d batch) {
	if s.o.Remap == nil {
		return
	}
	for i, e := range d.entries {
		if !slices.ContainsFunc(e.Items, func(it batcher.Item[Source]) bool { return it.Source.Untyped }) {
			continue
		}
		if items, ok := s.remapItems(noWait, e.Items); ok {
			d.entries[i] = batcher.Entry[Source]{Key: e.Key, Items: items}
			d.records[i] = d.entries[i].Merged()
		}
	}
}

// remapItems returns copies of items with the untyped ones mapped again
// (Source.Untyped cleared, Source.Omitted the new mapping's), or false when Options.Remap is unset or fails
// for one of them.
func (s *Sender) remapItems(ctx context.Context, items []batcher.Item[Source]) ([]batcher.Item[Source], bool) {
	if s.o.Remap == nil {
		return nil, false
	}
	out := slices.Clone(items)
	for i := range out {
		if !out[i].Source.Untyped {
			continue
		}
		rec, omitted, ok := s.o.Remap(ctx, out[i].Source.Rec)
		if !ok {
			return nil, false
		}
		out[i].Record, out[i].Source.Omitted, out[i].Source.Untyped = rec, omitted, false
	}
	return out, true
}

// RemapFunc maps a source record whose values were sent untyped again, with
// the Fields metadata now known (Options.Remap). It returns the record with
// typed values and the values its mapping left out (mapping.Mapped.Record
// and Omitted), or false when it cannot: the metadata is still missing once
// ctx ends or the wait the implementation allows is over, or the event no
// longer maps to a record to deliver. With ctx already done it does not
// wait: it maps only when the metadata is known.
type RemapFunc func(ctx context.Context, rec *kgo.Record) (zohoapi.Record, []mapping.Omission, bool)
