package mysql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Errors of shard resolution.
var (
	// ErrNoHint: a sharded pool needs the entity id to find the shard.
	ErrNoHint = errors.New("hintId is 0: a sharded pool needs the entity id")
	// ErrNoLookupRow: the entity has no row in the lookup table.
	ErrNoLookupRow = errors.New("entity not in lookup table")
	// ErrEntityLocked: the entity is being moved (shardLock > 0).
	ErrEntityLocked = errors.New("entity being locked")
)

// router finds the server for a pool and entity. Shard mappings are cached;
// a write on the lookup pool bumps gen, and a lookup that started before a
// bump never stores what it read, so a stale mapping cannot be cached after
// its invalidation.
type router struct {
	p     *Pools
	cache *lru.Cache[shardKey, shardEntry]
	gen   *atomic.Uint64 // shared with the routers a reload builds after this one
	next  atomic.Pointer[router]
	now   func() time.Time
}

type shardKey struct {
	pool   string
	entity int64
}

type shardEntry struct {
	server  *Server
	expires time.Time // zero: never
}

func newRouter(p *Pools, gen *atomic.Uint64) *router {
	c, _ := lru.New[shardKey, shardEntry](p.cfg.LookupCacheSize) // size validated > 0
	return &router{p: p, cache: c, gen: gen, now: time.Now}
}

func (r *router) resolve(ctx context.Context, pool string, hint int64) (*Server, error) {
	cfg := r.p.cfg
	for _, g := range cfg.GlobalPools {
		if g == pool {
			return r.p.servers[pool], nil
		}
	}
	table, ok := cfg.LookupTables[pool]
	if !ok {
		return nil, fmt.Errorf("%w %q (not in global_pools, no lookup table)", ErrUnknownPool, pool)
	}
	if hint == 0 {
		return nil, fmt.Errorf("pool %s: %w", pool, ErrNoHint)
	}
	key := shardKey{pool, hint}
	if e, ok := r.cache.Get(key); ok && (e.expires.IsZero() || r.now().Before(e.expires)) {
		return e.server, nil
	}
	gen := r.gen.Load()
	s, err := r.lookup(ctx, pool, table, hint)
	if err != nil {
		return nil, err
	}
	e := shardEntry{server: s}
	if cfg.LookupCacheTTL > 0 {
		e.expires = r.now().Add(cfg.LookupCacheTTL)
	}
	if r.gen.Load() == gen {
		r.cache.Add(key, e)
		if r.gen.Load() != gen { // invalidated while storing
			r.cache.Remove(key)
		}
	}
	return s, nil
}

func (r *router) lookup(ctx context.Context, pool, table string, entity int64) (*Server, error) {
	lookup := r.p.servers[r.p.cfg.LookupPool]
	res, err := lookup.Run(ctx, Query, "SELECT shardId, shardLock FROM "+table+" WHERE entityId = ?",
		[]string{strconv.FormatInt(entity, 10)})
	if err != nil {
		return nil, fmt.Errorf("shard lookup: %w", err)
	}
	if len(res.Rows) == 0 {
		return nil, fmt.Errorf("pool %s: %w: entity %d in %s", pool, ErrNoLookupRow, entity, table)
	}
	shard, err1 := strconv.Atoi(res.Rows[0][0])
	lock, err2 := strconv.Atoi(res.Rows[0][1])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pool %s: entity %d in %s: shardId %q, shardLock %q are not numbers",
			pool, entity, table, res.Rows[0][0], res.Rows[0][1])
	}
	if lock > 0 {
		return nil, fmt.Errorf("pool %s: %w: entity %d", pool, ErrEntityLocked, entity)
	}
	name := pool + strconv.Itoa(shard)
	s, ok := r.p.servers[name]
	if !ok {
		return nil, fmt.Errorf("pool %s: entity %d is on shard %d: %w %q", pool, entity, shard, ErrNoServer, name)
	}
	return s, nil
}

// invalidate drops entity's mapping in every sharded pool, here and in
// the routers that replaced this one (a write that began before a reload
// may end after it).
func (r *router) invalidate(entity int64) {
	r.gen.Add(1)
	for ; r != nil; r = r.next.Load() {
		for pool := range r.p.cfg.LookupTables {
			r.cache.Remove(shardKey{pool, entity})
		}
	}
}
