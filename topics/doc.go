// Package topics reads what the cluster says about zohosink's topics (their
// max.message.bytes and retention.ms, and which exist) and sizes producers
// from it: the pipeline's dead-letter producer, dead-letter replay's
// producers and "config validate --online" use the same rules.
//
// Guarantees: a dead-letter producer is never sized above what the
// dead-letter topic accepts (Limits.ProducerLimit); a dead-letter topic
// smaller than a source topic is reported (Limits.DLQTooSmall), since a
// rejected record too large for it would stop its partition.
package topics
