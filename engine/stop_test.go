package engine_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
	"golang.org/x/sys/unix"
)

// TestStopServesTheAcceptQueue: clients whose connections wait in the
// kernel's accept queue, each with its call sent, when a stop begins are
// all answered. The one session slot is held by an idle client and the
// accept loops are held (an accept loop never waits for a slot itself):
// one connection waits for a slot inside faed, the rest in the kernel.
func TestStopServesTheAcceptQueue(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			s := startEngine(t, func(c *engine.Config) { c.MaxSessions, c.AcceptWait = 1, 30*time.Second })
			addr := s.e.Addr().String()
			if network == "unix" {
				addr = s.unix
			}
			idle, err := net.Dial(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			if err := oneCallOn(idle); err != nil { // holds the only slot from now on
				t.Fatal(err)
			}
			engine.HoldAccepts(s.e)
			const queued = 10
			errs := make(chan error, queued)
			for range queued {
				conn, err := net.Dial(network, addr) // the kernel completes it; faed has no slot for it
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				go func() { errs <- oneCall(conn) }()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.e.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			for range queued {
				if err := <-errs; err != nil {
					t.Fatalf("a queued connection's call failed: %v", err)
				}
			}
		})
	}
}

// TestStopServesQueuedConnections stops an engine while clients keep
// connecting, one call per connection as php-fpm workers do. A client is
// either turned away at connect (refused, no such socket, or no answer to
// its SYN) or gets its call answered: a connection the kernel accepted is
// never reset, on the unix socket and, where the kernel takes socket
// filters, on TCP. Without them a TCP connection whose handshake is under
// way in the very instant the listener stops can still be reset, so the
// TCP case is left to TestStopServesTheAcceptQueue there.
func TestStopServesQueuedConnections(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			if network == "tcp" && !socketFiltersWork(t) {
				t.Log("this kernel refuses socket filters on TCP listeners: the hammered TCP stop is not a guarantee here")
				return
			}
			var answered, turnedAway, failed atomic.Int64
			var firstFailure atomic.Value
			for round := 0; round < 8; round++ {
				cfg := engine.DefaultConfig()
				cfg.Listen = "127.0.0.1:0"
				cfg.Unix = filepath.Join(t.TempDir(), "faed.sock")
				e, err := engine.New(cfg, rpc.NewFunServantProcessor(&handler{}), nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Start(); err != nil {
					t.Fatal(err)
				}
				addr := e.Addr().String()
				if network == "unix" {
					addr = cfg.Unix
				}
				var calls atomic.Int64
				var wg sync.WaitGroup
				for range 6 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							conn, err := net.DialTimeout(network, addr, 5*time.Second)
							if err != nil {
								turnedAway.Add(1)
								return
							}
							err = oneCall(conn)
							conn.Close()
							if err != nil {
								failed.Add(1)
								firstFailure.CompareAndSwap(nil, err.Error())
								return
							}
							answered.Add(1)
							calls.Add(1)
						}
					}()
				}
				waitFor(t, func() bool { return calls.Load() >= 100 })
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := e.Shutdown(ctx); err != nil {
					t.Errorf("shutdown: %v", err)
				}
				cancel()
				wg.Wait()
			}
			t.Logf("%d calls answered, %d clients turned away at connect, %d calls failed", answered.Load(), turnedAway.Load(), failed.Load())
			if n := failed.Load(); n > 0 {
				t.Fatalf("%d calls on accepted connections failed, first: %v", n, firstFailure.Load())
			}
		})
	}
}

// socketFiltersWork reports whether a TCP listener takes a socket filter
// (some kernels refuse them), as a stopping engine attaches one.
func socketFiltersWork(t *testing.T) bool {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rc, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	accept := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff}}
	var serr error
	_ = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: 1, Filter: &accept[0]})
	})
	return serr == nil
}

// oneCall makes a noop call on conn and closes it.
func oneCall(conn net.Conn) error {
	defer conn.Close()
	return oneCallOn(conn)
}

// oneCallOn makes a noop call on conn.
func oneCallOn(conn net.Conn) error {
	conf := &thrift.TConfiguration{SocketTimeout: 10 * time.Second}
	trans := thrift.NewTFramedTransportConf(thrift.NewTSocketFromConnConf(conn, conf), conf)
	proto := thrift.NewTBinaryProtocolConf(trans, conf)
	c := rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
	got, err := c.Noop(context.Background(), 5)
	if err == nil && got != 5 {
		err = errors.New("wrong reply")
	}
	return err
}
