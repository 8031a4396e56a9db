// Package zohoapi is zohosink's Zoho CRM client: data centers, the OAuth token
// source, the Upsert Records call, the Fields metadata and Layouts calls
// (metadata.go; cached by zohoapi/fieldcache), response parsing and the
// classification of every failure.
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
//   - One access token is shared by all callers and refreshed ahead of expiry,
//     once per token and inside its lifetime, by a single mint (single-flight).
//     Never more than Zoho's 10 token requests per 10 minutes per refresh token:
//     past that, Token returns a *MintWaitError naming when to retry. A 401 that
//     is not a Zoho configuration code causes one refresh and one retry, and at
//     most one such early mint per 2 minutes. Throttles and credential refusals
//     from the token endpoint are remembered and not retried for a backoff
//     period. With a cache file, a restarting process (or the next command)
//     reuses a still-valid token if it holds the very credentials that minted
//     it (client secret included, compared by a keyed fingerprint), so changed
//     credentials are proven or refused at start; the mint budget is shared
//     per refresh token.
//   - The configured refresh token is never replaced; secrets and tokens never
//     appear in logs, errors or String().
//   - HTTP 200, 207 and 400-with-data[] answers are parsed alike; a response that
//     does not carry exactly one result per record is an error, never a guess.
//   - Every Zoho code is classified in one table (classify.go) citing its source.
//   - Nothing here knows about Kafka, batching or offsets.
package zohoapi
