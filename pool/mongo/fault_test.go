package mongo_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/mongo"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A paused server (SIGSTOP): a write sent gets no reply, and the error
// says so and that the outcome is unknown. Then killed: nothing can be
// sent, and the error says that.
func (e *env) testServerPausedThenKilled(t *testing.T) {
	p := e.pools(t, "legacy")
	ctx := context.Background()
	s, _ := p.Pick("default", 0)
	if _, err := s.Count(ctx, "k", nil); err != nil {
		t.Fatal(err)
	}
	e.stack.Signal(t, "mongo", syscall.SIGSTOP)
	cont := func() { e.stack.Signal(t, "mongo", syscall.SIGCONT) }
	t.Cleanup(func() {
		if cont != nil {
			cont()
		}
	})
	cctx, cancel := context.WithTimeout(ctx, 750*time.Millisecond)
	t0 := time.Now()
	err := s.Insert(cctx, "k", []bson.Raw{raw(t, bson.M{"n": 1})})
	cancel()
	t.Logf("paused: %v after %v", err, time.Since(t0))
	if !errors.Is(err, mongo.ErrUnknown) || errors.Is(err, mongo.ErrNotSent) {
		t.Errorf("insert on a paused server: %v, want outcome unknown", err)
	}

	e.stack.Signal(t, "mongo", syscall.SIGKILL) // a stopped process dies too
	cont = nil
	u, _ := url.Parse(e.uri)
	waitRefused(t, u.Host)
	for i := range 6 {
		cctx, cancel := context.WithTimeout(ctx, 750*time.Millisecond)
		t0 := time.Now()
		err := s.Insert(cctx, "k", []bson.Raw{raw(t, bson.M{"n": 1})})
		cancel()
		t.Logf("killed: %v after %v", err, time.Since(t0))
		// Once the driver has seen the server fail, faed answers without
		// waiting out server selection: nothing was sent.
		if i >= 2 && (!errors.Is(err, mongo.ErrNotSent) || !strings.Contains(err.Error(), "lost every server") && !errors.Is(err, breaker.ErrOpen)) {
			t.Errorf("insert %d after the kill: %v, want an answer at once: the driver has lost the server, nothing was sent", i, err)
		}
		if !errors.Is(err, mongo.ErrNotSent) && !errors.Is(err, mongo.ErrUnknown) {
			t.Errorf("insert on a killed server: %v: says neither whether it was sent", err)
		}
		if errors.Is(err, breaker.ErrOpen) && !errors.Is(err, mongo.ErrNotSent) {
			t.Errorf("breaker answer %v does not say nothing was sent", err)
		}
	}
	e.stack.Stop(t, "mongo") // forgets the killed process (it may linger as a zombie)
	e.stack.Restart(t, "mongo")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := s.Count(ctx, "k", nil); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery after restart: %v", err)
		}
	}
}

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
