package pipeline

import (
	"fmt"
	"strings"

	"github.com/sony/gobreaker/v2"

	"github.com/zohosink/zohosink/delivery"
)

// NotReady names why the pipeline is not ready (NotReadyError.Reason).
type NotReady string

// The reasons for not being ready, in the order Ready checks them.
const (
	// NotReadyConfig: a configuration error no retry fixes stopped
	// delivery; nothing more is committed until a restart.
	NotReadyConfig NotReady = "configuration_error"
	// NotReadyStopped: Run has not started or has begun shutting down.
	NotReadyStopped NotReady = "not_consuming"
	// NotReadyKafka: no broker answered a fetch or heartbeat for a while.
	NotReadyKafka NotReady = "kafka_unreachable"
	// NotReadyMissingTopics: source topics do not exist (a *MissingTopicsError).
	NotReadyMissingTopics NotReady = "source_topics_missing"
	// NotReadyStarting: Run is still checking the topics and the Zoho
	// credentials before its first poll.
	NotReadyStarting NotReady = "starting"
	// NotReadyPaused: fetching is paused (NotReadyError.Paused says why).
	NotReadyPaused NotReady = "fetching_paused"
)

// NotReadyError is why the pipeline is not ready (Ready, /readyz). Its
// message is the /readyz body.
type NotReadyError struct {
	Reason NotReady
	// Paused are the pause reasons in effect, sorted (NotReadyPaused only).
	Paused []delivery.PauseReason
	// Err is the cause: the configuration error, the Kafka error, or a
	// *MissingTopicsError; nil otherwise.
	Err error
}

// Error says why, as /readyz shows it.
func (e *NotReadyError) Error() string {
	switch e.Reason {
	case NotReadyConfig:
		return fmt.Sprintf("configuration error, delivery stopped: %v", e.Err)
	case NotReadyStopped:
		return "not consuming"
	case NotReadyStarting:
		return fmt.Sprintf("starting: checking the topics and the Zoho credentials, reading the Fields metadata (at most %v)", fieldsReadTimeout)
	case NotReadyKafka:
		return fmt.Sprintf("kafka unreachable: %v", e.Err)
	case NotReadyPaused:
		reasons := make([]string, len(e.Paused))
		for i, r := range e.Paused {
			reasons[i] = string(r)
		}
		return "fetching paused: " + strings.Join(reasons, ", ")
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return string(e.Reason)
}

// Unwrap returns the cause.
func (e *NotReadyError) Unwrap() error { return e.Err }

// observer is how the pipeline learns what its Sender does: metrics, pause
// state and readiness.
type observer struct{ p *Pipeline }

func (o observer) Called(c delivery.Call) {
	m := o.p.m
	if c.Result != nil {
		m.answered.Add(1)
		o.p.fields.answered()
		m.recordsSent.Add(int64(c.Records))
		m.addCredits(c.Result.Credits)
		m.batchRecords.Observe(float64(c.Records))
	}
	m.observeCall(c.Status, c.Took)
}

func (o observer) Retried() { o.p.m.retries.Add(1) }

func (o observer) Acknowledged(items int, action string) {
	o.p.m.delivered.Add(int64(items))
	if action == "insert" {
		o.p.m.inserted.Add(1)
	} else {
		o.p.m.updated.Add(1)
	}
}

func (o observer) DeadLettered(code string, n int) { o.p.m.addDeadLettered(code, int64(n)) }

func (o observer) Paused(reason delivery.PauseReason, on bool, cause error) {
	o.p.setPaused(reason, on, cause)
}

func (o observer) BreakerChanged(from, to gobreaker.State, cause error) {
	o.p.breakerChanged(from, to, cause)
}

func (o observer) Failed(err error) { o.p.fail(err) }

// ConcurrencyLimit makes the batcher follow the Sender's call limit: one
// batch per call slot plus one, encoded and waiting for the next free slot
// (so that no slot idles while a batch is handed over); the other batches
// stay in the batcher, still filling.
func (o observer) ConcurrencyLimit(limit int) { o.p.batches.SetMaxInFlight(limit + 1) }
