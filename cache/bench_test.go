package cache_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/faed/faed/cache"
	lru "github.com/hashicorp/golang-lru/v2"
)

// store is what the benchmarks drive: the sharded cache or the baseline.
type store interface {
	Get(string) ([]byte, bool)
	Set(string, []byte) error
}

// singleLock is the baseline: golang-lru's Cache, one LRU behind one lock.
type singleLock struct{ c *lru.Cache[string, []byte] }

func (s singleLock) Get(k string) ([]byte, bool) { return s.c.Get(k) }
func (s singleLock) Set(k string, v []byte) error {
	s.c.Add(k, append([]byte(nil), v...))
	return nil
}

const benchKeys = 100_000

func benchStores(b *testing.B) map[string]store {
	sharded, err := cache.New(cache.Config{MaxItems: 2 * benchKeys, MaxBytes: 1 << 30, Shards: 64}, nil)
	if err != nil {
		b.Fatal(err)
	}
	single, err := lru.New[string, []byte](2 * benchKeys)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]store{"sharded": sharded, "single": singleLock{single}}
}

func keys() []string {
	ks := make([]string, benchKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("key:%d", i)
	}
	return ks
}

// run splits b.N calls of op across exactly goroutines goroutines.
func run(b *testing.B, goroutines int, op func(i int)) {
	per := b.N/goroutines + 1
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				// Keys in a scrambled order: walking them in insertion
				// order would favour one LRU whose entries sit in memory
				// in that order.
				op(int(uint64(g*per+i) * 2654435761 % benchKeys))
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCache(b *testing.B) {
	ks := keys()
	val := make([]byte, 100)
	for _, goroutines := range []int{1, 2, 8} {
		for name, s := range benchStores(b) {
			for _, k := range ks {
				s.Set(k, val)
			}
			b.Run(fmt.Sprintf("get/%s/%dg", name, goroutines), func(b *testing.B) {
				b.ReportAllocs()
				run(b, goroutines, func(i int) { s.Get(ks[i]) })
			})
			b.Run(fmt.Sprintf("mixed/%s/%dg", name, goroutines), func(b *testing.B) {
				b.ReportAllocs()
				run(b, goroutines, func(i int) {
					if i%10 == 0 {
						s.Set(ks[i], val)
					} else {
						s.Get(ks[i])
					}
				})
			})
		}
	}
}
