package servant

import (
	"context"
	"fmt"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
)

const partLock = "locks"

// LockTable is what lock* need of the node's lock table (lock.Table).
type LockTable interface {
	Lock(key string, rid int64) (bool, error)
	Unlock(key string, rid int64) error
	Free(key string) bool
	LockFenced(key string, rid, token int64, ttl time.Duration) (bool, error)
	UnlockFenced(key string, token int64) bool
	TTL() time.Duration
}

func (s *Servant) lockTable(c *rpc.Context, key string) (LockTable, error) {
	if err := checkContext(c); err != nil {
		return nil, err
	}
	if s.locks == nil {
		return nil, fmt.Errorf("%s: %w", partLock, ErrNotConfigured)
	}
	if key == "" {
		return nil, fmt.Errorf("%s: %w", partLock, ErrEmptyKey)
	}
	return s.locks, nil
}

// Lock returns true when the lock on key was acquired, false when held.
// In a cluster the key's owner holds the lock; an owner that cannot be
// reached is an error, never a lock granted here.
func (s *Servant) Lock(ctx context.Context, c *rpc.Context, reason, key string) (bool, error) {
	t, err := s.lockTable(c, key)
	if err != nil {
		return false, err
	}
	if ok, r, err := keyed(ctx, s, c, methodLock, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (bool, error) {
		return cl.Lock(ctx, c, reason, key)
	}); r != routeLocal {
		return ok, err
	}
	if err := s.canGrant(); err != nil {
		return false, err
	}
	return t.Lock(key, c.Rid)
}

// Unlock releases the lock on key taken under the same ctx.rid.
func (s *Servant) Unlock(ctx context.Context, c *rpc.Context, reason, key string) error {
	t, err := s.lockTable(c, key)
	if err != nil {
		return err
	}
	if r, err := keyedErr(ctx, s, c, methodUnlock, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) error {
		return cl.Unlock(ctx, c, reason, key)
	}); r != routeLocal {
		return err
	}
	return t.Unlock(key, c.Rid)
}

// LockFenced takes key for ttlMs (0: the configured TTL) and returns a
// fencing token larger than every earlier grant's, or 0 when the lock is
// held. Tokens need ZooKeeper.
func (s *Servant) LockFenced(ctx context.Context, c *rpc.Context, reason, key string, ttlMs int32) (int64, error) {
	t, err := s.lockTable(c, key)
	if err != nil {
		return 0, err
	}
	if ttlMs < 0 {
		return 0, fmt.Errorf("%s: ttlMs %d is negative", partLock, ttlMs)
	}
	if tok, r, err := keyed(ctx, s, c, methodLockFenced, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (int64, error) {
		return cl.LockFenced(ctx, c, reason, key, ttlMs)
	}); r != routeLocal {
		return tok, err
	}
	if s.coord == nil {
		return 0, fmt.Errorf("%s: fencing tokens need zookeeper: %w", partLock, ErrNotConfigured)
	}
	if err := s.canGrant(); err != nil {
		return 0, err
	}
	if !t.Free(key) {
		return 0, nil
	}
	token, err := s.coord.Fence() // a ZooKeeper write: outside the table's lock
	if err != nil {
		return 0, fmt.Errorf("%s: %w", partLock, err)
	}
	ttl := t.TTL()
	if ttlMs > 0 {
		ttl = time.Duration(ttlMs) * time.Millisecond
	}
	ok, err := t.LockFenced(key, c.Rid, token, ttl)
	if !ok || err != nil {
		return 0, err // taken meanwhile: the token is never handed out
	}
	return token, nil
}

// UnlockFenced releases key if token is its current grant's.
func (s *Servant) UnlockFenced(ctx context.Context, c *rpc.Context, reason, key string, token int64) (bool, error) {
	t, err := s.lockTable(c, key)
	if err != nil {
		return false, err
	}
	if ok, r, err := keyed(ctx, s, c, methodUnlockFenced, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (bool, error) {
		return cl.UnlockFenced(ctx, c, reason, key, token)
	}); r != routeLocal {
		return ok, err
	}
	return t.UnlockFenced(key, token), nil
}

// canGrant: with ZooKeeper configured, a lock is granted only while the
// session is live (views may differ without it).
func (s *Servant) canGrant() error {
	if s.coord != nil && !s.coord.Connected() {
		return fmt.Errorf("%s: %w", partLock, ErrNoZKSession)
	}
	return nil
}
