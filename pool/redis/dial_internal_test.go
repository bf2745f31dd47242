package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/faed/faed/pool/breaker"
)

// refusedAddr is a loopback port nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// countingPools builds pools whose connects are counted.
func countingPools(t *testing.T, cfg Config) (*Pools, *atomic.Int64) {
	t.Helper()
	var dials atomic.Int64
	d := &net.Dialer{}
	ps, err := build(map[string]Config{"p": cfg}, func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps, &dials
}

// A refused connect is tried once per call (no dial retries), fails as
// "nothing was sent" naming the refusal, and counts towards the breaker,
// which then answers without dialling.
func TestRefusedConnectIsOneAttemptAndNotSent(t *testing.T) {
	for _, lanes := range []int{0, 4} {
		t.Run(fmt.Sprint("lanes=", lanes), func(t *testing.T) {
			addr := refusedAddr(t)
			cfg := DefaultConfig()
			cfg.Servers = []string{addr}
			cfg.MinIdle = 0 // no background connects: every one is a call's
			cfg.PipelineLanes = lanes
			cfg.Breaker = breaker.Config{Failures: 3, Cooldown: 3600e9}
			ps, dials := countingPools(t, cfg)
			for i := range 10 {
				_, err := ps.Call(context.Background(), "p", "SET", []string{"k", "v"})
				if !errors.Is(err, ErrNotSent) || errors.Is(err, ErrUnknown) {
					t.Fatalf("call %d: %v, want nothing sent", i, err)
				}
				if i < 3 {
					want := fmt.Sprintf("redis %s: unavailable (connection refused; nothing was sent)", addr)
					if err.Error() != want {
						t.Errorf("call %d: %q, want %q", i, err, want)
					}
					if got := dials.Load(); got != int64(i+1) {
						t.Errorf("after call %d: %d connects, want %d", i, got, i+1)
					}
				} else if !errors.Is(err, breaker.ErrOpen) {
					t.Errorf("call %d after 3 refusals: %v, want the open breaker", i, err)
				}
			}
			if got := dials.Load(); got != 3 {
				t.Errorf("%d connects for 3 refused calls and 7 skipped ones", got)
			}
		})
	}
}

// The breaker's answer says nothing was sent too.
func TestOpenBreakerText(t *testing.T) {
	err := describe(fmt.Errorf("x: %w", breaker.ErrOpen))
	if !errors.Is(err, ErrNotSent) || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("%v", err)
	}
}

// go-redis's own log lines go to the logger SetDriverLog names (at debug),
// never straight to stderr.
func TestDriverLogGoesThroughSlog(t *testing.T) {
	var buf syncBuffer
	SetDriverLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer SetDriverLog(slog.New(slog.DiscardHandler))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // refused from now on
	cfg := DefaultConfig()
	cfg.Servers = []string{addr}
	cfg.PipelineLanes = 0
	ps, err := New(map[string]Config{"p": cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if _, err := ps.Call(context.Background(), "p", "GET", []string{"k"}); err == nil {
		t.Fatal("GET on a refused port succeeded")
	}
	if !strings.Contains(buf.String(), "redis driver") {
		t.Fatalf("go-redis logged nothing through slog: %q", buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
