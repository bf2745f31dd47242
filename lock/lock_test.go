package lock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/faed/faed/lock"
)

func TestSessionLossClearsLocks(t *testing.T) {
	lt, err := lock.New(lock.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := lt.Lock("k", 1); !ok {
		t.Fatal("lock")
	}
	lt.Clear()
	if ok, _ := lt.Lock("k", 2); !ok {
		t.Fatal("a lock from the lost session survived Clear")
	}
}

func TestFencedGrantsAndExpiry(t *testing.T) {
	now := time.Unix(1e9, 0)
	lt, err := lock.New(lock.Config{TTL: time.Second, MaxLocks: 2, OwnerCheck: true}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := lt.LockFenced("k", 1, 7, 100*time.Millisecond); !ok || lt.Free("k") {
		t.Fatal("fenced grant")
	}
	if lt.UnlockFenced("k", 6) {
		t.Fatal("released by another token")
	}
	now = now.Add(100 * time.Millisecond)
	if !lt.Free("k") || lt.UnlockFenced("k", 7) {
		t.Fatal("an expired grant is free and its token releases nothing")
	}
	if ok, _ := lt.Lock("a", 1); !ok {
		t.Fatal("lock a")
	}
	if ok, _ := lt.Lock("b", 1); !ok {
		t.Fatal("lock b (the expired k is swept)")
	}
	if _, err := lt.Lock("c", 1); !errors.Is(err, lock.ErrTableFull) {
		t.Fatalf("full table: %v", err)
	}
	if err := lt.Unlock("a", 2); !errors.Is(err, lock.ErrNotOwner) {
		t.Fatalf("unlock by another rid: %v", err)
	}
	if lt.TTL() != time.Second {
		t.Fatalf("TTL %v", lt.TTL())
	}
	if _, err := lock.New(lock.Config{}, nil); err == nil {
		t.Fatal("a zero config was accepted")
	}
}
