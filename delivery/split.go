package delivery

import (
	"encoding/json"
	"errors"

	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/zohoapi"
)

// CodeRequestRejected is the error.code of a dead letter whose record Zoho
// rejected as a whole request (HTTP 400 without per-record results) when the
// answer names no code.
const CodeRequestRejected = "REQUEST_REJECTED"

// split handles a request Zoho rejected as a whole without per-record
// results (HTTP 400 without data[], zohoapi.ClassPermanent): the halves are
// delivered separately, so that only the bad record goes to the dead-letter
// topic, not the 99 good ones; they keep the batch's place in line for
// credits (seq). A record alone is dead-lettered with the answer's code,
// message and details.
func (s *Sender) split(d batch, seq uint64, err error) {
	if n := len(d.entries); n > 1 {
		s.deliver(d.slice(0, n/2), seq)
		s.deliver(d.slice(n/2, n), seq)
		return
	}
	code, message, details := CodeRequestRejected, err.Error(), json.RawMessage(nil)
	var apiErr *zohoapi.APIError
	if errors.As(err, &apiErr) {
		code, message, details = apiErr.Code, apiErr.Message, apiErr.Details
	}
	if s.o.Memory != nil {
		s.o.Memory.Rejected(d.entries[0])
	}
	var dead []dlq.Record
	var srcs []Source
	for _, it := range d.entries[0].Items {
		dead = append(dead, s.rejected(it.Source, code, message, "", details, d.records[0].JSON()))
		srcs = append(srcs, it.Source)
	}
	s.DeadLetter(dead, srcs)
}
