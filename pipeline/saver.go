package pipeline

import (
	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/creditsaver"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/watermark"
	"github.com/zohosink/zohosink/zohoapi"
)

// saver is the credit saver (Options.CreditSaver), the Sender's
// delivery.RecordMemory: what Zoho last acknowledged per dedupe key, owned by
// the partition assignment the record came from.
//
// The Sender asks Skip when it starts sending a batch, and the batcher hands
// a key to one batch at a time, in arrival order: so when Skip is asked for
// a key, every earlier record of the key has had Zoho's final answer
// (remembered or forgotten), and no later one has been sent. Records that
// arrived while an earlier one was pending (parked, or merged into one
// entry) are asked about when their own batch starts.
//
// An entry keeps its owner reachable until it is evicted or replaced: after
// rebalances, a forgotten assignment's *watermark.Partition (its pending
// offsets: at most batch.max_buffered) per revoked partition, not per key.
type saver struct {
	cache *creditsaver.Cache[*watermark.Partition]
	m     *metrics
}

// owner is the partition assignment of all of e's items, nil when they
// come from several (an entry merged across partitions has no one owner).
func owner(e batcher.Entry[delivery.Source]) *watermark.Partition {
	o := e.Items[0].Source.Part
	for _, it := range e.Items[1:] {
		if it.Source.Part != o {
			return nil
		}
	}
	return o
}

// Skip implements delivery.RecordMemory: e is skipped when Zoho's last
// acknowledged record for its key, from the same partition assignment, is
// byte for byte record. Records replayed from the dead-letter topic
// (dlq.ReplayMark) are always sent. Skipped source records and Zoho records
// are counted.
func (s *saver) Skip(e batcher.Entry[delivery.Source], record zohoapi.Record) bool {
	o := owner(e)
	if o == nil {
		return false
	}
	sum, ok := s.cache.Acknowledged(e.Key, o)
	if !ok || creditsaver.SumRecord(record) != sum {
		return false
	}
	for _, it := range e.Items {
		if dlq.ReplayMarkOf(it.Source.Rec.Headers).Count > 0 {
			return false
		}
	}
	s.m.skipped.Add(int64(len(e.Items)))
	s.m.skippedZoho.Add(1)
	return true
}

// Acknowledged implements delivery.RecordMemory: the sum of the record as
// sent is remembered for the partition assignment of e's items (forgotten
// when they come from several).
func (s *saver) Acknowledged(e batcher.Entry[delivery.Source], record zohoapi.Record) {
	if o := owner(e); o != nil {
		s.cache.Remember(e.Key, o, creditsaver.SumRecord(record))
		return
	}
	s.cache.Forget(e.Key)
}

// Rejected implements delivery.RecordMemory: Zoho keeps what it held
// before, but the key is forgotten rather than guessed.
func (s *saver) Rejected(e batcher.Entry[delivery.Source]) { s.cache.Forget(e.Key) }
