package creditsaver

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/zohosink/zohosink/internal/recordtest"
)

type owner struct{ n int }

func TestNewRefusesNoKeysOrTTL(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := New[*owner](Options{Keys: n, TTL: time.Hour}); err == nil {
			t.Errorf("New(keys %d) returned no error", n)
		}
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := New[*owner](Options{Keys: 1, TTL: ttl}); err == nil {
			t.Errorf("New(TTL %s) returned no error", ttl)
		}
	}
}

// TestTTL: an entry is trusted until the TTL has passed since Zoho's
// acknowledgement, then forgotten; remembering again starts the TTL over.
func TestTTL(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c, err := New[*owner](Options{Keys: 10, TTL: 10 * time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	o := &owner{}
	c.Remember("jane@example.com", o, 42)
	now = now.Add(10*time.Minute - time.Nanosecond)
	if s, ok := c.Acknowledged("jane@example.com", o); !ok || s != 42 {
		t.Fatalf("just before the TTL: %d, %v; want 42, true", s, ok)
	}
	now = now.Add(time.Nanosecond)
	if _, ok := c.Acknowledged("jane@example.com", o); ok {
		t.Fatal("trusted once the TTL passed")
	}
	if c.Len() != 0 {
		t.Errorf("%d keys left after the TTL, want it forgotten", c.Len())
	}
	c.Remember("jane@example.com", o, 43)
	now = now.Add(9 * time.Minute)
	if s, ok := c.Acknowledged("jane@example.com", o); !ok || s != 43 {
		t.Fatalf("remembered again 9 min ago: %d, %v; want 43, true", s, ok)
	}
}

// TestRememberForget: Acknowledged answers what Remember stored, for its
// owner only, and nothing after Forget.
func TestRememberForget(t *testing.T) {
	c, err := New[*owner](Options{Keys: 10, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a, b := &owner{1}, &owner{1} // equal contents, different assignments
	if _, ok := c.Acknowledged("jane@example.com", a); ok {
		t.Fatal("empty cache answered")
	}
	c.Remember("jane@example.com", a, 42)
	if s, ok := c.Acknowledged("jane@example.com", a); !ok || s != 42 {
		t.Fatalf("Acknowledged = %d, %v; want 42, true", s, ok)
	}
	if _, ok := c.Acknowledged("jane@example.com", b); ok {
		t.Fatal("answered for another owner")
	}
	if _, ok := c.Acknowledged("john@example.com", a); ok {
		t.Fatal("answered for another key")
	}
	c.Remember("jane@example.com", a, 43)
	if s, _ := c.Acknowledged("jane@example.com", a); s != 43 {
		t.Fatalf("Remember did not replace: %d", s)
	}
	c.Forget("jane@example.com")
	if _, ok := c.Acknowledged("jane@example.com", a); ok {
		t.Fatal("answered after Forget")
	}
}

// TestBound: the cache never holds more than its keys; the least recently
// used key goes first.
func TestBound(t *testing.T) {
	c, err := New[int](Options{Keys: 3, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c.Remember(fmt.Sprint(i), 0, Sum(i))
	}
	c.Acknowledged("0", 0) // 1 is now the least recently used
	c.Remember("3", 0, 3)
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	if _, ok := c.Acknowledged("1", 0); ok {
		t.Fatal("the least recently used key was not evicted")
	}
	for _, k := range []string{"0", "2", "3"} {
		if _, ok := c.Acknowledged(k, 0); !ok {
			t.Fatalf("key %s evicted", k)
		}
	}
	for i := range 1000 {
		c.Remember(fmt.Sprint("k", i), 0, 1)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d after 1000 keys, want 3", c.Len())
	}
}

// TestSumRecord: a record's sum is SumJSON of its JSON as sent; equal
// records (however they were built) have equal sums; any changed, added or
// removed field or value type changes the sum.
func TestSumRecord(t *testing.T) {
	const jane = `{"Email":"jane@example.com","First_Name":"Jane","Last_Name":"Doe"}`
	a := recordtest.Of(jane)
	if SumRecord(a) != SumRecord(recordtest.Of(jane)) {
		t.Fatal("equal records, different sums")
	}
	if SumRecord(a) != SumJSON([]byte(jane)) {
		t.Fatal("not the sum of the record's JSON")
	}
	for name, other := range map[string]string{
		"changed": `{"Email":"jane@example.com","First_Name":"Janet","Last_Name":"Doe"}`,
		"added":   `{"Email":"jane@example.com","First_Name":"Jane","Last_Name":"Doe","Phone":"1"}`,
		"removed": `{"Email":"jane@example.com","First_Name":"Jane"}`,
		"null":    `{"Email":"jane@example.com","First_Name":null,"Last_Name":"Doe"}`,
		"number":  `{"Email":"jane@example.com","First_Name":"Jane","Last_Name":1}`,
		"key":     `{"Email":"john@example.com","First_Name":"Jane","Last_Name":"Doe"}`,
	} {
		if SumRecord(recordtest.Of(other)) == SumRecord(a) {
			t.Errorf("%s record has the same sum", name)
		}
	}
}

// TestMemoryPerKey measures the heap one remembered key takes, so that the
// documented bound (68 bytes a key: 6.8 MB at the default 100,000 keys)
// stays true.
func TestMemoryPerKey(t *testing.T) {
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, err := New[*owner](Options{Keys: n, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	o := &owner{}
	for i := range n {
		c.Remember(fmt.Sprintf("user-%d@example.com", i), o, Sum(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per remembered key (%d keys: %.1f MB)", perKey, n, perKey*n/1e6)
	if perKey > 72 {
		t.Fatalf("%.0f bytes per key, documented 68", perKey)
	}
	runtime.KeepAlive(c)
}
