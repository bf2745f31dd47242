package cache_test

import (
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/faed/faed/cache"
)

func newCache(t testing.TB, cfg cache.Config, now func() time.Time) *cache.Cache {
	t.Helper()
	c, err := cache.New(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func small(items int, bytes int64, shards int) cache.Config {
	return cache.Config{MaxItems: items, MaxBytes: bytes, Shards: shards}
}

func TestGetSetDelete(t *testing.T) {
	c := newCache(t, cache.DefaultConfig(), nil)
	if _, ok := c.Get("k"); ok {
		t.Fatal("hit on an empty cache")
	}
	buf := []byte("value")
	if err := c.Set("k", buf); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'X' // the cache keeps its own copy
	if v, ok := c.Get("k"); !ok || string(v) != "value" {
		t.Fatalf("get = %q %v", v, ok)
	}
	if !c.Delete("k") || c.Delete("k") {
		t.Fatal("delete should report presence once")
	}
	if _, ok := c.Get("k"); ok {
		t.Fatal("hit after delete")
	}
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 2 || st.Sets != 1 || st.Items != 0 || st.Bytes != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestItemBound(t *testing.T) {
	c := newCache(t, small(64, 1<<20, 4), nil)
	for i := range 1000 {
		if err := c.Set(fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 64 {
			t.Fatalf("%d items after %d sets", c.Len(), i+1)
		}
	}
	if c.Stats().Evictions == 0 {
		t.Fatal("no evictions counted")
	}
}

// Random sizes, sets, overwrites and deletes: both bounds hold after every
// operation, and the byte count equals the sum of the live entries.
func TestBoundsUnderRandomSizes(t *testing.T) {
	const maxBytes = 64 << 10
	c := newCache(t, small(200, maxBytes, 8), nil)
	rng := rand.New(rand.NewSource(1))
	live := map[string]int{} // what the cache may hold: key -> value length
	for i := range 20000 {
		key := fmt.Sprint("k", rng.Intn(400))
		switch rng.Intn(4) {
		case 0:
			c.Delete(key)
			delete(live, key)
		default:
			n := rng.Intn(3000)
			if err := c.Set(key, make([]byte, n)); err != nil {
				t.Fatal(err)
			}
			live[key] = n
		}
		if c.Bytes() > maxBytes || c.Len() > 200 {
			t.Fatalf("op %d: %d bytes, %d items", i, c.Bytes(), c.Len())
		}
	}
	var sum int64
	for key, n := range live {
		if v, ok := c.Get(key); ok {
			if len(v) != n {
				t.Fatalf("%s holds %d bytes, last set %d", key, len(v), n)
			}
			sum += int64(len(key)+n) + cache.EntryOverhead
		}
	}
	if sum != c.Bytes() {
		t.Fatalf("accounted %d bytes, live entries hold %d", c.Bytes(), sum)
	}
}

func TestTooLargeIsRefused(t *testing.T) {
	c := newCache(t, small(100, 8*1024, 8), nil) // 1 KiB per shard
	if err := c.Set("ok", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("big", make([]byte, 2000)); !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, ok := c.Get("ok"); !ok {
		t.Fatal("a refused entry evicted another")
	}
}

func TestTTL(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	cfg := cache.DefaultConfig()
	cfg.TTL = time.Minute
	c := newCache(t, cfg, clock)
	c.Set("default", []byte("a"))
	c.SetTTL("short", []byte("b"), time.Second)
	c.SetTTL("forever", []byte("c"), 0)
	now = now.Add(2 * time.Second)
	if _, ok := c.Get("short"); ok {
		t.Fatal("entry outlived its own TTL")
	}
	if _, ok := c.Get("default"); !ok {
		t.Fatal("default-TTL entry expired early")
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("default"); ok {
		t.Fatal("entry outlived the default TTL")
	}
	if _, ok := c.Get("forever"); !ok {
		t.Fatal("a TTL of 0 expired")
	}
	if st := c.Stats(); st.Expirations != 2 || st.Items != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newCache(t, small(1000, 256<<10, 16), nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for range 20000 {
				key := fmt.Sprint("k", rng.Intn(2000))
				switch rng.Intn(3) {
				case 0:
					c.Set(key, make([]byte, rng.Intn(500)))
				case 1:
					c.Get(key)
				default:
					c.Delete(key)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 1000 || c.Bytes() > 256<<10 || c.Bytes() < int64(c.Len())*cache.EntryOverhead {
		t.Fatalf("after concurrent use: %d items, %d bytes", c.Len(), c.Bytes())
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []cache.Config{
		small(100, 1<<20, 3),
		small(100, 1<<20, 0),
		small(2, 1<<20, 4),
		small(100, 10, 4),
		{MaxItems: 100, MaxBytes: 1 << 20, Shards: 4, TTL: -1},
	} {
		if _, err := cache.New(cfg, nil); !errors.Is(err, cache.ErrConfig) {
			t.Errorf("%+v: err = %v", cfg, err)
		}
	}
}
