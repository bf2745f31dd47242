package engine_test

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// held dials n clients that each make one call and keep their connection,
// so their sessions sit idle, one after the other (the first is the
// longest idle).
func held(t *testing.T, s *server, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawDial(t, s)
		if err := oneCallOn(conns[i]); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	return conns
}

// refused: the server closed c without answering the call sent on it.
func refused(t *testing.T, c net.Conn) {
	t.Helper()
	_, _ = c.Write(encoding{}.noopCall(1, 1))
	if b := closedWithin(t, c, 30*time.Second); len(b) != 0 {
		t.Fatalf("a refused connection got %d bytes of reply", len(b))
	}
}

// Past max_sessions, a new client takes the slot of an idle session: with
// every slot held by idle clients, new clients are all served and as many
// idle ones are closed, counted as evicted, not as timeouts or refusals.
// (Which goes first: TestRoomCandidates.)
func TestIdleSessionsMakeRoom(t *testing.T) {
	const n = 4
	s := startEngine(t, func(c *engine.Config) { c.MaxSessions, c.IdleTimeout = n, time.Minute })
	engine.SetRoomIdle(s.e, 20*time.Millisecond)
	idle := held(t, s, n)
	waitFor(t, func() bool { return engine.IdleSessions(s.e) == n })
	time.Sleep(50 * time.Millisecond) // every held session is idle past the minimum
	for i := range n {
		if err := oneCallOn(rawDial(t, s)); err != nil {
			t.Fatalf("new client %d not served: %v", i, err)
		}
	}
	for i, c := range idle {
		if b := closedWithin(t, c, 30*time.Second); len(b) != 0 {
			t.Fatalf("idle client %d got %d bytes", i, len(b))
		}
	}
	st := s.e.Stats()
	if ev, ref, to := st.Evicted.Load(), st.Refused.Load(), st.Timeouts.Load(); ev != n || ref != 0 || to != 0 {
		t.Fatalf("evicted %d, refused %d, timeouts %d; want %d, 0, 0", ev, ref, to, n)
	}
	if snap := s.e.Stats().Snapshot(); snap.Evicted != n {
		t.Fatalf("snapshot evicted = %d", snap.Evicted)
	}
}

// A session idle for less than the minimum is not closed to make room: a
// PHP request pausing between two calls keeps its connection, and the new
// client is refused.
func TestRecentlyIdleSessionsKeepTheirSlot(t *testing.T) {
	s := startEngine(t, func(c *engine.Config) {
		c.MaxSessions, c.IdleTimeout, c.AcceptWait = 2, time.Minute, 20*time.Millisecond
	})
	engine.SetRoomIdle(s.e, time.Hour)
	idle := held(t, s, 2)
	waitFor(t, func() bool { return engine.IdleSessions(s.e) == 2 })
	refused(t, rawDial(t, s))
	for _, c := range idle {
		if err := oneCallOn(c); err != nil {
			t.Fatalf("an idle client lost its session: %v", err)
		}
	}
	if ev, ref := s.e.Stats().Evicted.Load(), s.e.Stats().Refused.Load(); ev != 0 || ref != 1 {
		t.Fatalf("evicted %d, refused %d; want 0, 1", ev, ref)
	}
}

// With every slot busy with a call, excess connections wait for a slot up
// to accept_wait without holding up the accept loop, a bounded number of
// them; past that bound they are refused at once. Busy sessions are never
// closed to make room, and a slot that frees goes to a waiting client.
func TestBusySessionsKeepTheirSlotAndExcessIsRefused(t *testing.T) {
	const n, extra = 3, 10
	s, g := startGated(t, func(c *engine.Config) {
		c.MaxSessions, c.CallTimeout, c.IdleTimeout = n, time.Minute, time.Minute
		c.AcceptWait = time.Minute // longer than the test: only the bound refuses
	})
	engine.SetRoomIdle(s.e, 0)
	gates := []string{"a", "b", "c"} // startGated closes them at the end
	busy := make([]chan error, n)
	busyConns := make([]net.Conn, n)
	for i := range busy {
		busyConns[i] = rawDial(t, s)
		busy[i] = lockAsync(clientOn(busyConns[i]), gates[i])
		entered(t, g, gates[i])
	}
	waiting := make([]net.Conn, engine.MaxSlotWaiters+extra)
	var served atomic.Int64
	for i := range waiting {
		waiting[i] = rawDial(t, s)
		if _, err := waiting[i].Write(encoding{}.noopCall(int32(i), 1)); err != nil {
			t.Fatal(err)
		}
		go func(c net.Conn) {
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, err := readReply(bufio.NewReader(c), encoding{}); err == nil {
				served.Add(1)
			}
		}(waiting[i])
	}
	// Under the old accept loop the first excess connection held it for
	// the whole accept_wait: none would be refused within the test.
	waitFor(t, func() bool { return s.e.Stats().Refused.Load() == extra })
	close(g.gate("a"))
	if err := <-busy[0]; err != nil {
		t.Fatalf("busy call: %v", err)
	}
	busyConns[0].Close() // its slot frees; a waiting client takes it
	waitFor(t, func() bool { return served.Load() == 1 })
	close(g.gate("b"))
	close(g.gate("c"))
	for _, done := range busy[1:] {
		if err := <-done; err != nil {
			t.Fatalf("a busy session was cut: %v", err)
		}
	}
	if ev, acc := s.e.Stats().Evicted.Load(), s.e.Stats().Accepted.Load(); ev != 0 || acc != n+1 || served.Load() != 1 {
		t.Fatalf("evicted %d, accepted %d, waiting clients served %d; want 0, %d, 1", ev, acc, served.Load(), n+1)
	}
	for _, c := range waiting {
		c.Close() // the waiters still queued get slots and find their client gone
	}
}

// A session holding a Locals value (a transaction pinned to it) is never
// closed to make room, however long it has been idle.
func TestSessionWithLocalsKeepsItsSlot(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s, h := startTx(t, 1)
		tx := dialClient(t, s)
		if _, err := tx.Ping(context.Background(), rctx()); err != nil { // opens the transaction
			t.Fatal(err)
		}
		waitFor(t, func() bool { return engine.IdleSessions(s.e) == 1 })
		refused(t, rawDial(t, s))
		if _, err := tx.Noop(context.Background(), 1); err != nil {
			t.Fatalf("the session with a transaction lost it: %v", err)
		}
		if ev, ref, cl := s.e.Stats().Evicted.Load(), s.e.Stats().Refused.Load(), h.closed.Load(); ev != 0 || ref != 1 || cl != 0 {
			t.Fatalf("evicted %d, refused %d, locals closed %d; want 0, 1, 0", ev, ref, cl)
		}
	})
	t.Run("another goes", func(t *testing.T) {
		s, h := startTx(t, 2)
		tx := dialClient(t, s) // the longest idle, but holds a transaction
		if _, err := tx.Ping(context.Background(), rctx()); err != nil {
			t.Fatal(err)
		}
		plain := held(t, s, 1)[0]
		waitFor(t, func() bool { return engine.IdleSessions(s.e) == 2 })
		if err := oneCallOn(rawDial(t, s)); err != nil {
			t.Fatalf("new client not served: %v", err)
		}
		closedWithin(t, plain, 30*time.Second)
		if _, err := tx.Noop(context.Background(), 1); err != nil {
			t.Fatalf("the session with a transaction lost it: %v", err)
		}
		if ev, cl := s.e.Stats().Evicted.Load(), h.closed.Load(); ev != 1 || cl != 0 {
			t.Fatalf("evicted %d, locals closed %d; want 1, 0", ev, cl)
		}
	})
}

// txHandler: ping stores a value in the connection's Locals, as a
// transaction's BEGIN does.
type txHandler struct {
	rpc.FunServant
	closed atomic.Int64
}

func (h *txHandler) Noop(_ context.Context, x int32) (int32, error) { return x, nil }

func (h *txHandler) Ping(ctx context.Context, _ *rpc.Context) (string, error) {
	engine.LocalsOf(ctx).Set("tx", closerFunc(func() error { h.closed.Add(1); return nil }))
	return "pong", nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func startTx(t *testing.T, maxSessions int) (*server, *txHandler) {
	t.Helper()
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.MaxSessions, cfg.IdleTimeout, cfg.AcceptWait = maxSessions, time.Minute, 20*time.Millisecond
	h := &txHandler{}
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(h), nil)
	if err != nil {
		t.Fatal(err)
	}
	engine.SetRoomIdle(e, 0)
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &server{e: e}, h
}

// dialClient is a framed binary client on a new TCP connection to s.
func dialClient(t *testing.T, s *server) *rpc.FunServantClient {
	t.Helper()
	return clientOn(rawDial(t, s))
}

// clientOn is a framed binary client on conn.
func clientOn(conn net.Conn) *rpc.FunServantClient {
	conf := &thrift.TConfiguration{SocketTimeout: 30 * time.Second}
	trans := thrift.NewTFramedTransportConf(thrift.NewTSocketFromConnConf(conn, conf), conf)
	proto := thrift.NewTBinaryProtocolConf(trans, conf)
	return rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
}
