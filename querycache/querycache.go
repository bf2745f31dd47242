// Package querycache is my_query's result cache under a cacheKey:
// concurrent misses of one key run the query once (singleflight), and a
// result read before an eviction of its key is never stored after it.
// Values are kept encoded in a byte store (a cache.Cache) through a Codec,
// so this package knows nothing of the wire or of MySQL.
package querycache

import (
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Store is the byte cache results live in (cache.Cache).
type Store interface {
	Get(key string) ([]byte, bool)
	Set(key string, val []byte) error
	Delete(key string) bool
}

// Codec turns a result into the bytes kept in the Store and back.
type Codec[V any] interface {
	Encode(V) ([]byte, error)
	Decode([]byte) (V, error)
}

// Cache caches results of type V. Evict bumps gen, and a fill checks gen
// before and after it stores, so an eviction racing a running query wins.
type Cache[V any] struct {
	store  Store
	codec  Codec[V]
	flight singleflight.Group
	gen    atomic.Uint64
	shared atomic.Int64 // callers served by another caller's query
}

// New keeps results in store, encoded by codec.
func New[V any](store Store, codec Codec[V]) *Cache[V] {
	return &Cache[V]{store: store, codec: codec}
}

// Shared is how many misses were answered by a query another caller ran.
func (q *Cache[V]) Shared() int64 { return q.shared.Load() }

// Load returns the result cached under key, or runs query once for every
// concurrent caller and caches its result. An entry that cannot be decoded
// is dropped and refilled.
func (q *Cache[V]) Load(key string, query func() (V, error)) (V, error) {
	if v, ok := q.cached(key); ok {
		return v, nil
	}
	v, err, shared := q.flight.Do(key, func() (any, error) {
		// A caller that missed just before another's query stored its
		// result may start a flight just after that one ended: look again.
		if v, ok := q.cached(key); ok {
			return v, nil
		}
		gen := q.gen.Load()
		v, err := query()
		if err != nil {
			return nil, err
		}
		q.fill(key, v, gen)
		return v, nil
	})
	if shared {
		q.shared.Add(1)
	}
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}

// cached is the decoded entry under key; one that cannot be decoded is
// dropped.
func (q *Cache[V]) cached(key string) (V, bool) {
	b, ok := q.store.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	v, err := q.codec.Decode(b)
	if err != nil {
		q.store.Delete(key)
		return v, false
	}
	return v, true
}

func (q *Cache[V]) fill(key string, v V, gen uint64) {
	if q.gen.Load() != gen {
		return
	}
	b, err := q.codec.Encode(v)
	if err != nil {
		return
	}
	if q.store.Set(key, b) == nil && q.gen.Load() != gen {
		q.store.Delete(key) // an eviction raced the store
	}
}

// Evict removes key; a query already running for it will not store its
// result, and later callers do not join it.
func (q *Cache[V]) Evict(key string) {
	q.gen.Add(1)
	q.flight.Forget(key)
	q.store.Delete(key)
}
