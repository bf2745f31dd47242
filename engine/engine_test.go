package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// handler serves ping and noop; id_next panics; lock sleeps (for drain
// tests). Every other method panics on the nil embedded interface, which is
// itself a panic path the engine must survive.
type handler struct {
	rpc.FunServant
	entered   atomic.Int64 // lock calls that reached the handler
	slept     atomic.Int64
	cancelled atomic.Int64
}

func (h *handler) Noop(_ context.Context, x int32) (int32, error) { return x, nil }

func (h *handler) Ping(_ context.Context, c *rpc.Context) (string, error) {
	if c == nil { // an args struct without field 1 decodes to nil
		return "", errors.New("no context")
	}
	return fmt.Sprintf("pong:%d", c.Rid), nil
}

func (h *handler) IDNext(context.Context, *rpc.Context) (int64, error) {
	var m map[string]int
	m["boom"]++ // nil map write: a real runtime panic
	return 0, nil
}

func (h *handler) Lock(ctx context.Context, _ *rpc.Context, reason, _ string) (bool, error) {
	h.entered.Add(1)
	d, _ := time.ParseDuration(reason)
	select {
	case <-time.After(d):
		h.slept.Add(1)
		return true, nil
	case <-ctx.Done():
		h.cancelled.Add(1)
		return false, ctx.Err()
	}
}

type server struct {
	e    *engine.Engine
	h    *handler
	unix string
}

func startEngine(t *testing.T, mod func(*engine.Config)) *server {
	t.Helper()
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Unix = filepath.Join(t.TempDir(), "faed.sock")
	if mod != nil {
		mod(&cfg)
	}
	h := &handler{}
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(h), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &server{e: e, h: h, unix: cfg.Unix}
}

type wire struct {
	network string
	framed  bool
	compact bool
}

func (w wire) String() string {
	return fmt.Sprintf("%s/framed=%v/compact=%v", w.network, w.framed, w.compact)
}

func allWires() []wire {
	var ws []wire
	for _, n := range []string{"tcp", "unix"} {
		for _, f := range []bool{false, true} {
			for _, c := range []bool{false, true} {
				ws = append(ws, wire{n, f, c})
			}
		}
	}
	return ws
}

func dial(t *testing.T, s *server, w wire) *rpc.FunServantClient {
	t.Helper()
	addr := s.e.Addr().String()
	if w.network == "unix" {
		addr = s.unix
	}
	conn, err := net.DialTimeout(w.network, addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conf := &thrift.TConfiguration{SocketTimeout: 5 * time.Second}
	var trans thrift.TTransport = thrift.NewTSocketFromConnConf(conn, conf)
	if w.framed {
		trans = thrift.NewTFramedTransportConf(trans, conf)
	} else {
		trans = thrift.NewTBufferedTransport(trans, 4096)
	}
	var proto thrift.TProtocol = thrift.NewTBinaryProtocolConf(trans, conf)
	if w.compact {
		proto = thrift.NewTCompactProtocolConf(trans, conf)
	}
	return rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
}

func rctx() *rpc.Context { return &rpc.Context{Rid: 7, Reason: "test"} }

func TestEveryWireFormat(t *testing.T) {
	s := startEngine(t, nil)
	for _, w := range allWires() {
		t.Run(w.String(), func(t *testing.T) {
			c := dial(t, s, w)
			ctx := context.Background()
			for _, x := range []int32{0, 1, -1, 1 << 30, -1 << 31} {
				got, err := c.Noop(ctx, x)
				if err != nil || got != x {
					t.Fatalf("noop(%d) = %d, %v", x, got, err)
				}
			}
			got, err := c.Ping(ctx, rctx())
			if err != nil || got != "pong:7" {
				t.Fatalf("ping = %q, %v", got, err)
			}
		})
	}
}

func appException(t *testing.T, err error, typ int32, contains string) {
	t.Helper()
	var ae thrift.TApplicationException
	if !errors.As(err, &ae) {
		t.Fatalf("want TApplicationException, got %T %v", err, err)
	}
	if ae.TypeId() != typ || !strings.Contains(ae.Error(), contains) {
		t.Fatalf("got type %d %q, want type %d containing %q", ae.TypeId(), ae.Error(), typ, contains)
	}
}

func TestUnknownMethodKeepsConnection(t *testing.T) {
	s := startEngine(t, nil)
	for _, w := range allWires() {
		t.Run(w.String(), func(t *testing.T) {
			c := dial(t, s, w)
			ctx := context.Background()
			var res rpc.FunServantNoopResult
			_, err := c.Client_().Call(ctx, "no_such_method", &rpc.FunServantNoopArgs{X: 5}, &res)
			appException(t, err, thrift.UNKNOWN_METHOD, "no_such_method")
			if got, err := c.Noop(ctx, 9); err != nil || got != 9 {
				t.Fatalf("noop after unknown method = %d, %v", got, err)
			}
		})
	}
	if n := s.e.Stats().UnknownMethods.Load(); n != int64(len(allWires())) {
		t.Fatalf("unknown_methods = %d", n)
	}
}

func TestPanicBecomesInternalError(t *testing.T) {
	s := startEngine(t, nil)
	for _, w := range allWires() {
		t.Run(w.String(), func(t *testing.T) {
			c := dial(t, s, w)
			ctx := context.Background()
			_, err := c.IDNext(ctx, rctx())
			appException(t, err, thrift.INTERNAL_ERROR, "id_next")
			err = c.LcDel(ctx, rctx(), "k") // nil embedded interface
			appException(t, err, thrift.INTERNAL_ERROR, "lc_del")
			if got, err := c.Noop(ctx, 3); err != nil || got != 3 {
				t.Fatalf("noop after panic = %d, %v", got, err)
			}
		})
	}
	if n := s.e.Stats().Panics.Load(); n != 2*int64(len(allWires())) {
		t.Fatalf("panics = %d", n)
	}
}

func TestTwoEnginesInOneProcess(t *testing.T) {
	a, b := startEngine(t, nil), startEngine(t, nil)
	w := wire{network: "tcp"}
	for i := 0; i < 3; i++ {
		if _, err := dial(t, a, w).Noop(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dial(t, b, w).Noop(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if got := settledCalls(a, "noop", 3); got != 3 {
		t.Fatalf("engine a counted %d noop calls, want 3", got)
	}
	if got := settledCalls(b, "noop", 1); got != 1 {
		t.Fatalf("engine b counted %d noop calls, want 1", got)
	}
}

// settledCalls reads a method's call count once it reaches want or ten
// seconds have passed: a call is counted after its reply is written, so the
// client may see the reply a moment before the count moves.
func settledCalls(s *server, method string, want int64) int64 {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.e.Stats().Method(method).Calls.Load()
		if got >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGracefulStopFinishesInFlightCalls(t *testing.T) {
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	h := &handler{}
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(h), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{e: e, h: h}
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		c := dial(t, s, wire{network: "tcp"})
		go func() {
			ok, err := c.Lock(context.Background(), rctx(), "300ms", "k")
			if err == nil && !ok {
				err = errors.New("lock returned false")
			}
			errs <- err
		}()
	}
	idle := dial(t, s, wire{network: "tcp"})
	if _, err := idle.Noop(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.entered.Load() == n })
	addr := e.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("in-flight call failed: %v", err)
		}
	}
	if got := h.slept.Load(); got != n {
		t.Fatalf("%d calls completed, want %d", got, n)
	}
	if _, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
	if got := e.Stats().Sessions.Load(); got != 0 {
		t.Fatalf("%d sessions left", got)
	}
}

func TestDrainDeadlineCutsSlowCalls(t *testing.T) {
	s := startEngine(t, func(c *engine.Config) { c.CallTimeout = 5 * time.Second })
	c := dial(t, s, wire{network: "tcp"})
	done := make(chan error, 1)
	go func() {
		_, err := c.Lock(context.Background(), rctx(), "3s", "k")
		done <- err
	}()
	waitFor(t, func() bool { return s.h.entered.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.e.Shutdown(ctx)
	if !errors.Is(err, engine.ErrDrainTimeout) {
		t.Fatalf("shutdown = %v, want ErrDrainTimeout", err)
	}
	if err := <-done; err == nil {
		t.Fatal("call cut off by the drain deadline reported success")
	}
}

// A client that hangs up mid-call (php-fpm's recv timeout) gets its call's
// context cancelled, so backend work for it stops; a client that waits is
// left alone.
func TestHangUpCancelsTheCall(t *testing.T) {
	s := startEngine(t, func(c *engine.Config) { c.CallTimeout = 10 * time.Second })
	lockCall := func(d string) []byte {
		return encoding{}.message("lock", thrift.CALL, 1, func(ctx context.Context, p thrift.TProtocol) {
			_ = (&rpc.FunServantLockArgs{Rctx: rctx(), Reason: d, Key: "k"}).Write(ctx, p)
		})
	}
	waiter := rawDial(t, s)
	if _, err := waiter.Write(lockCall("400ms")); err != nil {
		t.Fatal(err)
	}
	quitter := rawDial(t, s)
	if _, err := quitter.Write(lockCall("5s")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.h.entered.Load() == 2 }) // both calls are in the handler
	quitter.Close()
	waitFor(t, func() bool { return s.h.cancelled.Load() >= 1 })
	if got := s.h.cancelled.Load(); got != 1 {
		t.Fatalf("%d calls cancelled after their client hung up, want 1", got)
	}
	if got := s.e.Stats().HungUp.Load(); got != 1 {
		t.Fatalf("hung_up = %d, want 1", got)
	}
	_ = waiter.SetReadDeadline(time.Now().Add(30 * time.Second))
	r, err := readReply(bufio.NewReader(waiter), encoding{})
	if err != nil || r.typ != thrift.REPLY {
		t.Fatalf("the waiting client's call: %+v %v", r, err)
	}
	if got := s.h.slept.Load(); got != 1 {
		t.Fatalf("%d calls completed, want the waiter's 1", got)
	}
}
