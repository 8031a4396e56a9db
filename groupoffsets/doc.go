// Package groupoffsets reads a consumer group's position over its source
// topics and plans and commits offset resets: the logic of the operators'
// commands `consumer offsets show` and `consumer offsets reset`, which replay
// history into Zoho (or skip it). It talks to Kafka through kadm only and
// knows nothing of the pipeline: the pipeline's position is simply the
// group's committed offsets (DESIGN.md, "Flow").
//
// The flow:
//
//	Take(group, topics) ──▶ Snapshot: group state, members, and per partition
//	                        the committed offset and the log range
//	                             │
//	ParseTarget(--to), ParseSelection(--topic)
//	                             ▼
//	PlanReset ──▶ Plan: per partition Current → Target, records to replay
//	                    or to skip, notes on clamping; Plan.Credits
//	                             │ --execute
//	                             ▼
//	Execute ──▶ commits the targets, only while the group has no member
//
// Guarantees:
//
//   - Read only: Take and PlanReset change nothing; only Execute commits.
//   - Safe resets: Execute refuses (GroupActiveError) while the group has
//     members or is not Empty/Dead, as kafka-consumer-groups does: a running
//     member would overwrite the reset with its next commit. A member that
//     joins between the check and the commit makes the broker refuse the
//     commit; that refusal is reported as such, and nothing is changed.
//   - Targets inside the log: every Target is within [log start, log end];
//     a clamped target says so in its row's Note.
//   - One direction per row: a row replays (Target before Current) or skips
//     (Target past Current), never both; counts are never negative.
//   - Where a group resumes: the committed offset, or the log start when
//     nothing is committed or the commit has expired (PartitionState.Resume), as
//     the pipeline's kgo client does with kafka.start_offset: earliest.
package groupoffsets
