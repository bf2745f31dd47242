package engine_test

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// A client that trickles a call one byte at a time never lets the session
// go idle, so only the whole-message bound (read+call+write: 900ms) can end
// it: the call declares a 1000-byte string, which would take 100s to send.
func TestSlowlorisIsCutOff(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	c := rawDial(t, s)
	msg := encoding{}.message("noop", thrift.CALL, 1, func(ctx context.Context, p thrift.TProtocol) {
		_ = p.WriteFieldBegin(ctx, "pad", thrift.STRING, 99)
		_ = p.WriteI32(ctx, 1000) // the string's length; its bytes never come
	})
	go func() {
		for _, b := range msg {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		for {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	closedWithin(t, c, 30*time.Second)
	if s.e.Stats().Timeouts.Load() == 0 {
		t.Fatal("slowloris not counted as a timeout")
	}
}

func TestIdleSessionIsClosed(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	c := rawDial(t, s)
	r := bufio.NewReader(c)
	start := time.Now() // before the call: the idle wait starts after its reply
	if _, err := c.Write(encoding{}.noopCall(1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := readReply(r, encoding{}); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, c, 30*time.Second)
	// A lower bound only: a timer never fires early, however busy the
	// machine.
	if d := time.Since(start); d < time.Second {
		t.Fatalf("closed after %v, before idle_timeout", d)
	}
}

func TestMaxSessionsRefusesThenRecovers(t *testing.T) {
	s := startEngine(t, func(c *engine.Config) {
		shortTimeouts(c)
		c.IdleTimeout = time.Minute
		c.MaxSessions = 4
		c.AcceptWait = 50 * time.Millisecond
	})
	engine.SetRoomIdle(s.e, time.Hour) // the held clients are never closed to make room
	held := make([]net.Conn, 4)
	for i := range held {
		held[i] = rawDial(t, s)
		r := bufio.NewReader(held[i])
		if _, err := held[i].Write(encoding{}.noopCall(1, 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := readReply(r, encoding{}); err != nil {
			t.Fatal(err)
		}
	}
	extra := rawDial(t, s)
	_, _ = extra.Write(encoding{}.noopCall(1, 1))
	closedWithin(t, extra, 30*time.Second)
	if s.e.Stats().Refused.Load() == 0 {
		t.Fatal("refusal not counted")
	}
	held[0].Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := rawDial(t, s)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Write(encoding{}.noopCall(2, 1))
		if got, err := readReply(bufio.NewReader(c), encoding{}); err == nil && got.noopRet == 2 {
			return // a freed slot serves new clients
		}
		if time.Now().After(deadline) {
			t.Fatal("no client served after a slot was freed")
		}
	}
}

// A client that pipelines calls and never reads: the server's writes block,
// the busy limit ends the session, memory stays bounded.
func TestClientThatNeverReads(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	base := runtime.NumGoroutine()
	c := rawDial(t, s)
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(4096)
	}
	call := encoding{}.noopCall(1, 1)
	batch := make([]byte, 0, 64<<10)
	for len(batch)+len(call) <= cap(batch) {
		batch = append(batch, call...)
	}
	deadline := time.Now().Add(5 * time.Second)
	_ = c.SetWriteDeadline(deadline)
	for time.Now().Before(deadline) {
		if _, err := c.Write(batch); err != nil {
			break // the server stopped reading and closed
		}
	}
	c.Close()
	if s.e.Stats().Sessions.Load() != 0 {
		waitFor(t, func() bool { return s.e.Stats().Sessions.Load() == 0 })
	}
	noLeaks(t, base)
}

// A client that hangs up mid-call: the call is cancelled, the session
// closes and nothing leaks.
func TestClientDisconnectMidCall(t *testing.T) {
	s := startEngine(t, func(c *engine.Config) { shortTimeouts(c); c.CallTimeout = 2 * time.Second })
	base := runtime.NumGoroutine()
	c := rawDial(t, s)
	call := encoding{}.message("lock", thrift.CALL, 1, func(ctx context.Context, p thrift.TProtocol) {
		_ = (&rpc.FunServantLockArgs{Rctx: rctx(), Reason: "300ms", Key: "k"}).Write(ctx, p)
	})
	if _, err := c.Write(call); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.h.entered.Load() == 1 })
	c.Close()
	waitFor(t, func() bool { return s.e.Stats().Sessions.Load() == 0 })
	if s.h.cancelled.Load() != 1 || s.h.slept.Load() != 0 {
		t.Fatalf("handler cancelled %d times, completed %d times; want the call cancelled", s.h.cancelled.Load(), s.h.slept.Load())
	}
	noLeaks(t, base)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
