package servant_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/lock"
	"github.com/faed/faed/servant"
)

// manualClock only moves when the test moves it.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func lockServant(t *testing.T, cfg lock.Config, now func() time.Time) *servant.Servant {
	t.Helper()
	lt, err := lock.New(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	return servant.New(servant.Info{}, servant.Parts{Locks: lt}, now)
}

func req(rid int64) *rpc.Context { return &rpc.Context{Rid: rid, Reason: "lock-test"} }

func TestLockExclusiveUnderConcurrency(t *testing.T) {
	s := lockServant(t, lock.DefaultConfig(), nil)
	ctx := context.Background()
	var inside, maxInside, acquired atomic.Int64
	var wg sync.WaitGroup
	for client := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rid := int64(client + 1)
			for range 200 {
				ok, err := s.Lock(ctx, req(rid), "r", "hot")
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					continue
				}
				acquired.Add(1)
				n := inside.Add(1)
				for m := maxInside.Load(); n > m && !maxInside.CompareAndSwap(m, n); m = maxInside.Load() {
				}
				inside.Add(-1)
				if err := s.Unlock(ctx, req(rid), "r", "hot"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders at once", maxInside.Load())
	}
	if acquired.Load() == 0 {
		t.Fatal("nobody ever acquired the lock")
	}
}

func TestLockExpiresAndLateUnlockIsRefused(t *testing.T) {
	clk := &manualClock{t: time.Unix(1_700_000_000, 0)}
	s := lockServant(t, lock.DefaultConfig(), clk.now)
	ctx := context.Background()
	if ok, _ := s.Lock(ctx, req(1), "r", "k"); !ok {
		t.Fatal("first lock failed")
	}
	if ok, _ := s.Lock(ctx, req(2), "r", "k"); ok {
		t.Fatal("second holder acquired a held lock")
	}
	clk.add(10 * time.Second) // holder 1 paused past the 10s expiry
	if ok, _ := s.Lock(ctx, req(2), "r", "k"); !ok {
		t.Fatal("lock not acquirable after expiry")
	}
	err := s.Unlock(ctx, req(1), "r", "k") // holder 1's late unlock
	if !errors.Is(err, lock.ErrNotOwner) {
		t.Fatalf("late unlock by the old holder: err = %v, want ErrNotLockOwner", err)
	}
	if ok, _ := s.Lock(ctx, req(3), "r", "k"); ok {
		t.Fatal("old holder's unlock released the new holder's lock")
	}
	if err := s.Unlock(ctx, req(2), "r", "k"); err != nil {
		t.Fatalf("owner unlock: %v", err)
	}
	if ok, _ := s.Lock(ctx, req(3), "r", "k"); !ok {
		t.Fatal("lock not free after its owner unlocked")
	}
}

func TestUnlockWithoutOwnerCheck(t *testing.T) {
	cfg := lock.DefaultConfig()
	cfg.OwnerCheck = false
	s := lockServant(t, cfg, nil)
	ctx := context.Background()
	if ok, _ := s.Lock(ctx, req(1), "r", "k"); !ok {
		t.Fatal("lock failed")
	}
	if err := s.Unlock(ctx, req(2), "r", "k"); err != nil {
		t.Fatalf("unlock by another rid with owner_check off: %v", err)
	}
	if ok, _ := s.Lock(ctx, req(2), "r", "k"); !ok {
		t.Fatal("lock still held")
	}
}

func TestFullLockTableIsAnErrorNotAnEviction(t *testing.T) {
	clk := &manualClock{t: time.Unix(1_700_000_000, 0)}
	cfg := lock.DefaultConfig()
	cfg.MaxLocks = 3
	s := lockServant(t, cfg, clk.now)
	ctx := context.Background()
	for i := range 3 {
		if ok, err := s.Lock(ctx, req(1), "r", fmt.Sprint("k", i)); !ok || err != nil {
			t.Fatalf("lock %d: %v %v", i, ok, err)
		}
	}
	if _, err := s.Lock(ctx, req(1), "r", "k3"); !errors.Is(err, lock.ErrTableFull) {
		t.Fatalf("err = %v, want ErrLockTableFull", err)
	}
	for i := range 3 { // every held lock is still held
		if ok, _ := s.Lock(ctx, req(2), "r", fmt.Sprint("k", i)); ok {
			t.Fatalf("held lock k%d was evicted", i)
		}
	}
	clk.add(11 * time.Second) // expired locks make room
	if ok, err := s.Lock(ctx, req(1), "r", "k3"); !ok || err != nil {
		t.Fatalf("lock after expiry: %v %v", ok, err)
	}
}

func TestLockRejectsEmptyKey(t *testing.T) {
	s := lockServant(t, lock.DefaultConfig(), nil)
	if _, err := s.Lock(context.Background(), req(1), "r", ""); !errors.Is(err, servant.ErrEmptyKey) {
		t.Fatalf("err = %v", err)
	}
}
