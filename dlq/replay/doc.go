// Package replay sends dead-letter records again once the cause of their
// rejection is fixed ("consumer dlq replay"): back to their source topics
// (ToSource; the pipeline maps them again) or straight to Zoho (Direct: a
// Replayer maps them with today's mapping and delivers them through the
// same delivery.Sender as the pipeline).
//
// The flow of a Run:
//
//	dead-letter topic ──dlq.Read──▶ selection (code, field, since, from, limit)
//	   from the group's position,        │ superseded by a later dead letter of the
//	   up to the end seen at Open        │ same source record, or written by this
//	                                     │ group before ──▶ skipped (handled)
//	                                     ▼
//	                           Target.Send, a chunk at a time
//	                                     │ handled: sent, failed again, skipped
//	                                     ▼
//	             watermark.Tracker ──▶ commit the group's position
//
// Guarantees:
//
//   - One dead letter per source record: only the latest dead letter of a
//     source record (dlq.LatestBySource) is sent.
//   - Nothing twice, nothing lost: the position (a consumer group of its own
//     with no members) moves only over a contiguous run of handled records; a
//     record that fails again is dead-lettered again with its new reason, its
//     source.* headers and the replay marks (dlq.ReplayMark), so a later run
//     of the same group skips it.
//   - Rate limits end a run instead of stalling it (*ThrottledError); a
//     configuration error ends it too; outages are retried as in the pipeline.
//   - Producers are sized from the topics (topics.Limits): the dead-letter
//     producer from the dead-letter topic's max.message.bytes, the
//     --to-source producer from the source topics'. A record its source
//     topic refuses as too large, even sent alone, is skipped
//     (SkipTooLargeForSource) and stays in the dead-letter topic: one record
//     never stops a run at the same place again.
package replay
