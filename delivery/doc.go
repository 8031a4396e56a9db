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
//	   │ untyped.go: records mapped untyped are mapped again once the metadata is known (Options.Remap)
//	   ▼
//	credits (credits.go) ── share of the budget spent, or Zoho reports too few left
//	   │                    ──▶ wait (PauseCreditBudget) until the window frees them / the probe;
//	   │                        the batches waiting are served in seal order (Batch.Seq)
//	   ▼ its credits reserved (1 per 10 records)
//	call slot (concurrency.go): wait while Limit calls are under way
//	   │   (AIMD: 1..MaxInFlight; the batcher follows Limit, so batches not sent keep filling)
//	   ▼
//	breaker (breaker.go) ── open ──▶ short wait, try again
//	   │ one Upsert call
//	   ├─ answered ──▶ settle (settle.go): per record
//	   │                 success ──▶ Done
//	   │                 permanent ──▶ dead letter (deadletter.go; naming the values the
//	   │                               mapping left out, Source.Omitted) ──▶ Done after the DLQ ack
//	   │                 INVALID_DATA, values sent untyped (Source.Untyped) ──▶ untyped.go:
//	   │                   Options.Remap maps them again ──▶ retry, typed; else dead letter + UntypedNote
//	   │                 transient / throttled ──▶ retry the rest
//	   ├─ outage (5xx, timeout, odd 401) ──▶ retry (retry.go): exponential backoff, jitter
//	   ├─ 429, credits spent ──▶ credits: reservation given back, probe after 1, 2, 4 … 15 min
//	   ├─ 429 for concurrency ──▶ Limit cut ×0.75; retry after a random part of one call time
//	   │                          (× 2 per 429 in a row at Limit 1)
//	   ├─ over 6 429s in a row at Limit 1, token refresh throttled ──▶ throttle (throttle.go): ThrottleBackoff, fetching paused
//	   ├─ token mint budget spent ──▶ throttle: until the budget allows
//	   ├─ rejected as a whole (400 without data[]) ──▶ split (split.go): halves, until the bad record is alone
//	   └─ configuration error ──▶ Observer.Failed; the batch waits, not done, until Stop
//
// Limit starts at this process's fair share of MaxInFlight: its share of
// the consumer group's backlog (Sender.SetShare, on every rebalance and
// every commit interval; FairCalls gives every partition a whole number of
// calls by its committed lag, so the members' shares add up to exactly
// MaxInFlight, equal replicas fill the org without 429s, and the slots of
// a member whose partitions drained go to the others). Every answered call (any answer but a concurrency 429)
// with every slot in use grows Limit: +1 per window (Limit's worth of
// answered calls) up to the fair share, the first slot above it over 64
// windows (each failed probe costs the org one 429), then +1 per window.
// A 429 cuts ×0.75, not below the fair share when Limit was above it;
// after a cut Limit grows +1 per window up to one below the Limit that was
// refused, the last slot over 64 windows, and +1 per window again past it.
// Replicas sharing an org (Zoho: 10 heavy calls at once, "API Limits") so
// settle under its limit without configuration; see AIMD.
//
// Guarantees:
//
//   - Nothing is lost: a record is marked done (watermark.Partition.Done)
//     only after Zoho acknowledged its record or the dead-letter topic
//     acknowledged its dead letter. Outages never dead-letter.
//   - The breaker counts only outages (zohoapi.ClassTransient and
//     ClassThrottled but for concurrency 429s, which are the limit's
//     signal): record rejections and configuration errors are answers,
//     cancelled calls and mint-budget waits are not counted at all.
//   - Credits: no call is made unless its credits fit this process's share
//     of the daily budget and Zoho's last reported remaining credits; a
//     call without credits waits, never fails or dead-letters. Batches
//     waiting for credits get them in the order the batcher sealed them
//     (batcher.Batch.Seq), none taking credits while an earlier one waits,
//     so the records that hold back a partition's commit go first. Zoho's
//     refusal for spent credits is not an outage: the breaker does not
//     count it. The ledger is per process and in memory, so over any 24 h
//     the deployment spends at most the budget times the sum, over its
//     members, of the largest share each held in that time (a restarted
//     member counts as a new one): exactly the budget while the assignment
//     is stable, more after rebalances and restarts (a member does not know
//     what its new partitions cost elsewhere). A share below one call's
//     price still lets one call through per window. Zoho's
//     X-API-CREDITS-REMAINING stops every member once the org's credits
//     run out whatever the local budget says.
//   - Bounded shutdown: after Stop no attempt starts and every wait (backoff,
//     throttle, breaker, credits, call slot, dead-letter retry) ends at once; only calls and
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
