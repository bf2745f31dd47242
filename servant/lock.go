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
	t.locks[key] = heldLock{rid: rid, expires: now.Add(t.cfg.TTL)}
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
func (s *Servant) Lock(_ context.Context, c *rpc.Context, _, key string) (bool, error) {
	t, err := s.lockTable(c, key)
	if err != nil {
		return false, err
	}
	return t.Lock(key, c.Rid)
}

// Unlock releases the lock on key taken under the same ctx.rid.
func (s *Servant) Unlock(_ context.Context, c *rpc.Context, _, key string) error {
	t, err := s.lockTable(c, key)
	if err != nil {
		return err
	}
	return t.Unlock(key, c.Rid)
}
