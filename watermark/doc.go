// Package watermark decides which Kafka offsets may be committed: per
// partition, the first offset that is not done. The pipeline tracks every
// record it fetches here and marks it done when it was dropped, acknowledged
// by Zoho or acknowledged by the dead-letter topic; dead-letter replay tracks
// the dead letters it reads the same way, for its own position.
//
// The flow:
//
//	fetch ──▶ Partition.Track / TrackDone (fetch order, re-deliveries refused)
//	                 │
//	delivery ──▶ Partition.Done (any order)
//	                 │ the watermark moves over a contiguous run of done offsets
//	                 ▼
//	Tracker.ToCommit ──▶ commit ──▶ Tracker.Committed
//
// Guarantees:
//
//   - Watermark: ToCommit never returns an offset past a record that is not
//     done; gaps in the offsets (compaction, transaction markers) are skipped.
//   - Ownership: an assignment revoked or lost is released (Claim fails, work
//     holding only released partitions stops waiting) and then forgotten (Done
//     is ignored, Gone is closed): a late answer never moves the commit of a
//     partition this process no longer owns. A later assignment of the same
//     partition starts fresh.
//   - Claims: attempts (Zoho calls, dead-letter writes) hold a claim on the
//     partitions of their records, so that a revocation waits (WaitIdle) for
//     exactly the revoked partitions' work and nothing else.
//
// Everything here is safe for concurrent use. The package knows nothing of
// Zoho or of consumer groups: the caller commits.
package watermark
