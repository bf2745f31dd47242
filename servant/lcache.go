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
func (s *Servant) LcSet(_ context.Context, c *rpc.Context, key string, value []byte) (bool, error) {
	lc, err := s.localCache(c, key)
	if err != nil {
		return false, err
	}
	if err := lc.Set(key, value); err != nil {
		return false, fmt.Errorf("%s: %w", partLocalCache, err)
	}
	return true, nil
}

// LcGet returns the value under key or throws TCacheMissed.
func (s *Servant) LcGet(_ context.Context, c *rpc.Context, key string) ([]byte, error) {
	lc, err := s.localCache(c, key)
	if err != nil {
		return nil, err
	}
	if v, ok := lc.Get(key); ok {
		return v, nil
	}
	return nil, cacheMissed(key)
}

// LcDel removes key; removing a missing key is not an error.
func (s *Servant) LcDel(_ context.Context, c *rpc.Context, key string) error {
	lc, err := s.localCache(c, key)
	if err != nil {
		return err
	}
	lc.Delete(key)
	return nil
}
