package preflight

import (
	"context"
	"fmt"

	"github.com/zohosink/zohosink/config"
)

// Status is the outcome of one check.
type Status int

// Check outcomes.
const (
	Pass Status = iota + 1 // what the deploy needs is there
	Fail                   // `consumer run` would not work (or lose records)
	Warn                   // it works, with a caveat worth reading
)

// Check is one line of the checklist.
type Check struct {
	Status Status
	// Message says what was checked and, for Fail and Warn, what to change,
	// naming the key (e.g. "kafka.dlq_topic: topic \"x\" does not exist …").
	Message string
}

// Section is a titled group of checks, e.g. "Zoho fields of module Leads".
type Section struct {
	Title  string
	Checks []Check
}

// Report is the checklist of Run, in the order the checks ran.
type Report struct {
	Sections []Section
}

// Failed is the number of Fail checks.
func (r *Report) Failed() int { return r.count(Fail) }

// Warnings is the number of Warn checks.
func (r *Report) Warnings() int { return r.count(Warn) }

func (r *Report) count(s Status) int {
	n := 0
	for _, sec := range r.Sections {
		for _, c := range sec.Checks {
			if c.Status == s {
				n++
			}
		}
	}
	return n
}

func (r *Report) section(format string, args ...any) {
	r.Sections = append(r.Sections, Section{Title: fmt.Sprintf(format, args...)})
}

func (r *Report) add(s Status, format string, args ...any) {
	last := &r.Sections[len(r.Sections)-1]
	last.Checks = append(last.Checks, Check{Status: s, Message: fmt.Sprintf(format, args...)})
}

func (r *Report) ok(format string, args ...any)   { r.add(Pass, format, args...) }
func (r *Report) fail(format string, args ...any) { r.add(Fail, format, args...) }
func (r *Report) warn(format string, args ...any) { r.add(Warn, format, args...) }

// Run checks Zoho, then Kafka, for a configuration that passed
// config.Validate. ctx bounds the whole run.
func Run(ctx context.Context, cfg *config.Config) *Report {
	r := &Report{}
	checkZoho(ctx, r, cfg)
	checkKafka(ctx, r, cfg)
	return r
}
