package memcache_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/memcache"
)

// waitRefused waits until addr refuses connections: a killed process is
// gone.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
	}
	t.Fatalf("%s still accepts after SIGKILL", addr)
}

// A killed server: a refused connect says nothing was sent. A paused one
// (SIGSTOP): no reply within the timeout, outcome unknown. Both then open
// their breakers, whose answers say nothing was sent.
func TestKilledAndPausedServerTexts(t *testing.T) {
	ps, stack, addrs := startPools(t, memcache.Standard)
	defer ps.Close()
	ctx := context.Background()
	paused, killed := addrs[0], addrs[1]
	stack.Signal(t, "memcached1", syscall.SIGSTOP)
	t.Cleanup(func() { stack.Signal(t, "memcached1", syscall.SIGCONT) })
	stack.Signal(t, "memcached2", syscall.SIGKILL)
	waitRefused(t, killed)
	seen := map[string]int{}
	for i := 0; seen["open "+paused] == 0 || seen["open "+killed] == 0; i++ {
		if i == 200 {
			t.Fatalf("breakers not both open after %d calls: %v", i, seen)
		}
		k := uniq("fault:")
		t0 := time.Now()
		err := ps.Set(ctx, "default", k, memcache.Item{Value: []byte("1")}, 0)
		took := time.Since(t0)
		switch {
		case err == nil:
			t.Fatal("a set succeeded with both servers down")
		case errors.Is(err, breaker.ErrOpen):
			if !errors.Is(err, memcache.ErrNotSent) {
				t.Errorf("breaker answer %v does not say nothing was sent", err)
			}
			server := paused
			if strings.HasPrefix(err.Error(), "memcache "+killed+": ") {
				server = killed
			}
			seen["open "+server]++
		case strings.HasPrefix(err.Error(), "memcache "+killed+": "):
			if want := "memcache " + killed + ": unavailable (connection refused; nothing was sent)"; err.Error() != want || !errors.Is(err, memcache.ErrNotSent) {
				t.Errorf("killed server: %q, want %q", err, want)
			}
			t.Logf("killed: %v after %v", err, took)
		case strings.HasPrefix(err.Error(), "memcache "+paused+": "):
			if want := "memcache " + paused + ": no reply within timeout 500ms: outcome unknown"; err.Error() != want || !errors.Is(err, memcache.ErrUnknown) {
				t.Errorf("paused server: %q, want %q", err, want)
			}
			t.Logf("paused: %v after %v", err, took)
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
}
