package engine_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// fuzzSeeds are well-formed and broken inputs the corpus starts from (the
// committed files under testdata/fuzz/FuzzSession hold more).
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, e := range encodings {
		seeds = append(seeds,
			e.noopCall(7, 1),
			e.message("ping", thrift.CALL, 2, func(ctx context.Context, p thrift.TProtocol) {
				_ = (&rpc.FunServantPingArgs{Rctx: rctx()}).Write(ctx, p)
			}),
			e.message("nope", thrift.CALL, 3, func(ctx context.Context, p thrift.TProtocol) {
				_ = (&rpc.FunServantNoopArgs{X: 1}).Write(ctx, p)
			}),
			e.noopWith(hugeList),
			append(e.noopCall(1, 1), e.noopCall(2, 2)...),
		)
	}
	return append(seeds, []byte("GET / HTTP/1.0\r\n\r\n"), make([]byte, 16))
}

// FuzzSession feeds arbitrary bytes to a live engine as one client
// connection: it must answer or close within its deadlines, never panic.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	shortTimeouts(&cfg)
	// Only noop and ping: the test handler panics on purpose elsewhere, and
	// any panic here must be the engine's.
	proc := rpc.NewFunServantProcessor(&handler{})
	for name := range proc.ProcessorMap() {
		if name != "noop" && name != "ping" {
			delete(proc.ProcessorMap(), name)
		}
	}
	e, err := engine.New(cfg, proc, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := e.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Shutdown(context.Background()) })
	addr := e.Addr().String()
	f.Fuzz(func(t *testing.T, input []byte) {
		before := e.Stats().Panics.Load()
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write(input); err != nil {
			return // the server closed early: fine
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_, err = io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("session neither answered nor closed within 3s (input %q)", input)
		}
		if n := e.Stats().Panics.Load(); n != before {
			t.Fatalf("input %q panicked", input)
		}
	})
}
