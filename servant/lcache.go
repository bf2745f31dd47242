package servant

import (
	"context"
	"errors"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
)

const partLocalCache = "local cache"

// ErrEmptyKey: a cache or lock key must not be empty.
var ErrEmptyKey = errors.New("empty key")

// LocalCache is what lc_* needs of the in-process cache (cache.Cache).
type LocalCache interface {
	Get(key string) ([]byte, bool)
	Set(key string, val []byte) error
	Delete(key string) bool
}

func (s *Servant) localCache(c *rpc.Context, key string) (LocalCache, error) {
	if err := checkContext(c); err != nil {
		return nil, err
	}
	if s.cache == nil {
		return nil, fmt.Errorf("%s: %w", partLocalCache, ErrNotConfigured)
	}
	if key == "" {
		return nil, fmt.Errorf("%s: %w", partLocalCache, ErrEmptyKey)
	}
	return s.cache, nil
}

// LcSet stores value under key; an entry too large for the cache is an
// error, never a silent drop.
func (s *Servant) LcSet(ctx context.Context, c *rpc.Context, key string, value []byte) (bool, error) {
	lc, err := s.localCache(c, key)
	if err != nil {
		return false, err
	}
	if ok, r, err := keyed(ctx, s, c, methodLcSet, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (bool, error) {
		return cl.LcSet(ctx, c, key, value)
	}); r != routeLocal {
		return ok, err
	}
	if err := lc.Set(key, value); err != nil {
		return false, fmt.Errorf("%s: %w", partLocalCache, err)
	}
	return true, nil
}

// LcGet returns the value under key or throws TCacheMissed.
// In cluster cache mode an unreachable owner reads as a miss: the caller
// recomputes the value, as it would after an eviction.
func (s *Servant) LcGet(ctx context.Context, c *rpc.Context, key string) ([]byte, error) {
	lc, err := s.localCache(c, key)
	if err != nil {
		return nil, err
	}
	if v, r, err := keyed(ctx, s, c, methodLcGet, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) ([]byte, error) {
		return cl.LcGet(ctx, c, key)
	}); r != routeLocal {
		return v, err
	}
	if v, ok := lc.Get(key); ok {
		return v, nil
	}
	return nil, cacheMissed(lcacheMissed, key)
}

// LcDel removes key; removing a missing key is not an error.
func (s *Servant) LcDel(ctx context.Context, c *rpc.Context, key string) error {
	lc, err := s.localCache(c, key)
	if err != nil {
		return err
	}
	if r, err := keyedErr(ctx, s, c, methodLcDel, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) error {
		return cl.LcDel(ctx, c, key)
	}); r != routeLocal {
		return err
	}
	lc.Delete(key)
	return nil
}
