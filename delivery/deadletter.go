package delivery

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/topics"
	"github.com/zohosink/zohosink/watermark"
)

// DeadLetterRecord builds the dead-letter record of source record r (the
// contract's headers, key and value byte for byte; FailedAt now, Module the
// Sender's). When the Zoho record sent (which repeats the value's content)
// would make the dead-letter record larger than DLQLimit, zoho.record is
// left out and the message says so: a record the source topic accepted must
// fit the dead-letter topic too. r's own headers follow the contract's
// (dlq.CarryHeaders), the replay marks of a record that "consumer dlq
// replay --to-source" put back on its source topic among them, so that its
// new dead letter names that replay.
func (s *Sender) DeadLetterRecord(r *kgo.Record, code, message, field string, details, zohoRecord []byte) dlq.Record {
	carried := dlq.CarryHeaders(r.Headers)
	size := len(r.Key) + len(r.Value) + len(details) + len(zohoRecord) + topics.DLQHeaderRoom
	for _, h := range carried {
		size += len(h.Key) + len(h.Value)
	}
	if size > int(s.o.DLQLimit) && len(zohoRecord) > 0 {
		zohoRecord = nil
		message += " (zoho.record left out: the dead-letter record would exceed the dead-letter topic's max.message.bytes)"
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
		Extra:           carried,
	}
}

// rejected is the dead letter of a record Zoho rejected (src's record,
// zohoRecord the record sent): DeadLetterRecord, with the values its
// mapping left out (src.Omitted) named, since Zoho's answer cannot tell
// (a mandatory Last_Name left out as too_long is answered
// MANDATORY_NOT_FOUND "required field not found"): error.message gets
// "; values given but left out (mapping.invalid_values omit): Last_Name
// (too_long)" and error.details an "omitted" member,
// [{"field":"Last_Name","reason":"too_long"}].
func (s *Sender) rejected(src Source, code, message, field string, details, zohoRecord []byte) dlq.Record {
	if len(src.Omitted) > 0 {
		message, details = withOmitted(message, details, src.Omitted)
	}
	return s.DeadLetterRecord(src.Rec, code, message, field, details, zohoRecord)
}

// withOmitted adds omitted to a dead letter's message and details (a JSON
// object; other JSON is kept under "zoho" in a new object, text that is not
// JSON as a string there, so that nothing is lost).
func withOmitted(message string, details []byte, omitted []mapping.Omission) (string, []byte) {
	var msg strings.Builder
	msg.WriteString(message)
	msg.WriteString("; values given but left out (mapping.invalid_values omit): ")
	list := []byte(`"omitted":[`)
	for i, o := range omitted {
		if i > 0 {
			msg.WriteString(", ")
			list = append(list, ',')
		}
		msg.WriteString(o.Field + " (" + string(o.Reason) + ")")
		list = append(list, `{"field":`...)
		list = gjson.AppendJSONString(list, o.Field)
		list = append(list, `,"reason":`...)
		list = gjson.AppendJSONString(list, string(o.Reason))
		list = append(list, '}')
	}
	list = append(list, ']')
	d := bytes.TrimSpace(details)
	var out []byte
	switch {
	case len(d) == 0:
		out = append(append([]byte{'{'}, list...), '}')
	case !gjson.ValidBytes(d):
		out = append(append(append(gjson.AppendJSONString([]byte(`{"zoho":`), string(d)), ','), list...), '}')
	case d[0] != '{':
		out = append(append(append(append([]byte(`{"zoho":`), d...), ','), list...), '}')
	default:
		body := bytes.TrimSpace(d[1 : len(d)-1])
		out = append([]byte{'{'}, body...)
		if len(body) > 0 {
			out = append(out, ',')
		}
		out = append(append(out, list...), '}')
	}
	return msg.String(), out
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
