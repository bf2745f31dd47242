package cache

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// EntryOverhead is charged per entry on top of key and value bytes, for the
// bookkeeping each entry costs (list element, map slot, entry struct).
const EntryOverhead = 96

// ErrTooLarge: one entry larger than a shard's byte budget. It is refused
// rather than allowed to evict everything else.
var ErrTooLarge = errors.New("entry larger than the cache allows")

// Cache is a sharded, size- and count-bounded LRU with TTLs. Safe for
// concurrent use.
type Cache struct {
	cfg    Config
	now    func() time.Time
	seed   maphash.Seed
	shards []*shard
	mask   uint64
}

// entry is stored by value in the LRU's list element: reading its expiry
// costs no extra pointer chase.
type entry struct {
	val     []byte
	size    int64
	expires int64 // unix ns; 0 = never
}

// shard is one LRU core, its byte count and its counters, all guarded by
// mu: counters kept per shard never make cores fight over one cache line.
type shard struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, entry]
	bytes    int64
	maxBytes int64
	stats    Stats
}

// New builds a cache; now may be nil (time.Now), tests inject a clock.
func New(cfg Config, now func() time.Time) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	c := &Cache{cfg: cfg, now: now, seed: maphash.MakeSeed(), shards: make([]*shard, cfg.Shards), mask: uint64(cfg.Shards - 1)}
	for i := range c.shards {
		s := &shard{maxBytes: cfg.MaxBytes / int64(cfg.Shards)}
		lru, err := simplelru.NewLRU(cfg.MaxItems/cfg.Shards, func(_ string, e entry) { s.bytes -= e.size })
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		s.lru = lru
		c.shards[i] = s
	}
	return c, nil
}

// shardOf picks a key's shard; the seed is per cache.
func (c *Cache) shardOf(key string) *shard {
	return c.shards[maphash.String(c.seed, key)&c.mask]
}

// Get returns the value under key. The slice is shared with the cache:
// callers must not modify it.
func (c *Cache) Get(key string) ([]byte, bool) {
	s := c.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lru.Get(key)
	if ok && e.expires != 0 && c.now().UnixNano() >= e.expires {
		s.lru.Remove(key)
		ok = false
		s.stats.Expirations++
	}
	if !ok {
		s.stats.Misses++
		return nil, false
	}
	s.stats.Hits++
	return e.val, true
}

// Set stores a copy of val under key with the cache's default TTL.
func (c *Cache) Set(key string, val []byte) error { return c.SetTTL(key, val, c.cfg.TTL) }

// SetTTL stores a copy of val under key for ttl (0: no expiry), evicting
// least recently used entries to stay within both bounds.
func (c *Cache) SetTTL(key string, val []byte, ttl time.Duration) error {
	s := c.shardOf(key)
	e := entry{val: append([]byte(nil), val...), size: int64(len(key)+len(val)) + EntryOverhead}
	if e.size > s.maxBytes {
		return fmt.Errorf("%w: %d bytes, at most %d per entry", ErrTooLarge, e.size, s.maxBytes)
	}
	if ttl > 0 {
		e.expires = c.now().Add(ttl).UnixNano()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Sets++
	if old, ok := s.lru.Peek(key); ok {
		s.bytes -= old.size // Add replaces without the eviction callback
	}
	if s.lru.Add(key, e) {
		s.stats.Evictions++
	}
	s.bytes += e.size
	for s.bytes > s.maxBytes {
		s.lru.RemoveOldest()
		s.stats.Evictions++
	}
	return nil
}

// Delete removes key; it reports whether the key was there.
func (c *Cache) Delete(key string) bool {
	s := c.shardOf(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Remove(key)
}

// Len is the number of entries, expired ones included until touched.
func (c *Cache) Len() int { return c.Stats().Items }

// Bytes is the accounted size of every entry.
func (c *Cache) Bytes() int64 { return c.Stats().Bytes }

// Stats is a snapshot of a cache's counters and size.
type Stats struct {
	Hits        int64 `json:"hits"`
	Misses      int64 `json:"misses"`
	Sets        int64 `json:"sets"`
	Evictions   int64 `json:"evictions"`
	Expirations int64 `json:"expirations"`
	Items       int   `json:"items"`
	Bytes       int64 `json:"bytes"`
}

// Stats sums the shards' counters, one shard lock at a time.
func (c *Cache) Stats() Stats {
	var t Stats
	for _, s := range c.shards {
		s.mu.Lock()
		st, items, bytes := s.stats, s.lru.Len(), s.bytes
		s.mu.Unlock()
		t.Hits += st.Hits
		t.Misses += st.Misses
		t.Sets += st.Sets
		t.Evictions += st.Evictions
		t.Expirations += st.Expirations
		t.Items += items
		t.Bytes += bytes
	}
	return t
}
