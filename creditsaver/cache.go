package creditsaver

import (
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/elastic/go-freelru"

	"github.com/zohosink/zohosink/zohoapi"
)

// Sum is a 64-bit hash (xxhash) of a Zoho record's JSON as sent.
type Sum uint64

// SumJSON is the Sum of a record's JSON, byte for byte as it is sent to
// Zoho (the data[] element of the upsert call; the dead letter's
// zoho.record).
func SumJSON(raw []byte) Sum { return Sum(xxhash.Sum64(raw)) }

// SumRecord is the Sum of r as it is sent: SumJSON of r.AppendJSON, the one
// encoding of records (field order included, so records that differ only
// in the order of their fields have different sums: a false "changed",
// never a false "same"). It is the one place a record is hashed.
func SumRecord(r zohoapi.Record) Sum {
	var buf [1024]byte
	return SumJSON(r.AppendJSON(buf[:0]))
}

// entry is what is remembered for one key.
type entry[O comparable] struct {
	sum   Sum
	owner O
	// at is when Zoho acknowledged it (Unix nanoseconds of Options.Now).
	at int64
}

// Cache remembers, per key, the Sum of the last record Zoho acknowledged and
// its owner, for at most a fixed number of keys (least recently used evicted
// first) and for at most a fixed time after the acknowledgement. O
// identifies who acknowledged it (the pipeline: the partition assignment).
// Safe for concurrent use.
type Cache[O comparable] struct {
	lru *freelru.SyncedLRU[uint64, entry[O]]
	ttl time.Duration
	now func() time.Time
}

// Options configure a Cache.
type Options struct {
	// Keys is the most keys remembered (least recently used evicted first);
	// 1..MaxKeys.
	Keys int
	// TTL is how long after Zoho's acknowledgement an entry is trusted; > 0.
	// It bounds how long a change made in Zoho by another writer of the key
	// (another replica consuming another partition that holds the key's
	// events, another integration, a user in the CRM) can be left in place
	// when this process sees the record it remembers again (see the package
	// documentation).
	TTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// MaxKeys is the most keys a Cache may remember: the LRU's array is
// allocated whole at New, 68 bytes a key (680 MB at MaxKeys).
const MaxKeys = 10_000_000

// New returns an empty Cache, or an error naming the option out of range.
func New[O comparable](o Options) (*Cache[O], error) {
	if o.Keys < 1 || o.Keys > MaxKeys {
		return nil, fmt.Errorf("creditsaver: keys must be 1..%d (got %d)", MaxKeys, o.Keys)
	}
	if o.TTL <= 0 {
		return nil, fmt.Errorf("creditsaver: the TTL must be > 0 (got %s)", o.TTL)
	}
	l, err := freelru.NewSynced[uint64, entry[O]](uint32(o.Keys), bucketHash)
	if err != nil {
		return nil, fmt.Errorf("creditsaver: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache[O]{lru: l, ttl: o.TTL, now: o.Now}, nil
}

// keyHash is the LRU's key for key: its 64-bit hash (see the package
// documentation for why a collision cannot cause a wrong skip).
func keyHash(key string) uint64 { return xxhash.Sum64String(key) }

// bucketHash is the LRU's bucket hash of a keyHash: its two halves folded.
func bucketHash(h uint64) uint32 { return uint32(h ^ h>>32) }

// Remember records that Zoho acknowledged the record of sum for key, on
// behalf of owner, replacing what was remembered for key.
func (c *Cache[O]) Remember(key string, owner O, sum Sum) {
	c.lru.Add(keyHash(key), entry[O]{sum: sum, owner: owner, at: c.now().UnixNano()})
}

// Forget drops what is remembered for key (Zoho rejected its record, or the
// record acknowledged cannot be attributed to one owner).
func (c *Cache[O]) Forget(key string) { c.lru.Remove(keyHash(key)) }

// Acknowledged returns the Sum remembered for key if owner remembered it
// less than the TTL ago; ok is false when nothing is remembered for key,
// another owner remembered it, or it is older (then it is forgotten). It
// counts as a use of key for the eviction order.
func (c *Cache[O]) Acknowledged(key string, owner O) (sum Sum, ok bool) {
	h := keyHash(key)
	e, ok := c.lru.Get(h)
	if !ok || e.owner != owner {
		return 0, false
	}
	if c.now().UnixNano()-e.at >= int64(c.ttl) {
		c.lru.Remove(h)
		return 0, false
	}
	return e.sum, true
}

// Len is the number of keys remembered.
func (c *Cache[O]) Len() int { return c.lru.Len() }
