// Package delivery takes one batch of Zoho records to Zoho CRM until every
// source record is acknowledged by Zoho or by the dead-letter topic. The
// pipeline and dead-letter replay both deliver through a Sender; they learn
// what it does through an Observer (metrics, logs, pause state, readiness).
//
// A Sender composes small pieces, one per file, in the order a batch meets
// them:
//
//	batcher.Batch ──▶ Send (sender.go): encode each entry's merged record once
//	   │ Options.Memory (the credit saver): Zoho holds it already ──▶ Done, not sent
//	   ▼ every attempt
//	claim (claim.go) ── records of released partitions dropped ──▶ their new owner
//	   │
//	   ▼
//	breaker (breaker.go) ── open ──▶ short wait, try again
//	   │ one Upsert call
//	   ├─ answered ──▶ settle (settle.go): per record
//	   │                 success ──▶ Done
//	   │                 permanent ──▶ dead letter (deadletter.go) ──▶ Done after the DLQ ack
//	   │                 transient / throttled ──▶ retry the rest
//	   ├─ outage (5xx, timeout, odd 401) ──▶ retry (retry.go): exponential backoff, jitter
//	   ├─ 429 / token mint budget ──▶ throttle (throttle.go): ThrottleBackoff / until the budget allows
//	   ├─ rejected as a whole (400 without data[]) ──▶ split (split.go): halves, until the bad record is alone
//	   └─ configuration error ──▶ Observer.Failed; the batch waits, not done, until Stop
//
// Guarantees:
//
//   - Nothing is lost: a record is marked done (watermark.Partition.Done)
//     only after Zoho acknowledged its record or the dead-letter topic
//     acknowledged its dead letter. Outages never dead-letter.
//   - The breaker counts only outages (zohoapi.ClassTransient and
//     ClassThrottled): record rejections and configuration errors are answers,
//     cancelled calls and mint-budget waits are not counted at all.
//   - Bounded shutdown: after Stop no attempt starts and every wait (backoff,
//     throttle, breaker, dead-letter retry) ends at once; only calls and
//     dead-letter writes under way go on, until Abandon cuts them off.
//   - Revocation: each attempt claims the partitions of its records. Records
//     of a released partition are never sent again (an entry merged from
//     several partitions is merged again from the partitions still owned); a
//     batch holding only released partitions stops waiting at once and its
//     call is cut off once they are forgotten. Dead letters are written per
//     source partition, each group holding a claim on its own partition only,
//     so a revocation waits for exactly the revoked partitions' work.
//
// The package knows nothing of consumer groups or commits: the caller tracks
// offsets (package watermark) and commits them.
package delivery
