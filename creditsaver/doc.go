// Package creditsaver remembers, per dedupe key, what Zoho last acknowledged
// for that key, so that an upsert of an identical record can be skipped: it
// would cost Zoho API credits (1 credit per 10 records) and change nothing.
// Sites often call identify on every page load with unchanged traits; those
// events are what it saves. It knows nothing of Kafka, batches or Zoho calls:
// the pipeline asks it and tells it (see package pipeline).
//
// The flow, for one key (e.g. the lower-cased email), as the pipeline uses
// it (delivery.RecordMemory):
//
//	a batch holding the key's entry starts (the batcher hands a key to one
//	batch at a time, so every earlier record of the key has had Zoho's answer)
//	                    │
//	                    ▼
//	   Acknowledged(key, owner) ── nothing, or another owner ──▶ send
//	                    │ sum
//	                    ▼
//	   SumRecord(record as it would be sent) == sum? ── no ──▶ send
//	                    │ yes
//	                    ▼
//	   skipped: its source records are done at once, counted
//
//	Zoho acknowledged the record sent ──▶ Remember(key, owner, SumRecord(record as sent))
//	Zoho rejected it (dead-lettered)   ──▶ Forget(key)
//
// Guarantees:
//
//   - Bounded memory: at most the configured number of keys are remembered;
//     the least recently used key is evicted beyond it
//     (github.com/elastic/go-freelru: its entries live in one array
//     allocated at New, linked by index, with no pointer per entry). An
//     entry is a 64-bit hash of the key, a 64-bit hash of the record, the
//     owner and the time of the acknowledgement: 68 bytes with the LRU's
//     links and bucket, so 100,000 keys take 6.8 MB (see TestMemoryPerKey;
//     golang-lru's list and map took about 120–143).
//   - No false skip from a key collision: keys are kept as 64-bit hashes
//     (xxhash), not as strings, to save their bytes. Two keys with one hash
//     share one entry and evict each other (a lost saving, never a wrong
//     skip), because a record names its own key (the Email field for the
//     email key), so the record sums of two different keys differ too.
//   - A false skip needs a 64-bit collision of two different records of one
//     key: about 1 in 1.8×10^19 per changed record. The hash is not
//     cryptographic, but the only record an attacker could make collide is
//     their own earlier one, so the only harm is to their own update.
//   - Owners: an entry remembers who acknowledged it (for the pipeline: the
//     partition assignment, a *watermark.Partition), and Acknowledged answers
//     only for that owner. A partition that was revoked and assigned again is
//     a new owner, so what another consumer sent for the key meanwhile can
//     never be mistaken for unchanged.
//   - Other writers, bounded in time: an entry is trusted for a TTL after
//     Zoho's acknowledgement (Options.TTL; the pipeline's
//     delivery.credit_saver_ttl), then forgotten, so the record is sent again
//     and Zoho holds it once more. This is the bound on what the cache cannot
//     see: when one key's events are on several partitions consumed by
//     different processes (a person's events keyed by anonymousId before
//     sign-in and by userId after), or another integration or a CRM user
//     changes the record, a record identical to the remembered one is
//     skipped although Zoho now holds something else, for at most the TTL.
//
// What the caller must do (package pipeline does): ask only while no
// earlier record of the key is pending (for the pipeline: when the batch
// holding the key starts, see batcher's order guarantee); Remember only on
// Zoho's success answer for the record as sent (a merged entry: the merged
// JSON); Forget on a rejection.
//
// State is per process and lost at restart: the first record of each key
// after a restart is sent.
package creditsaver
