package mysql_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/mysql"
)

// phpDeadline is the call deadline PHP's socket timeout leaves faed.
const phpDeadline = 750 * time.Millisecond

// A paused server (SIGSTOP): a statement sent on a pooled connection gets
// no reply within read_timeout, and the error says so and that the
// outcome is unknown; a new connection cannot be made, and nothing was
// sent on it.
func (e *env) testServerPaused(t *testing.T) {
	p := e.pools(t, func(c *mysql.Config) { c.Breaker = breaker.Config{Failures: 100, Cooldown: time.Second} })
	ctx := context.Background()
	g, _ := p.Server(ctx, "Global", 0)
	run(t, p, "Global", "SELECT 1") // one pooled connection
	e.stack.Signal(t, "mysql", syscall.SIGSTOP)
	t.Cleanup(func() { e.stack.Signal(t, "mysql", syscall.SIGCONT) })

	call := func(sql string) (error, time.Duration) {
		cctx, cancel := context.WithTimeout(ctx, phpDeadline)
		defer cancel()
		t0 := time.Now()
		_, err := g.Run(cctx, mysql.Classify(sql), sql, nil)
		return err, time.Since(t0)
	}
	err, took := call("UPDATE Counter SET n = n + 1 WHERE name = 'paused'")
	t.Logf("paused, on the pooled connection: %v after %v", err, took)
	want := "mysql Global " + e.addr + ": no reply within read_timeout 600ms: outcome unknown"
	if err == nil || err.Error() != want || !errors.Is(err, mysql.ErrUnknownOutcome) {
		t.Errorf("statement on a paused server: %v, want %q", err, want)
	}
	err, took = call("SELECT 1")
	t.Logf("paused, a new connection: %v after %v", err, took)
	if !errors.Is(err, mysql.ErrNotSent) || errors.Is(err, mysql.ErrUnknownOutcome) {
		t.Errorf("connecting to a paused server: %v, want nothing sent", err)
	}
}

// A refused connect is answered at once as nothing sent, and counts
// towards the breaker.
func TestRefusedConnectIsNotSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fixtureConfig(addr)
	p, err := mysql.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	g, _ := p.Server(context.Background(), "Global", 0)
	var errs []error
	for range 4 {
		cctx, cancel := context.WithTimeout(context.Background(), phpDeadline)
		t0 := time.Now()
		_, err := g.Run(cctx, mysql.Exec, "DO 1", nil)
		t.Logf("refused: %v after %v", err, time.Since(t0))
		cancel()
		errs = append(errs, err)
	}
	want := "mysql Global " + addr + ": unavailable (connection refused; nothing was sent)"
	for i, err := range errs[:3] {
		if err == nil || err.Error() != want || !errors.Is(err, mysql.ErrNotSent) {
			t.Errorf("call %d: %v, want %q", i, err, want)
		}
	}
	if !errors.Is(errs[3], breaker.ErrOpen) || !errors.Is(errs[3], mysql.ErrNotSent) {
		t.Errorf("after 3 refused connects: %v, want the open breaker, nothing sent", errs[3])
	}
}
