// Package zohoapi is zohosink's Zoho CRM client: data centers, the OAuth token
// source, the Upsert Records and Fields metadata calls, response parsing and
// the classification of every failure.
//
// Its part of the flow:
//
//	sender ──Upsert(≤100 encoded records)──▶ Client ──POST /crm/v8/{module}/upsert──▶ Zoho
//	                                           │  Authorization: Zoho-oauthtoken (TokenSource)
//	                                           ▼
//	             UpsertResult: one RecordResult per record, in input order
//	             (success insert/update + id, or *RecordError → ClassifyRecord)
//	             or a request-level error → Classify: permanent | transient | throttled | config
//
// Guarantees:
//   - One access token is shared by all callers and refreshed ahead of expiry by
//     a single mint (single-flight); a 401 INVALID_TOKEN causes one refresh and
//     one retry. Throttles and credential refusals from the token endpoint are
//     remembered and not retried for a backoff period. With a cache file, a
//     restarting process reuses its still-valid token instead of minting another.
//   - The configured refresh token is never replaced; secrets and tokens never
//     appear in logs, errors or String().
//   - HTTP 200, 207 and 400-with-data[] answers are parsed alike; a response that
//     does not carry exactly one result per record is an error, never a guess.
//   - Every Zoho code is classified in one table (classify.go) citing its source.
//   - Nothing here knows about Kafka, batching or offsets.
package zohoapi
