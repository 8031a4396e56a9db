// Package dlq writes dead-letter records and reads them back.
//
// Its part of the flow (DESIGN.md):
//
//	pipeline ── rejected source record ──▶ Writer.Write ──ProduceSync──▶ dead-letter topic
//	            (Zoho record-level error,      │ retries with backoff,         │
//	             DECODE_ERROR, MISSING_EMAIL)  │ OnRetry(err) → pause, alert   │
//	                                           ▼                               ▼
//	            source record is done ◀── returns nil only when every     Read / Stats
//	            (its offset may be committed)  record is acknowledged     ("consumer dlq inspect|stats|replay")
//
// A dead-letter record keeps the source record's key and value byte for byte
// and describes the rejection in UTF-8 headers whose names are fixed by the
// contract ("Contract: dead-letter records"): error.code, error.message,
// error.details, error.field, source.topic, source.partition, source.offset,
// source.timestamp, zoho.module, zoho.record and failed.at. The source
// record's own headers follow, byte for byte (CarryHeaders; SourceHeaders
// gives them back for a replay). Record is the Go form; Record.KafkaRecord
// and Parse convert between the two.
//
// Guarantees:
//   - Writer.Write returns nil only after the broker acknowledged every record;
//     it never drops one: failures are retried (with exponential backoff and
//     jitter) until they succeed or the context ends, and then it returns an
//     error wrapping the context's.
//   - Read reads a snapshot (up to the high watermarks seen at its start)
//     without joining a consumer group, so inspecting never moves anyone's
//     committed offsets.
package dlq
