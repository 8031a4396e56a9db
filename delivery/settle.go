package delivery

import (
	"github.com/zohosink/zohosink/batcher"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/zohoapi"
)

// settle handles Zoho's per-record answers (res.Results[i] answers
// d.records[i]): acknowledged records are done; permanent rejections
// (zohoapi.ClassifyRecord) are returned as dead letters to write, claimed
// per source partition; transient and throttled ones are returned to retry;
// a configuration error stops delivery (fail), its record retried after
// restart. Entries rejected with INVALID_DATA after their values were sent
// untyped (rejectedUntyped) are returned apart, with their rejections, to be
// mapped again (retype).
func (s *Sender) settle(d batch, res *zohoapi.UpsertResult) (batch, deadLetters, []batcher.Entry[Source], []*zohoapi.RecordError) {
	var retry batch
	var untyped []batcher.Entry[Source]
	var why []*zohoapi.RecordError
	var dead []dlq.Record
	var deadSrc []Source
	for i, r := range res.Results {
		e := d.entries[i]
		if r.Err == nil {
			for _, it := range e.Items {
				it.Source.Part.Done(it.Source.Rec.Offset)
			}
			s.obs.Acknowledged(len(e.Items), r.Action)
			if s.o.Memory != nil {
				s.o.Memory.Acknowledged(e, d.records[i])
			}
			continue
		}
		switch zohoapi.ClassifyRecord(r.Err) {
		case zohoapi.ClassTransient, zohoapi.ClassThrottled:
			retry.add(d, i)
		case zohoapi.ClassConfig:
			s.fail(r.Err)
			retry.add(d, i)
		default:
			if s.o.Memory != nil {
				s.o.Memory.Rejected(e)
			}
			if s.o.OnInvalidField != nil {
				for _, f := range r.Err.InvalidDataFields() {
					s.o.OnInvalidField(f)
				}
			}
			if rejectedUntyped(e, r.Err) {
				untyped, why = append(untyped, e), append(why, r.Err)
				continue
			}
			for _, it := range e.Items {
				dead = append(dead, s.rejected(it.Source, r.Err.Code, r.Err.Message, r.Err.Field, r.Err.Details, d.records[i].JSON()))
				deadSrc = append(deadSrc, it.Source)
			}
		}
	}
	return retry, s.claimDeadLetters(dead, deadSrc), untyped, why
}
