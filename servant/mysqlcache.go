package servant

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"golang.org/x/sync/singleflight"
)

// QueryCache is my_query's result cache under cacheKey. Concurrent misses
// of one key run the query once. A result read before an eviction of its
// key is never stored after it: evict bumps gen, and a fill checks gen
// before and after it stores.
type QueryCache struct {
	store  LocalCache
	flight singleflight.Group
	gen    atomic.Uint64
	shared atomic.Int64 // callers served by another caller's query
}

// NewQueryCache keeps results in store (a cache.Cache).
func NewQueryCache(store LocalCache) *QueryCache { return &QueryCache{store: store} }

// Shared is how many misses were answered by a query another caller ran.
func (q *QueryCache) Shared() int64 { return q.shared.Load() }

// load returns the cached result under key, or runs query once for every
// concurrent caller and caches its result. Hits report rowsAffected 0.
func (q *QueryCache) load(ctx context.Context, key string, query func() (*rpc.MysqlResult_, error)) (*rpc.MysqlResult_, error) {
	if b, ok := q.store.Get(key); ok {
		if r, err := decodeResult(ctx, b); err == nil {
			return r, nil
		}
		q.store.Delete(key) // unreadable: refill below
	}
	v, err, shared := q.flight.Do(key, func() (any, error) {
		gen := q.gen.Load()
		r, err := query()
		if err != nil {
			return nil, err
		}
		q.fill(ctx, key, r, gen)
		return r, nil
	})
	if shared {
		q.shared.Add(1)
	}
	if err != nil {
		return nil, err
	}
	return v.(*rpc.MysqlResult_), nil
}

func (q *QueryCache) fill(ctx context.Context, key string, r *rpc.MysqlResult_, gen uint64) {
	if q.gen.Load() != gen {
		return
	}
	b, err := encodeResult(ctx, &rpc.MysqlResult_{Cols: r.Cols, Rows: r.Rows})
	if err != nil {
		return
	}
	if q.store.Set(key, b) == nil && q.gen.Load() != gen {
		q.store.Delete(key) // an eviction raced the store
	}
}

// evict removes key; a query already running for it will not store its
// result, and later callers do not join it.
func (q *QueryCache) evict(key string) {
	q.gen.Add(1)
	q.flight.Forget(key)
	q.store.Delete(key)
}

func encodeResult(ctx context.Context, r *rpc.MysqlResult_) ([]byte, error) {
	buf := thrift.NewTMemoryBufferLen(256)
	if err := r.Write(ctx, thrift.NewTBinaryProtocolConf(buf, nil)); err != nil {
		return nil, fmt.Errorf("query cache: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeResult(ctx context.Context, b []byte) (*rpc.MysqlResult_, error) {
	buf := thrift.NewTMemoryBufferLen(len(b))
	_, _ = buf.Write(b)
	r := &rpc.MysqlResult_{}
	if err := r.Read(ctx, thrift.NewTBinaryProtocolConf(buf, nil)); err != nil {
		return nil, fmt.Errorf("query cache: %w", err)
	}
	return r, nil
}
