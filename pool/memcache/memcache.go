// Package memcache is faed's pooled memcached client: named pools of
// servers, PHP-compatible or consistent placement, per-server breakers and
// mc_* / cb_* semantics (misses and "not stored" are answers, never silent
// zeros).
package memcache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/faed/faed/internal/calltrace"
	"github.com/faed/faed/pool"
	"github.com/faed/faed/pool/batch"
	"github.com/faed/faed/pool/breaker"
)

// Errors of the memcache pools.
var (
	// ErrMiss: the key is not stored.
	ErrMiss = errors.New("cache miss")
	// ErrNotStored: add on an existing key, append on a missing one.
	ErrNotStored = errors.New("not stored")
	// ErrBadKey: longer than 250 bytes, empty, or with a control or space byte.
	ErrBadKey = errors.New("invalid memcache key (1-250 bytes, no spaces or control bytes)")
	// ErrUnknownPool: no pool of that name is configured.
	ErrUnknownPool = errors.New("no such memcache pool")
)

// Item is a stored value and its flags.
type Item struct {
	Value []byte
	Flags uint32
}

// Pools are every configured memcache pool, by name.
type Pools struct {
	pools map[string]*serverPool
}

type serverPool struct {
	cfg      Config
	client   *memcache.Client
	sel      *selector
	breakers []*breaker.Breaker                       // parallel to sel.addrs
	gets     []*batch.Batcher[string, *memcache.Item] // parallel to sel.addrs; nil without get_lanes
}

// New builds the pools; no server needs to be up.
func New(cfgs map[string]Config) (*Pools, error) {
	ps := &Pools{pools: map[string]*serverPool{}}
	for name, cfg := range cfgs {
		p, err := newPool(name, cfg)
		if err != nil {
			ps.Close()
			return nil, err
		}
		ps.pools[name] = p
	}
	return ps, nil
}

func newPool(name string, cfg Config) (*serverPool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("memcache pool %q: %w", name, err)
	}
	sel, err := newSelector(cfg.Selector, cfg.servers())
	if err != nil {
		return nil, fmt.Errorf("memcache pool %q: %w", name, err)
	}
	c := memcache.NewFromSelector(sel)
	c.Timeout, c.MaxIdleConns = cfg.Timeout, cfg.MaxIdleConns
	p := &serverPool{cfg: cfg, client: c, sel: sel}
	for _, a := range sel.addrs {
		b := breaker.New(cfg.Breaker, "memcache "+a.String(), isServerFailure)
		p.breakers = append(p.breakers, b)
		if cfg.GetLanes > 0 {
			p.gets = append(p.gets, newGetBatcher(c, b, cfg.GetLanes))
		}
	}
	return p, nil
}

// Rebuild builds the pools of cfgs for a config reload. A pool whose
// config is unchanged is taken over from ps as it is: the same client,
// idle connections and breakers. retired holds the pools of ps not taken
// over (changed or removed); ps keeps serving until the caller swaps next
// in, and then only retired may be closed, once no call uses it.
func (ps *Pools) Rebuild(cfgs map[string]Config) (next, retired *Pools, err error) {
	pools, gone, err := pool.Reuse(ps.pools, cfgs,
		func(old *serverPool, cfg Config) bool { return reflect.DeepEqual(old.cfg, cfg) },
		newPool, (*serverPool).close)
	if err != nil {
		return nil, nil, err
	}
	return &Pools{pools: pools}, &Pools{pools: gone}, nil
}

// isServerFailure: the server did not answer. Misses, "not stored" and
// server error replies are answers, and so is a caller hanging up.
func isServerFailure(err error) bool {
	for _, answer := range []error{memcache.ErrCacheMiss, memcache.ErrNotStored, memcache.ErrCASConflict,
		memcache.ErrServerError, memcache.ErrMalformedKey, context.Canceled} {
		if errors.Is(err, answer) {
			return false
		}
	}
	return true
}

// validKey applies memcached's key rules before anything is sent.
func validKey(key string) error {
	if len(key) == 0 || len(key) > 250 {
		return fmt.Errorf("%w: %d bytes", ErrBadKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return fmt.Errorf("%w: byte %#x at %d", ErrBadKey, key[i], i)
		}
	}
	return nil
}

// on runs op for key on its server, through the server's breaker.
func (ps *Pools) on(ctx context.Context, name, key string, op func(*memcache.Client) error) error {
	p, ok := ps.pools[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownPool, name)
	}
	if err := validKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	i := p.sel.pick(key)
	calltrace.BackendAddr(ctx, "memcache", p.sel.addrs[i])
	err := p.breakers[i].Do(func() error { return op(p.client) })
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return ErrMiss
	case errors.Is(err, memcache.ErrNotStored):
		return ErrNotStored
	case err != nil:
		return p.describe(p.sel.addrs[i], err)
	}
	return nil
}

// Get returns key's item or ErrMiss. Concurrent gets for one server share
// one multi-get (see pool/batch).
func (ps *Pools) Get(ctx context.Context, pool, key string) (Item, error) {
	p, ok := ps.pools[pool]
	if !ok {
		return Item{}, fmt.Errorf("%w %q", ErrUnknownPool, pool)
	}
	if p.gets == nil {
		var it *memcache.Item
		err := ps.on(ctx, pool, key, func(c *memcache.Client) (err error) { it, err = c.Get(key); return err })
		if err != nil {
			return Item{}, err
		}
		return Item{Value: it.Value, Flags: it.Flags}, nil
	}
	if err := validKey(key); err != nil {
		return Item{}, err
	}
	i := p.sel.pick(key)
	calltrace.BackendAddr(ctx, "memcache", p.sel.addrs[i])
	it, err := p.gets[i].Do(ctx, key)
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return Item{}, ErrMiss
	case err != nil:
		return Item{}, p.describe(p.sel.addrs[i], err)
	}
	return Item{Value: it.Value, Flags: it.Flags}, nil
}

// Set stores key unconditionally.
func (ps *Pools) Set(ctx context.Context, pool, key string, it Item, exp int32) error {
	return ps.on(ctx, pool, key, func(c *memcache.Client) error {
		return c.Set(&memcache.Item{Key: key, Value: it.Value, Flags: it.Flags, Expiration: exp})
	})
}

// Add stores key only if it is absent (ErrNotStored otherwise).
func (ps *Pools) Add(ctx context.Context, pool, key string, it Item, exp int32) error {
	return ps.on(ctx, pool, key, func(c *memcache.Client) error {
		return c.Add(&memcache.Item{Key: key, Value: it.Value, Flags: it.Flags, Expiration: exp})
	})
}

// Append adds val to the end of key's value (ErrNotStored when absent).
func (ps *Pools) Append(ctx context.Context, pool, key string, val []byte) error {
	return ps.on(ctx, pool, key, func(c *memcache.Client) error {
		return c.Append(&memcache.Item{Key: key, Value: val})
	})
}

// Delete removes key (ErrMiss when absent).
func (ps *Pools) Delete(ctx context.Context, pool, key string) error {
	return ps.on(ctx, pool, key, func(c *memcache.Client) error { return c.Delete(key) })
}

// Increment adds delta (subtracts when delta <= 0; memcached stops at 0)
// and returns the new value; ErrMiss when the key is absent.
func (ps *Pools) Increment(ctx context.Context, pool, key string, delta int64) (uint64, error) {
	var n uint64
	err := ps.on(ctx, pool, key, func(c *memcache.Client) (err error) {
		if delta > 0 {
			n, err = c.Increment(key, uint64(delta))
		} else {
			n, err = c.Decrement(key, uint64(-delta))
		}
		return err
	})
	return n, err
}

// GetMulti returns the keys found, asking each server once.
func (ps *Pools) GetMulti(ctx context.Context, pool string, keys []string) (map[string]Item, error) {
	p, ok := ps.pools[pool]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownPool, pool)
	}
	byServer := map[int][]string{}
	for _, k := range keys {
		if err := validKey(k); err != nil {
			return nil, err
		}
		i := p.sel.pick(k)
		byServer[i] = append(byServer[i], k)
	}
	out := make(map[string]Item, len(keys))
	for i, ks := range byServer {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		calltrace.BackendAddr(ctx, "memcache", p.sel.addrs[i])
		var got map[string]*memcache.Item
		err := p.breakers[i].Do(func() (err error) { got, err = p.client.GetMulti(ks); return err })
		if err != nil {
			return nil, p.describe(p.sel.addrs[i], err)
		}
		for k, it := range got {
			out[k] = Item{Value: it.Value, Flags: it.Flags}
		}
	}
	return out, nil
}

// ServerStats is one server's breaker state for /stats.
type ServerStats struct {
	Pool    string `json:"pool"`
	Addr    string `json:"addr"`
	Breaker string `json:"breaker"`
}

// Stats lists every server, sorted by pool then placement order.
func (ps *Pools) Stats() []ServerStats {
	var names []string
	for n := range ps.pools {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []ServerStats
	for _, n := range names {
		p := ps.pools[n]
		for i, a := range p.sel.addrs {
			out = append(out, ServerStats{Pool: n, Addr: a.String(), Breaker: p.breakers[i].State()})
		}
	}
	return out
}

// Abandon closes the pools of ps (a Rebuild of old) that old does not
// share: for a rebuild that is not swapped in after all.
func (ps *Pools) Abandon(old *Pools) { pool.Abandon(ps.pools, old.pools, (*serverPool).close) }

// Close stops the get batchers and closes the idle connections.
func (ps *Pools) Close() {
	for _, p := range ps.pools {
		p.close()
	}
}

func (p *serverPool) close() {
	for _, g := range p.gets {
		g.Close()
	}
	_ = p.client.Close()
}
