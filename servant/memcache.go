package servant

import (
	"context"
	"errors"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/memcache"
)

const partMemcache = "memcache"

// MemcachePools is what mc_* and cb_* need of pool/memcache.
type MemcachePools interface {
	Get(ctx context.Context, pool, key string) (memcache.Item, error)
	Set(ctx context.Context, pool, key string, it memcache.Item, exp int32) error
	Add(ctx context.Context, pool, key string, it memcache.Item, exp int32) error
	Append(ctx context.Context, pool, key string, val []byte) error
	Delete(ctx context.Context, pool, key string) error
	Increment(ctx context.Context, pool, key string, delta int64) (uint64, error)
	GetMulti(ctx context.Context, pool string, keys []string) (map[string]memcache.Item, error)
}

// ErrNoValue: a TMemcacheData argument was absent.
var ErrNoValue = errors.New("value is missing")

func (s *Servant) memcache(c *rpc.Context, part string) (MemcachePools, error) {
	if err := checkContext(c); err != nil {
		return nil, err
	}
	mc := s.backend().Memcache
	if mc == nil {
		return nil, fmt.Errorf("%s: %w", part, ErrNotConfigured)
	}
	return mc, nil
}

// memcacheItem checks the context and turns a TMemcacheData argument into
// an item to store.
func (s *Servant) memcacheItem(c *rpc.Context, v *rpc.TMemcacheData) (MemcachePools, memcache.Item, error) {
	mc, err := s.memcache(c, partMemcache)
	if err != nil {
		return nil, memcache.Item{}, err
	}
	if v == nil {
		return nil, memcache.Item{}, ErrNoValue
	}
	return mc, memcache.Item{Value: v.Data, Flags: uint32(v.Flags)}, nil
}

// McSet stores value under key.
func (s *Servant) McSet(ctx context.Context, c *rpc.Context, pool, key string, value *rpc.TMemcacheData, exp int32) (bool, error) {
	mc, it, err := s.memcacheItem(c, value)
	if err != nil {
		return false, err
	}
	if err := mc.Set(ctx, pool, key, it, exp); err != nil {
		return false, err
	}
	return true, nil
}

// McGet returns key's value and flags, or throws TCacheMissed.
func (s *Servant) McGet(ctx context.Context, c *rpc.Context, pool, key string) (*rpc.TMemcacheData, error) {
	mc, err := s.memcache(c, partMemcache)
	if err != nil {
		return nil, err
	}
	it, err := mc.Get(ctx, pool, key)
	if errors.Is(err, memcache.ErrMiss) {
		return nil, cacheMissed(memcacheMissed, key)
	}
	if err != nil {
		return nil, err
	}
	return &rpc.TMemcacheData{Data: it.Value, Flags: int32(it.Flags)}, nil
}

// McAdd stores value only if key is absent; false when it exists.
func (s *Servant) McAdd(ctx context.Context, c *rpc.Context, pool, key string, value *rpc.TMemcacheData, exp int32) (bool, error) {
	mc, it, err := s.memcacheItem(c, value)
	if err != nil {
		return false, err
	}
	return answered(mc.Add(ctx, pool, key, it, exp), memcache.ErrNotStored)
}

// McDelete removes key; false when it was absent.
func (s *Servant) McDelete(ctx context.Context, c *rpc.Context, pool, key string) (bool, error) {
	mc, err := s.memcache(c, partMemcache)
	if err != nil {
		return false, err
	}
	return answered(mc.Delete(ctx, pool, key), memcache.ErrMiss)
}

// McIncrement adds delta (decrements when delta <= 0); 0 for a missing
// key; any other failure is an error, never a silent 0.
func (s *Servant) McIncrement(ctx context.Context, c *rpc.Context, pool, key string, delta int64) (int64, error) {
	mc, err := s.memcache(c, partMemcache)
	if err != nil {
		return 0, err
	}
	n, err := mc.Increment(ctx, pool, key, delta)
	if errors.Is(err, memcache.ErrMiss) {
		return 0, nil
	}
	return int64(n), err
}

// answered turns the "no" answer of an operation into false, other errors
// into errors.
func answered(err, no error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, no):
		return false, nil
	}
	return false, err
}
