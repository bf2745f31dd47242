package memcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	gomc "github.com/bradfitz/gomemcache/memcache"
	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/memcache"
)

var mcPorts = []int{21311, 21312}

func startPools(t *testing.T, selector string) (*memcache.Pools, *devstack.Stack, []string) {
	t.Helper()
	stack, sv := devstack.Start(t, devstack.Ports{Memcached: mcPorts})
	cfg := memcache.DefaultConfig()
	cfg.Servers = sv.Memcached
	cfg.Selector = selector
	cfg.Breaker = breaker.Config{Failures: 3, Cooldown: 200 * time.Millisecond}
	ps, err := memcache.New(map[string]memcache.Config{"default": cfg})
	if err != nil {
		t.Fatal(err)
	}
	return ps, stack, sv.Memcached
}

func uniq(prefix string) string { return fmt.Sprint(prefix, time.Now().UnixNano()) }

func TestSemantics(t *testing.T) {
	ps, _, _ := startPools(t, memcache.Standard)
	ctx := context.Background()
	k := uniq("sem:")
	if _, err := ps.Get(ctx, "default", k); !errors.Is(err, memcache.ErrMiss) {
		t.Fatalf("get missing: %v", err)
	}
	if err := ps.Set(ctx, "default", k, memcache.Item{Value: []byte("v\x00"), Flags: 7}, 0); err != nil {
		t.Fatal(err)
	}
	if it, err := ps.Get(ctx, "default", k); err != nil || string(it.Value) != "v\x00" || it.Flags != 7 {
		t.Fatalf("get = %+v, %v", it, err)
	}
	if err := ps.Add(ctx, "default", k, memcache.Item{Value: []byte("x")}, 0); !errors.Is(err, memcache.ErrNotStored) {
		t.Fatalf("add existing: %v", err)
	}
	if err := ps.Append(ctx, "default", k, []byte("+")); err != nil {
		t.Fatal(err)
	}
	if it, _ := ps.Get(ctx, "default", k); string(it.Value) != "v\x00+" {
		t.Fatalf("after append: %q", it.Value)
	}
	if err := ps.Append(ctx, "default", k+":none", []byte("+")); !errors.Is(err, memcache.ErrNotStored) {
		t.Fatalf("append missing: %v", err)
	}
	if err := ps.Delete(ctx, "default", k); err != nil {
		t.Fatal(err)
	}
	if err := ps.Delete(ctx, "default", k); !errors.Is(err, memcache.ErrMiss) {
		t.Fatalf("delete missing: %v", err)
	}
	n := k + ":n"
	if _, err := ps.Increment(ctx, "default", n, 1); !errors.Is(err, memcache.ErrMiss) {
		t.Fatalf("incr missing: %v", err)
	}
	ps.Set(ctx, "default", n, memcache.Item{Value: []byte("10")}, 0)
	for _, step := range []struct {
		delta int64
		want  uint64
	}{{5, 15}, {-3, 12}, {0, 12}, {-100, 0}} {
		if got, err := ps.Increment(ctx, "default", n, step.delta); err != nil || got != step.want {
			t.Fatalf("incr %d = %d, %v; want %d", step.delta, got, err, step.want)
		}
	}
	ps.Set(ctx, "default", n, memcache.Item{Value: []byte("abc")}, 0)
	if _, err := ps.Increment(ctx, "default", n, 1); err == nil || errors.Is(err, memcache.ErrMiss) {
		t.Fatalf("incr of a non-number must be an error, got %v", err)
	}
	got, err := ps.GetMulti(ctx, "default", []string{n, k, k + ":x"})
	if err != nil || len(got) != 1 || string(got[n].Value) != "abc" {
		t.Fatalf("get multi = %v, %v", got, err)
	}
	for _, bad := range []string{"", strings.Repeat("k", 251), "has space", "ctl\x01", "nl\n"} {
		if err := ps.Set(ctx, "default", bad, memcache.Item{}, 0); !errors.Is(err, memcache.ErrBadKey) {
			t.Errorf("key %q: err = %v", bad, err)
		}
	}
	if _, err := ps.Get(ctx, "nope", k); !errors.Is(err, memcache.ErrUnknownPool) {
		t.Errorf("unknown pool: %v", err)
	}
}

// phpServer is the PHP memcache extension's standard placement, written
// out from its definition.
func phpServer(key string, n int) int {
	return int((crc32.ChecksumIEEE([]byte(key))>>16)&0x7fff) % n
}

func TestStandardPlacementMatchesPHP(t *testing.T) {
	ps, _, addrs := startPools(t, memcache.Standard)
	ctx := context.Background()
	direct := []*gomc.Client{gomc.New(addrs[0]), gomc.New(addrs[1])}
	prefix := uniq("place:")
	for i := range 300 {
		k := fmt.Sprint(prefix, i)
		if err := ps.Set(ctx, "default", k, memcache.Item{Value: []byte("x")}, 0); err != nil {
			t.Fatal(err)
		}
		want := phpServer(k, 2)
		for s, c := range direct {
			_, err := c.Get(k)
			if (err == nil) != (s == want) {
				t.Fatalf("key %q on server %d: %v; PHP places it on %d", k, s, err, want)
			}
		}
	}
}

func TestConsistentSpreadsKeys(t *testing.T) {
	ps, _, addrs := startPools(t, memcache.Consistent)
	ctx := context.Background()
	direct := []*gomc.Client{gomc.New(addrs[0]), gomc.New(addrs[1])}
	prefix := uniq("cons:")
	counts := [2]int{}
	for i := range 200 {
		k := fmt.Sprint(prefix, i)
		if err := ps.Set(ctx, "default", k, memcache.Item{Value: []byte("x")}, 0); err != nil {
			t.Fatal(err)
		}
		for s, c := range direct {
			if _, err := c.Get(k); err == nil {
				counts[s]++
			}
		}
	}
	if counts[0]+counts[1] != 200 || counts[0] < 40 || counts[1] < 40 {
		t.Fatalf("keys per server: %v", counts)
	}
}

func TestServerKilledFailsFastThenRecovers(t *testing.T) {
	ps, stack, _ := startPools(t, memcache.Standard)
	ctx := context.Background()
	prefix := uniq("kill:")
	var onDead, onLive string
	for i := 0; onDead == "" || onLive == ""; i++ {
		k := fmt.Sprint(prefix, i)
		if phpServer(k, 2) == 1 {
			onDead = k
		} else {
			onLive = k
		}
	}
	ps.Set(ctx, "default", onLive, memcache.Item{Value: []byte("1")}, 0)
	stack.Stop(t, "memcached2")
	var sawOpen bool
	for range 10 {
		_, err := ps.Get(ctx, "default", onDead)
		if err == nil || errors.Is(err, memcache.ErrMiss) {
			t.Fatalf("get on a dead server: %v", err)
		}
		if errors.Is(err, breaker.ErrOpen) {
			sawOpen = true // answered by the breaker: nothing was sent
		}
		if it, err := ps.Get(ctx, "default", onLive); err != nil || !bytes.Equal(it.Value, []byte("1")) {
			t.Fatalf("key on the live server: %v", err)
		}
	}
	if !sawOpen {
		t.Fatal("breaker never opened")
	}
	stack.Restart(t, "memcached2")
	deadline := time.Now().Add(30 * time.Second)
	for ps.Set(ctx, "default", onDead, memcache.Item{Value: []byte("2")}, 0) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no recovery after restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
