// Package pipeline is the Kafka consumer group that moves website events to
// Zoho CRM: it polls the source topics, maps each record (package mapping),
// hands the records to send to the batcher, and commits offsets once every
// record before them is done.
//
// The flow of one record:
//
//	poll (only as many records as the batcher and the dead-letter queue have room for)
//	  │ track its offset (package watermark)
//	  ▼
//	mapping.Mapper.Map ── drop ──▶ done at once
//	  │               └── reject ──▶ dead-letter topic (delivery.Sender.DeadLetter) ──▶ done after the ack
//	  ▼ deliver
//	batcher (merge by email, ≤ 100, linger, in-flight limit)
//	  │ credit saver (saver.go): identical to what Zoho last acknowledged for the email ──▶ done at once
//	  ▼
//	delivery.Sender ──▶ Zoho ──▶ done after Zoho's or the dead-letter topic's ack
//	  │ observer: metrics, pause reasons (fetching paused while any holds), readiness
//	  ▼
//	commit loop: watermark.Tracker.ToCommit every CommitInterval
//
// Guarantees:
//
//   - At least once: a partition's committed offset is its first offset not
//     done; nothing is committed after a configuration error.
//   - Bounded memory: the poll loop waits (on batcher.Changed, no polling)
//     while the batcher and the dead-letter queue are full, and a poll takes
//     no more than they have room for, so processing a poll never blocks a
//     rebalance.
//   - Rebalances: a revocation waits up to ShutdownGrace for the revoked
//     partitions' work only, commits what is done for them and forgets them;
//     lost partitions are forgotten without a commit. After every
//     assignment, revocation and loss the process's share of
//     DailyCreditBudget is its share of the source partitions (credits.go).
//   - Shutdown within ShutdownGrace plus a final commit in every state: no
//     attempt starts once it begins, every wait ends at once, calls under
//     way get the grace.
//   - Fields metadata (fields.go): consuming starts once it is read, or
//     after at most 30 s of retries without it; while it is missing it is
//     read again with backoff and as soon as Zoho answers, and records Zoho
//     rejects with INVALID_DATA because their values were sent untyped are
//     mapped again from their events (or dead-lettered saying so).
//   - Readiness (Ready, /readyz) is a *NotReadyError with a typed reason and
//     the delivery.PauseReason values in effect.
package pipeline
