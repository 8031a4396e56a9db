package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zohosink/zohosink/delivery"
	"github.com/zohosink/zohosink/dlq"
	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/pipeline"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/fieldcache"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// failingFields answers the first failFirst Fields reads (all of them when
// failFirst < 0) with err(), then reads through next.
type failingFields struct {
	next      fieldcache.Source
	failFirst int64
	err       func() error
	reads     atomic.Int64
}

func (m *failingFields) Fields(ctx context.Context, module string) ([]zohoapi.Field, error) {
	if n := m.reads.Add(1); m.failFirst < 0 || n <= m.failFirst {
		return nil, m.err()
	}
	return m.next.Fields(ctx, module)
}

// mintWait is the error of a TokenSource whose mint budget is spent for wait.
func mintWait(wait time.Duration) func() error {
	return func() error {
		return &zohoapi.MintWaitError{Until: time.Now().Add(wait), Budget: zohoapi.MaxMintsPerWindow, Window: zohoapi.MintWindow}
	}
}

// everyTypeModule adds to the simulator a custom module with a field of
// every type and a unique Email, and sets o to deliver to it with the Fields
// metadata read from src and mapping.invalid_values mode; it returns the
// module's name.
func everyTypeModule(h *harness, o *pipeline.Options, src fieldcache.Source, mode string) string {
	module := "Subscriptions"
	h.sim.AddModule(module, append(zohosim.FieldsOfEveryType(), zohosim.Field{APIName: "Email", DataType: "email", Length: 100, Unique: true}))
	o.Module, o.DuplicateCheckFields = module, []string{"Email"}
	o.Fields, o.FieldsRefreshInterval, o.FieldsMinStaleInterval = src, time.Hour, time.Minute
	o.Mapping.InvalidValues = mode
	return module
}

// typedModule sets o up as the operator's trial: everyTypeModule with a
// trait mapped to each field, mapping.invalid_values omit.
func typedModule(h *harness, o *pipeline.Options, src fieldcache.Source) string {
	return typedModuleIn(h, o, src, mapping.InvalidValuesOmit)
}

// typedModuleIn is typedModule with mapping.invalid_values mode.
func typedModuleIn(h *harness, o *pipeline.Options, src fieldcache.Source, mode string) string {
	module := everyTypeModule(h, o, src, mode)
	for f := range typedTraits {
		o.Mapping.Fields = append(o.Mapping.Fields, mapping.FieldMapping{From: "traits.t_" + f, To: f})
	}
	return module
}

// deliverTyped starts the pipeline with o, produces typed events of two
// emails and waits until they are committed; it fails unless both are
// stored in module with every value converted and nothing was dead-lettered.
func deliverTyped(t *testing.T, h *harness, o pipeline.Options, module string) *running {
	t.Helper()
	r := h.start(o)
	h.produce(typedEvent("a@example.com", ""), typedEvent("b@example.com", ""))
	h.waitCommitted(60 * time.Second)
	checkTyped(t, h, module, "a@example.com", "b@example.com")
	if st := r.p.Stats(); len(st.DeadLettered) != 0 {
		t.Errorf("dead-lettered %v, want none", st.DeadLettered)
	}
	return r
}

// checkTyped fails unless every email is stored in module with every
// typedTraits value converted.
func checkTyped(t *testing.T, h *harness, module string, emails ...string) {
	t.Helper()
	stored := map[string]map[string]any{}
	for _, rec := range h.sim.Records(module) {
		stored[fmt.Sprint(rec["Email"])] = rec
	}
	for _, email := range emails {
		rec, ok := stored[email]
		if !ok {
			t.Errorf("%s not stored; records %v", email, h.sim.Records(module))
			continue
		}
		for f, v := range typedTraits {
			var want any
			_ = json.Unmarshal([]byte(v.Stored), &want)
			if got := rec[f]; !reflect.DeepEqual(jsonValue(got), want) {
				t.Errorf("%s: %s stored %#v, want %s", email, f, got, v.Stored)
			}
		}
	}
}

// TestFieldsMetadataRetriedAtStart: the operator's trial. The first reads of
// the Fields metadata fail (Zoho unreachable; the mint budget spent for a few
// seconds), then succeed: start waits for the metadata
// (within fieldsReadTimeout), so the values reach Zoho typed and nothing
// valid is dead-lettered. On the previous code start tried once and
// consumed at once: every record went out untyped and was dead-lettered
// INVALID_DATA.
func TestFieldsMetadataRetriedAtStart(t *testing.T) {
	t.Parallel() // it waits out real time (retries, a mint wait, an outage), not the CPU
	for _, tc := range []struct {
		name  string
		setup func(h *harness) fieldcache.Source
	}{
		{"zoho unreachable", func(h *harness) fieldcache.Source {
			return &failingFields{next: h.zohoClient(), failFirst: 2, err: func() error { return errors.New("zoho request: dial tcp: connection refused") }}
		}},
		{"mint budget spent", func(h *harness) fieldcache.Source {
			return &failingFields{next: h.zohoClient(), failFirst: 1, err: mintWait(3 * time.Second)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, zohosim.Options{})
			o := h.options()
			module := typedModule(h, &o, tc.setup(h))
			r := deliverTyped(t, h, o, module)
			s := scrapeMetrics(t, r.p.Handler())
			if v, _ := s.value("zohosink_zoho_fields_metadata_missing", map[string]string{"module": module}); v != 0 {
				t.Errorf("fields_metadata_missing = %v, want 0", v)
			}
			if v, _ := s.value("zohosink_zoho_fields_metadata_reads_total", map[string]string{"outcome": "failed"}); v < 1 {
				t.Errorf("failed metadata reads = %v, want ≥ 1 (the failure is still counted)", v)
			}
		})
	}
}

// TestUntypedRejectsMappedAgain: start gives up on the metadata at once (the
// mint budget is spent for longer than the start waits), so records are
// mapped untyped; Zoho answers INVALID_DATA, the answer leads to a metadata
// read, and the rejected records are mapped again from their events and
// delivered typed instead of being dead-lettered.
func TestUntypedRejectsMappedAgain(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	src := &failingFields{next: h.zohoClient(), failFirst: 1, err: mintWait(10 * time.Minute)}
	o := h.options()
	module := typedModule(h, &o, src)
	deliverTyped(t, h, o, module)
	if n := src.reads.Load(); n < 2 {
		t.Errorf("%d metadata reads, want ≥ 2", n)
	}
}

// TestUntypedRejectsSayWhy: when the metadata stays unreadable, a record
// Zoho rejects with INVALID_DATA after its values were sent untyped is
// dead-lettered (after the wait for the metadata), and its error.message
// says so and how to fix it: replay once the metadata is read.
func TestUntypedRejectsSayWhy(t *testing.T) {
	t.Parallel() // it waits out real time (retries, a mint wait, an outage), not the CPU
	h := newHarness(t, 1, zohosim.Options{})
	o := h.options()
	typedModule(h, &o, &failingFields{failFirst: -1, err: mintWait(10 * time.Minute)})
	h.start(o)
	h.produce(typedEvent("a@example.com", ""))
	h.waitCommitted(60 * time.Second)
	d, err := dlq.Parse(h.deadLetters(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Code != mapping.CodeInvalidData || !strings.HasSuffix(d.Message, delivery.UntypedNote) || !strings.Contains(d.Message, "dlq replay") {
		t.Errorf("dead letter %s %q, want INVALID_DATA saying the values were sent untyped", d.Code, d.Message)
	}
}

// TestFieldsMetadataReadAgainWhileMissing: the metadata stays unreadable
// past start (Zoho unreachable for 35 s, longer than the start waits), no
// record is sent (so no Zoho answer or INVALID_DATA asks for it): run reads
// it again within seconds of Zoho coming back, by its backoff capped at
// zoho.fields_min_stale_interval, not after zoho.fields_refresh_interval
// (an hour).
func TestFieldsMetadataReadAgainWhileMissing(t *testing.T) {
	t.Parallel() // it waits out real time (retries, a mint wait, an outage), not the CPU
	h := newHarness(t, 1, zohosim.Options{})
	back := time.Now().Add(35 * time.Second)
	src := &failingFields{next: h.zohoClient(), failFirst: -1, err: func() error { return errors.New("zoho request: dial tcp: connection refused") }}
	o := h.options()
	o.Fields, o.FieldsRefreshInterval, o.FieldsMinStaleInterval = untilThen(src, back), time.Hour, 5*time.Second
	r := h.start(o)
	missing := func() float64 {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_zoho_fields_metadata_missing", map[string]string{"module": "Leads"})
		return v
	}
	h.eventually(60*time.Second, "consuming without the metadata", func() bool { return r.p.Ready() == nil })
	if v := missing(); v != 1 {
		t.Fatalf("fields_metadata_missing = %v before Zoho is back, want 1", v)
	}
	h.eventually(time.Until(back)+20*time.Second, "the metadata read once Zoho is back", func() bool { return missing() == 0 })
}

// untilThen reads through src until at, then through src.next.
func untilThen(src *failingFields, at time.Time) fieldcache.Source {
	return sourceFunc(func(ctx context.Context, module string) ([]zohoapi.Field, error) {
		if time.Now().Before(at) {
			return src.Fields(ctx, module)
		}
		return src.next.Fields(ctx, module)
	})
}

// sourceFunc is a fieldcache.Source of a function.
type sourceFunc func(ctx context.Context, module string) ([]zohoapi.Field, error)

func (f sourceFunc) Fields(ctx context.Context, module string) ([]zohoapi.Field, error) {
	return f(ctx, module)
}

// TestUntypedRecordsTypedOnceMetadataRead: records mapped untyped while the
// metadata was missing (the mint budget spent for longer than the start
// waits) and held back by a Zoho outage are sent typed once the metadata is
// read (by run, once the budget allows): no call carries them untyped, so
// Zoho rejects none of them.
func TestUntypedRecordsTypedOnceMetadataRead(t *testing.T) {
	t.Parallel() // it waits out real time (retries, a mint wait, an outage), not the CPU
	h := newHarness(t, 1, zohosim.Options{})
	h.sim.SetFailRate(1, 503)
	o := h.options()
	module := typedModule(h, &o, &failingFields{next: h.zohoClient(), failFirst: 1, err: mintWait(31 * time.Second)})
	r := h.start(o)
	h.produce(typedEvent("a@example.com", ""), typedEvent("b@example.com", ""))
	h.eventually(30*time.Second, "an upsert attempt", func() bool { return len(h.sim.Calls()) > 0 })
	h.eventually(60*time.Second, "the metadata read", func() bool {
		v, _ := scrapeMetrics(t, r.p.Handler()).value("zohosink_zoho_fields_metadata_missing", map[string]string{"module": module})
		return v == 0
	})
	h.sim.SetFailRate(0, 0)
	h.waitCommitted(60 * time.Second)
	checkTyped(t, h, module, "a@example.com", "b@example.com")
	for _, c := range h.sim.Calls() {
		if c.Errors > 0 {
			t.Errorf("a call had %d records rejected (%+v): sent untyped after the metadata was read", c.Errors, c)
		}
	}
}
