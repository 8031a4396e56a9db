package pipeline

import (
	"encoding/json"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/creditsaver"
	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/watermark"
)

// saver is the credit saver (Options.CreditSaver): what Zoho last
// acknowledged per dedupe key, owned by the partition assignment the
// record came from. It is the Sender's delivery.RecordObserver.
type saver struct {
	cache *creditsaver.Cache[*watermark.Partition]
}

// Acknowledged implements delivery.RecordObserver: the sum of the record as
// sent is remembered for the partition assignment of e's items. An entry
// merged from several partitions has no one owner: its key is forgotten.
func (s *saver) Acknowledged(e batcher.Entry[delivery.Source], record json.RawMessage) {
	owner := e.Items[0].Source.Part
	for _, it := range e.Items[1:] {
		if it.Source.Part != owner {
			s.cache.Forget(e.Key)
			return
		}
	}
	s.cache.Remember(e.Key, owner, creditsaver.SumJSON(record))
}

// Rejected implements delivery.RecordObserver: Zoho keeps what it held
// before, but the key is forgotten rather than guessed.
func (s *saver) Rejected(e batcher.Entry[delivery.Source]) { s.cache.Forget(e.Key) }

// unchanged reports whether m's record is identical to the last one Zoho
// acknowledged for its key from this partition assignment, so that sending
// it would spend credits and change nothing. Records replayed from the
// dead-letter topic (dlq.ReplayMark) are always sent.
//
// Order matters: the batcher is asked first. While a record of the key is
// held (open, parked, queued, in flight) Zoho's answer may change the
// remembered sum at any moment, so the record is sent. Once none is held,
// none becomes held before this goroutine, the batcher's only caller of
// Add, adds one, so the sum read next is Zoho's last answer.
func (p *Pipeline) unchanged(part *watermark.Partition, r *kgo.Record, m *mapping.Mapped) bool {
	if p.saver == nil || p.batches.Holds(m.Key) {
		return false
	}
	sum, ok := p.saver.cache.Acknowledged(m.Key, part)
	if !ok || dlq.ReplayMarkOf(r.Headers).Count > 0 {
		return false
	}
	got, err := creditsaver.SumRecord(m.Record)
	return err == nil && got == sum
}
