// Package demo is `consumer demo`: the product's main job on embedded
// defaults with no setup at all (DESIGN.md, "Contract: command line"). It
// starts an in-process Kafka broker (kfake) and the Zoho CRM simulator,
// produces the sample events of testdata/demo-events.ndjson, runs the
// pipeline exactly as `consumer run` builds it (wiring.NewPipeline on
// config.Defaults) until every event is committed, and prints what reached
// Zoho, what was dead-lettered and why, and what it cost.
//
//	testdata/demo-events.ndjson ──produce──▶ kfake "events" (3 partitions)
//	    ──▶ pipeline (wiring.NewPipeline) ──▶ zohosim ──▶ summary tables
//	                                     └──▶ dead-letter topic ──▶ summary
//
// Guarantees:
//
//   - Self-contained: nothing outside the process is touched; the
//     simulator's tokens never reach the user's token cache.
//   - Deterministic summary: the leads, dead letters and counts are the same
//     on every run (README.md shows them; the demo test checks that excerpt),
//     apart from the simulator's port and the dead letters' partitions and
//     offsets.
//   - Bounded: a pipeline that does not commit every event within 60 s ends
//     the demo with an error.
package demo
