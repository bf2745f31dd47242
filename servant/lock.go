package servant

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
)

const partLock = "locks"

// Errors of the lock table.
var (
	// ErrLockTableFull: every slot holds a live lock; none is evicted.
	ErrLockTableFull = errors.New("lock table full")
	// ErrNotLockOwner: unlock by a request other than the one that locked.
	ErrNotLockOwner = errors.New("lock held by another request")
)

// LockConfig configures the node's lock table.
type LockConfig struct {
	// TTL is how long a lock is held unless unlocked first.
	TTL time.Duration `toml:"ttl"`
	// MaxLocks bounds the table; when every lock in it is live, lock fails
	// with an error instead of evicting a held lock.
	MaxLocks int `toml:"max_locks"`
	// OwnerCheck lets unlock release only a lock taken under the same
	// ctx.rid, so a holder that paused past its TTL cannot release the
	// next holder's lock.
	OwnerCheck bool `toml:"owner_check"`
}

// DefaultLockConfig: 10s locks, 100k of them, owner-checked unlock.
func DefaultLockConfig() LockConfig {
	return LockConfig{TTL: 10 * time.Second, MaxLocks: 100_000, OwnerCheck: true}
}

// Validate checks the lock settings.
func (c LockConfig) Validate() error {
	if c.TTL <= 0 || c.MaxLocks <= 0 {
		return errors.New("ttl and max_locks must be > 0")
	}
	return nil
}

type heldLock struct {
	rid     int64
	token   int64 // fencing token of a lock_fenced grant, else 0
	expires time.Time
}

// LockTable holds this node's locks: key → holder and expiry.
type LockTable struct {
	cfg LockConfig
	now func() time.Time

	mu    sync.Mutex
	locks map[string]heldLock
}

// NewLockTable builds an empty table; now may be nil (time.Now).
func NewLockTable(cfg LockConfig, now func() time.Time) (*LockTable, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &LockTable{cfg: cfg, now: now, locks: map[string]heldLock{}}, nil
}

// Lock takes key for rid; false when someone holds it.
func (t *LockTable) Lock(key string, rid int64) (bool, error) {
	return t.grant(key, heldLock{rid: rid}, t.cfg.TTL)
}

// Free says whether key could be locked now.
func (t *LockTable) Free(key string) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.locks[key]
	return !ok || !now.Before(h.expires)
}

// LockFenced takes key for rid for ttl under a fencing token; false when
// someone holds it.
func (t *LockTable) LockFenced(key string, rid, token int64, ttl time.Duration) (bool, error) {
	return t.grant(key, heldLock{rid: rid, token: token}, ttl)
}

// UnlockFenced releases key if its live grant has token.
func (t *LockTable) UnlockFenced(key string, token int64) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.locks[key]
	if !ok || !now.Before(h.expires) || h.token != token {
		return false
	}
	delete(t.locks, key)
	return true
}

// Clear drops every lock: the session they were granted under is gone.
func (t *LockTable) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.locks)
}

func (t *LockTable) grant(key string, h heldLock, ttl time.Duration) (bool, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.locks[key]; ok && now.Before(h.expires) {
		return false, nil
	}
	if len(t.locks) >= t.cfg.MaxLocks {
		t.dropExpired(now)
		if len(t.locks) >= t.cfg.MaxLocks {
			return false, fmt.Errorf("%w: %d live locks (max_locks)", ErrLockTableFull, len(t.locks))
		}
	}
	h.expires = now.Add(ttl)
	t.locks[key] = h
	return true, nil
}

// Unlock releases key if rid holds it (any rid without OwnerCheck). An
// expired or unknown lock is already released: not an error.
func (t *LockTable) Unlock(key string, rid int64) error {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.locks[key]
	if !ok || !now.Before(h.expires) {
		delete(t.locks, key)
		return nil
	}
	if t.cfg.OwnerCheck && h.rid != rid {
		return fmt.Errorf("%w: %q was locked by rid %d", ErrNotLockOwner, key, h.rid)
	}
	delete(t.locks, key)
	return nil
}

// Len is the number of entries, expired ones included until swept.
func (t *LockTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.locks)
}

// dropExpired sweeps expired locks; called with mu held when full.
func (t *LockTable) dropExpired(now time.Time) {
	for k, h := range t.locks {
		if !now.Before(h.expires) {
			delete(t.locks, k)
		}
	}
}

func (s *Servant) lockTable(c *rpc.Context, key string) (*LockTable, error) {
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
	if addr := s.route(c, key); addr != "" {
		return forward(ctx, s, addr, c, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (bool, error) {
			return cl.Lock(ctx, c, reason, key)
		})
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
	if addr := s.route(c, key); addr != "" {
		return forwardErr(ctx, s, addr, c, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) error {
			return cl.Unlock(ctx, c, reason, key)
		})
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
	if addr := s.route(c, key); addr != "" {
		return forward(ctx, s, addr, c, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (int64, error) {
			return cl.LockFenced(ctx, c, reason, key, ttlMs)
		})
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
	ttl := t.cfg.TTL
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
	if addr := s.route(c, key); addr != "" {
		return forward(ctx, s, addr, c, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (bool, error) {
			return cl.UnlockFenced(ctx, c, reason, key, token)
		})
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
