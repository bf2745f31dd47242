package servant_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/cache"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/lock"
	"github.com/faed/faed/proxy"
	"github.com/faed/faed/servant"
)

// elsewhere says every key belongs to another node and records calls to
// it: routing logic only (the real proxy is tested across processes).
type elsewhere struct {
	calls int
	fail  error
}

func (e *elsewhere) Owner(string) (string, bool) { return "10.0.0.9:9001", false }
func (e *elsewhere) Call(ctx context.Context, _ string, call func(context.Context, rpc.FunServant) error) error {
	e.calls++
	if e.fail != nil {
		return e.fail
	}
	return errors.New("the fake owner answers nothing")
}

// zkStub is a ZooKeeper stand-in for the lock rules: connected or not,
// tokens counting up.
type zkStub struct {
	up    bool
	token int64
}

func (s *zkStub) Connected() bool { return s.up }
func (s *zkStub) Fence() (int64, error) {
	if !s.up {
		return 0, errors.New("no session")
	}
	s.token++
	return s.token, nil
}
func (s *zkStub) Create(string, []byte) error       { return nil }
func (s *zkStub) Children(string) ([]string, error) { return nil, nil }
func (s *zkStub) Delete(string) error               { return nil }

func clusterServant(t *testing.T, cl servant.Cluster, zk servant.Coordinator, clock *manualClock) *servant.Servant {
	t.Helper()
	lt, err := lock.New(lock.DefaultConfig(), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := cache.New(cache.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return servant.New(servant.Info{}, servant.Parts{Locks: lt, Cache: lc, Cluster: cl, Coordinator: zk, RouteLocalCache: true}, clock.now)
}

func TestStickyCallsAreNeverForwardedAgain(t *testing.T) {
	cl := &elsewhere{}
	s := clusterServant(t, cl, &zkStub{up: true}, &manualClock{t: time.Unix(1e9, 0)})
	sticky := &rpc.Context{Rid: 1, Reason: "r", Sticky: thrift.BoolPtr(true)}
	if ok, err := s.Lock(context.Background(), sticky, "r", "k"); err != nil || !ok {
		t.Fatalf("sticky lock: %v, %v", ok, err)
	}
	if cl.calls != 0 {
		t.Fatalf("a sticky call was forwarded %d times", cl.calls)
	}
	if _, err := s.Lock(context.Background(), req(2), "r", "k2"); err == nil {
		t.Fatal("expected the fake owner's error")
	}
	if cl.calls != 1 {
		t.Fatalf("a fresh call for another node's key was forwarded %d times", cl.calls)
	}
}

func TestUnreachableOwner(t *testing.T) {
	cl := &elsewhere{fail: fmt.Errorf("%w: 10.0.0.9:9001: connection refused", proxy.ErrUnreachable)}
	s := clusterServant(t, cl, &zkStub{up: true}, &manualClock{t: time.Unix(1e9, 0)})
	ctx := context.Background()
	if _, err := s.Lock(ctx, req(1), "r", "k"); !errors.Is(err, proxy.ErrUnreachable) {
		t.Fatalf("lock with the owner down: %v (must fail, never grant here)", err)
	}
	var miss *rpc.TCacheMissed
	if _, err := s.LcGet(ctx, req(1), "k"); !errors.As(err, &miss) {
		t.Fatalf("lc_get with the owner down: %v, want a miss", err)
	}
	if _, err := s.LcSet(ctx, req(1), "k", []byte("v")); !errors.Is(err, proxy.ErrUnreachable) {
		t.Fatalf("lc_set with the owner down: %v", err)
	}
	if got := s.ClusterStats(); got.Degraded != 1 || got.Forwarded != 3 {
		t.Fatalf("stats %+v", got)
	}
}

func TestFencedLocks(t *testing.T) {
	clock := &manualClock{t: time.Unix(1e9, 0)}
	zk := &zkStub{up: true}
	s := clusterServant(t, nil, zk, clock)
	ctx := context.Background()
	tok, err := s.LockFenced(ctx, req(1), "r", "k", 1000)
	if err != nil || tok == 0 {
		t.Fatalf("first grant: %d, %v", tok, err)
	}
	if again, err := s.LockFenced(ctx, req(2), "r", "k", 1000); again != 0 || err != nil {
		t.Fatalf("held: %d, %v", again, err)
	}
	clock.add(1001 * time.Millisecond)
	next, err := s.LockFenced(ctx, req(2), "r", "k", 0)
	if err != nil || next <= tok {
		t.Fatalf("after expiry: %d (old %d), %v", next, tok, err)
	}
	if ok, _ := s.UnlockFenced(ctx, req(1), "r", "k", tok); ok {
		t.Fatal("the expired holder's token released the new grant")
	}
	if ok, _ := s.UnlockFenced(ctx, req(2), "r", "k", next); !ok {
		t.Fatal("the holder's token did not release")
	}
	if _, err := s.LockFenced(ctx, req(1), "r", "k", -1); err == nil {
		t.Fatal("negative ttl accepted")
	}
	zk.up = false
	for _, call := range []func() error{
		func() error { _, err := s.LockFenced(ctx, req(1), "r", "z", 0); return err },
		func() error { _, err := s.Lock(ctx, req(1), "r", "z"); return err },
	} {
		if err := call(); !errors.Is(err, servant.ErrNoZKSession) || !strings.Contains(err.Error(), "zookeeper") {
			t.Fatalf("without a session: %v", err)
		}
	}
}
