package delivery

import (
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/watermark"
)

// DeadLetterRecord builds the dead-letter record of source record r (the
// contract's headers, key and value byte for byte; FailedAt now, Module the
// Sender's). When the Zoho record sent (which repeats the value's content)
// would make the dead-letter record larger than DLQLimit, zoho.record is
// left out and the message says so: a record the source topic accepted must
// fit the dead-letter topic too. The replay marks of a record that
// "consumer dlq replay --to-source" put back on its source topic are kept,
// so that its new dead letter names that replay.
func (s *Sender) DeadLetterRecord(r *kgo.Record, code, message, field string, details, zohoRecord []byte) dlq.Record {
	if len(r.Key)+len(r.Value)+len(details)+len(zohoRecord)+topics.DLQHeaderRoom > int(s.o.DLQLimit) && len(zohoRecord) > 0 {
		zohoRecord = nil
		message += " (zoho.record left out: the dead-letter record would exceed the dead-letter topic's max.message.bytes)"
	}
	var marks []kgo.RecordHeader
	if m := dlq.ReplayMarkOf(r.Headers); m.Group != "" {
		marks = m.Headers()
	}
	return dlq.Record{
		Key:             r.Key,
		Value:           r.Value,
		Code:            code,
		Message:         message,
		Field:           field,
		Details:         details,
		SourceTopic:     r.Topic,
		SourcePartition: r.Partition,
		SourceOffset:    r.Offset,
		SourceTimestamp: r.Timestamp,
		Module:          s.o.Module,
		ZohoRecord:      zohoRecord,
		FailedAt:        time.Now().UTC(),
		Extra:           marks,
	}
}

// DeadLetter writes recs (recs[i] the dead letter of srcs[i]) and marks each
// source done once the dead-letter topic acknowledged it. Records are
// grouped by source partition, each group holding a claim on its partition
// while it is written (records of partitions already released are left to
// their new owner) and written concurrently with the others; a group retries
// until acknowledged, until Stop, or until its partition is released, so a
// revocation waits only for a write under way, and a write under way goes
// on until Abandon. Sources not acknowledged stay not done.
func (s *Sender) DeadLetter(recs []dlq.Record, srcs []Source) {
	s.claimDeadLetters(recs, srcs).write(s)
}

// deadLetters are dead-letter records grouped by source partition, each group
// holding a claim on its partition until its write ends.
type deadLetters []deadLetterGroup

type deadLetterGroup struct {
	part *watermark.Partition
	recs []dlq.Record
	srcs []Source
}

// claimDeadLetters groups records by source partition and claims each
// partition; records of partitions already released are left out.
func (s *Sender) claimDeadLetters(recs []dlq.Record, srcs []Source) deadLetters {
	var out deadLetters
	var refused []*watermark.Partition
next:
	for i, src := range srcs {
		for g := range out {
			if out[g].part == src.Part {
				out[g].recs, out[g].srcs = append(out[g].recs, recs[i]), append(out[g].srcs, src)
				continue next
			}
		}
		if slices.Contains(refused, src.Part) || !src.Part.Claim() {
			refused = appendNew(refused, src.Part)
			continue
		}
		out = append(out, deadLetterGroup{part: src.Part, recs: []dlq.Record{recs[i]}, srcs: []Source{src}})
	}
	return out
}

// write writes each group, concurrently when there are several.
func (dl deadLetters) write(s *Sender) {
	if len(dl) == 1 {
		dl[0].write(s)
		return
	}
	var wg sync.WaitGroup
	for _, g := range dl {
		wg.Go(func() { g.write(s) })
	}
	wg.Wait()
}

func (g deadLetterGroup) write(s *Sender) {
	defer g.part.Unclaim()
	retry, cancel := untilClosed(s.stopCtx, []<-chan struct{}{g.part.Released()})
	defer cancel()
	if err := s.o.DeadLetters.WriteUntil(s.sendCtx, retry, g.recs...); err != nil {
		return
	}
	s.obs.Paused(PauseDLQ, false, nil)
	for i, r := range g.recs {
		g.srcs[i].Part.Done(g.srcs[i].Rec.Offset)
		s.obs.DeadLettered(r.Code, 1)
	}
}
