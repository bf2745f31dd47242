// Package lock is a node's lock table: key → holder (ctx.rid, or a fencing
// token) and expiry, bounded, never evicting a live lock.
package lock

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of the lock table.
var (
	// ErrTableFull: every slot holds a live lock; none is evicted.
	ErrTableFull = errors.New("lock table full")
	// ErrNotOwner: unlock by a request other than the one that locked.
	ErrNotOwner = errors.New("lock held by another request")
)

// Config configures the node's lock table.
type Config struct {
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

// DefaultConfig: 10s locks, 100k of them, owner-checked unlock.
func DefaultConfig() Config {
	return Config{TTL: 10 * time.Second, MaxLocks: 100_000, OwnerCheck: true}
}

// Validate checks the lock settings.
func (c Config) Validate() error {
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

// Table holds this node's locks: key → holder and expiry.
type Table struct {
	cfg Config
	now func() time.Time

	mu    sync.Mutex
	locks map[string]heldLock
}

// New builds an empty table; now may be nil (time.Now).
func New(cfg Config, now func() time.Time) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Table{cfg: cfg, now: now, locks: map[string]heldLock{}}, nil
}

// TTL is how long a plain lock is held.
func (t *Table) TTL() time.Duration { return t.cfg.TTL }

// Lock takes key for rid; false when someone holds it.
func (t *Table) Lock(key string, rid int64) (bool, error) {
	return t.grant(key, heldLock{rid: rid}, t.cfg.TTL)
}

// Free says whether key could be locked now.
func (t *Table) Free(key string) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.locks[key]
	return !ok || !now.Before(h.expires)
}

// LockFenced takes key for rid for ttl under a fencing token; false when
// someone holds it.
func (t *Table) LockFenced(key string, rid, token int64, ttl time.Duration) (bool, error) {
	return t.grant(key, heldLock{rid: rid, token: token}, ttl)
}

// UnlockFenced releases key if its live grant has token.
func (t *Table) UnlockFenced(key string, token int64) bool {
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
func (t *Table) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.locks)
}

func (t *Table) grant(key string, h heldLock, ttl time.Duration) (bool, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.locks[key]; ok && now.Before(h.expires) {
		return false, nil
	}
	if len(t.locks) >= t.cfg.MaxLocks {
		t.dropExpired(now)
		if len(t.locks) >= t.cfg.MaxLocks {
			return false, fmt.Errorf("%w: %d live locks (max_locks)", ErrTableFull, len(t.locks))
		}
	}
	h.expires = now.Add(ttl)
	t.locks[key] = h
	return true, nil
}

// Unlock releases key if rid holds it (any rid without OwnerCheck). An
// expired or unknown lock is already released: not an error.
func (t *Table) Unlock(key string, rid int64) error {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.locks[key]
	if !ok || !now.Before(h.expires) {
		delete(t.locks, key)
		return nil
	}
	if t.cfg.OwnerCheck && h.rid != rid {
		return fmt.Errorf("%w: %q was locked by rid %d", ErrNotOwner, key, h.rid)
	}
	delete(t.locks, key)
	return nil
}

// dropExpired sweeps expired locks; called with mu held when full.
func (t *Table) dropExpired(now time.Time) {
	for k, h := range t.locks {
		if !now.Before(h.expires) {
			delete(t.locks, k)
		}
	}
}
