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
)

// TestStopServesQueuedConnections stops an engine while clients keep
// connecting, one call per connection as php-fpm workers do. A client is
// either turned away at connect (refused, no such socket, or no answer to
// its SYN) or gets its call answered: a connection the kernel accepted is
// never reset, on TCP and on the unix socket.
func TestStopServesQueuedConnections(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
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

// oneCall makes a noop call on conn.
func oneCall(conn net.Conn) error {
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
