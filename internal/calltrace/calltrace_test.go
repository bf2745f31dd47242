package calltrace_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/faed/faed/internal/calltrace"
)

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Backend(kind, server string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, kind+" "+server)
}

type ctxKey struct{}

func TestBackendNotesOnTheCallsRecorder(t *testing.T) {
	r := &recorder{}
	ctx := context.WithValue(calltrace.NewContext(context.Background(), r), ctxKey{}, 1)
	calltrace.Backend(ctx, "redis", "127.0.0.1:6379")
	calltrace.BackendAddr(ctx, "memcache", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 11211})
	if want := []string{"redis 127.0.0.1:6379", "memcache 127.0.0.1:11211"}; !slices.Equal(r.got, want) {
		t.Fatalf("noted %q, want %q", r.got, want)
	}
}

// An untraced call pays a context lookup only.
func TestBackendWithoutRecorderAllocatesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, 1))
	defer cancel()
	addr := net.Addr(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 11211})
	allocs := testing.AllocsPerRun(1000, func() {
		calltrace.Backend(ctx, "redis", "127.0.0.1:6379")
		calltrace.BackendAddr(ctx, "memcache", addr)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per untraced call", allocs)
	}
}
