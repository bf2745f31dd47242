package engine_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// gated serves lock calls that return only when the test opens their gate
// (named by the reason argument), or when the call's context ends.
type gated struct {
	rpc.FunServant
	mu      sync.Mutex
	gates   map[string]chan struct{}
	entered chan string
}

func newGated() *gated {
	return &gated{gates: map[string]chan struct{}{}, entered: make(chan string, 16)}
}

func (g *gated) gate(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates[name] == nil {
		g.gates[name] = make(chan struct{})
	}
	return g.gates[name]
}

func (g *gated) Noop(_ context.Context, x int32) (int32, error) { return x, nil }

func (g *gated) Lock(ctx context.Context, _ *rpc.Context, reason, _ string) (bool, error) {
	gate := g.gate(reason)
	g.entered <- reason
	select {
	case <-gate:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func startGated(t *testing.T, mod func(*engine.Config)) (*server, *gated) {
	t.Helper()
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	g := newGated()
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(g), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range []string{"a", "b", "c"} {
			select {
			case <-g.gate(name):
			default:
				close(g.gate(name))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &server{e: e}, g
}

func lockAsync(c *rpc.FunServantClient, gate string) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Lock(context.Background(), rctx(), gate, "k")
		done <- err
	}()
	return done
}

func entered(t *testing.T, g *gated, want string) {
	t.Helper()
	select {
	case got := <-g.entered:
		if got != want {
			t.Fatalf("call %q entered, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("call %q never reached the handler", want)
	}
}

// WaitCalls returns once the calls running when it began have returned,
// whatever calls began after it.
func TestWaitCallsWaitsForEarlierCallsOnly(t *testing.T) {
	s, g := startGated(t, func(c *engine.Config) { c.CallTimeout = time.Minute })
	first := lockAsync(dial(t, s, wire{network: "tcp"}), "a")
	entered(t, g, "a")

	waited := make(chan error, 1)
	go func() { waited <- s.e.WaitCalls(context.Background()) }()
	// A call that begins after WaitCalls is not waited for; it is in the
	// handler before the first one is let go.
	second := lockAsync(dial(t, s, wire{network: "tcp"}), "b")
	entered(t, g, "b")
	select {
	case err := <-waited:
		t.Fatalf("WaitCalls returned (%v) while an earlier call still ran", err)
	default:
	}
	close(g.gate("a"))
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitCalls still waiting after the earlier call returned")
	}
	select {
	case err := <-second:
		t.Fatalf("the later call returned (%v) before its gate opened", err)
	default:
	}

	// A context that ends first stops the wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.e.WaitCalls(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitCalls with a call running and a cancelled context = %v", err)
	}
	close(g.gate("b"))
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if err := s.e.WaitCalls(context.Background()); err != nil {
		t.Fatalf("WaitCalls with nothing running = %v", err)
	}
}

// Reconfigure applies timeouts and the rate limit to new calls, keeps the
// settings that need a restart, and refuses an invalid config.
func TestReconfigure(t *testing.T) {
	s, g := startGated(t, func(c *engine.Config) { c.CallTimeout = time.Minute })
	c := dial(t, s, wire{network: "tcp"})
	running := lockAsync(dial(t, s, wire{network: "tcp"}), "a")
	entered(t, g, "a")

	next := s.e.Settings()
	next.CallTimeout = 50 * time.Millisecond
	next.RateLimit, next.RateBurst = 0.001, 2
	next.Listen, next.MaxSessions = "127.0.0.1:1", 7
	if keys := s.e.Settings().NeedsRestart(next); !slices.Equal(keys, []string{"listen", "max_sessions"}) {
		t.Fatalf("NeedsRestart = %v", keys)
	}
	if err := s.e.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	got := s.e.Settings()
	if got.CallTimeout != 50*time.Millisecond || got.RateLimit != 0.001 || got.Listen == "127.0.0.1:1" || got.MaxSessions == 7 {
		t.Fatalf("settings after Reconfigure: %+v", got)
	}
	// The new call_timeout ends a new call; the call already running keeps
	// its own deadline and finishes when let go.
	_, err := c.Lock(context.Background(), rctx(), "c", "k")
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("lock past the new call_timeout = %v", err)
	}
	close(g.gate("a"))
	if err := <-running; err != nil {
		t.Fatalf("call running across Reconfigure: %v", err)
	}
	// Burst 2, refilling once in 1000 s: the lock above used one token.
	if _, err := c.Noop(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	_, err = c.Noop(context.Background(), 2)
	var ae thrift.TApplicationException
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "rate limit") {
		t.Fatalf("call over the new rate limit = %v", err)
	}
	next.RateLimit = 0
	if err := s.e.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Noop(context.Background(), 3); err != nil {
		t.Fatalf("with the rate limit off again: %v", err)
	}

	bad := s.e.Settings()
	bad.CallTimeout = 0
	if err := s.e.Reconfigure(bad); !errors.Is(err, engine.ErrConfig) {
		t.Fatalf("Reconfigure(call_timeout 0) = %v", err)
	}
	if s.e.Settings().CallTimeout != 50*time.Millisecond {
		t.Fatal("an invalid config changed the settings")
	}
}

// POST /reload answers the reload's result; a failed one is 400, one with
// nothing to reload 409; other methods are not allowed.
func TestAdminReload(t *testing.T) {
	var result any = map[string]any{"ok": true}
	var err error
	a := engine.NewAdmin(engine.AdminConfig{Listen: "127.0.0.1:0"}, engine.AdminSources{
		Reload: func() (any, error) { return result, err },
	}, nil)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	url := "http://" + a.Addr().String() + "/reload"
	post := func() (int, string) {
		resp, err := http.Post(url, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(); code != 200 || !strings.Contains(body, `"ok": true`) {
		t.Fatalf("good reload: %d %s", code, body)
	}
	result, err = map[string]any{"ok": false, "error": "bad key"}, errors.New("bad key")
	if code, body := post(); code != 400 || !strings.Contains(body, "bad key") {
		t.Fatalf("bad reload: %d %s", code, body)
	}
	err = engine.ErrNoReload
	if code, _ := post(); code != 409 {
		t.Fatalf("nothing to reload: %d", code)
	}
	if code, _ := get(t, url); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /reload: %d", code)
	}
}
