// Package pipeline is the Kafka consumer group that moves website events to
// Zoho CRM: it polls the source topics, maps each record (package mapping),
// hands the records to send to the batcher, and commits offsets once every
// record before them is done.
//
// The flow of one record:
//
//	poll (what franz-go has buffered) ──▶ mapping.Mapper.Map (every core, ahead of the hand-on)
//	  │ one run per partition, handed on round-robin as the batcher and the
//	  │ dead-letter queue have room; track its offset (package watermark)
//	  ▼
//	the mapper's decision ── drop ──▶ done at once
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
//   - Bounded memory: fetches are sized so that a fetch's records hold at
//     most 12 × FetchMaxBytes once decompressed, whatever their compression
//     (fetchsize.go); records wait in the poll loop until the batcher and
//     the dead-letter queue have room, mapped ahead only while the mapped
//     ones hold less than 4 × FetchMaxBytes (a dropped record keeps its
//     offset, the others a detached copy), and the loop takes more from
//     franz-go before they are all handed on only while they hold less than
//     8 × FetchMaxBytes of memory, mapped or not; the records handed on hold
//     at most 16 × FetchMaxBytes in the batcher and as much waiting for
//     dead-letter writes, whatever their size; handing on never blocks a
//     rebalance.
//   - Fairness: each fetch holds several partitions (FetchOptions), and the
//     partitions of a poll share the batcher's room round-robin, each in
//     offset order, so a backlog on one partition does not hold up the
//     others' new events.
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
