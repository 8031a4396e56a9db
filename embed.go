// Package zohosink is the Zoho CRM delivery worker of a first-party event
// pipeline: it consumes website events (identify and track calls) from Kafka,
// keeps those a CRM should see, maps them to Zoho CRM records with the Lead
// Capture preset, upserts them in batches and dead-letters what Zoho rejects.
//
// The root package only embeds the sample events of testdata/, so that the
// `consumer demo` command and the end-to-end tests run from any working
// directory without setup. The worker itself lives in the subpackages
// (pipeline, batcher, zohoapi, dlq, config) and cmd/consumer.
package zohosink

import _ "embed" // for the //go:embed directives below

// DemoEvents is testdata/demo-events.ndjson: the curated events that
// `consumer demo` produces and the end-to-end tests use, one JSON event per
// line, each line produced as one record value. An empty line is a tombstone:
// produce it as a record with an empty value. The final newline ends the last
// line and starts no record.
//
//go:embed testdata/demo-events.ndjson
var DemoEvents []byte

// DemoExpected is testdata/demo-expected.json: what DemoEvents must lead to
// with consent.required ["marketing"] and module Leads — the local decision
// per line, the final Zoho Leads by lower-cased email, the dead-letter records
// with their codes and fields, and the counts. See its "notes".
//
//go:embed testdata/demo-expected.json
var DemoExpected []byte

// SampleEvents is testdata/samples.ndjson: real-world event shapes adapted
// from public Segment-family examples (one event per line; see
// ../shared/samples/README.md for each line's quirk).
//
//go:embed testdata/samples.ndjson
var SampleEvents []byte

// SampleExpected is testdata/samples.expected.ndjson: one line per
// SampleEvents line with the Mapper's expected decision (consent required:
// marketing): {"line","outcome","drop","code","field","key","record"}.
//
//go:embed testdata/samples.expected.ndjson
var SampleExpected []byte
