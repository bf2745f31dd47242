package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/calltrace"
)

// backendHandler answers rd_call from a "redis" it names to calltrace, as
// pool/redis does, and fails lc_get.
type backendHandler struct{ rpc.FunServant }

func (backendHandler) RdCall(ctx context.Context, _ *rpc.Context, cmd, pool string, _ []string) (string, error) {
	calltrace.Backend(ctx, "redis", "10.1.2.3:6379")
	calltrace.Backend(ctx, "redis", "10.1.2.3:6379") // noted once
	calltrace.Backend(ctx, "memcache", "10.1.2.4:11211")
	if _, ok := ctx.Deadline(); !ok {
		return "", errors.New("the call's deadline is lost under tracing")
	}
	return cmd + " " + pool, nil
}

func (backendHandler) LcGet(context.Context, *rpc.Context, string) ([]byte, error) {
	return nil, rpc.NewTCacheMissed()
}

func startTracedEngine(t *testing.T, mod func(*engine.TraceConfig)) (*engine.Engine, *rpc.FunServantClient, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.SlowCall = 0
	mod(&cfg.Trace)
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(backendHandler{}), slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	conn, err := net.DialTimeout("tcp", e.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, &thrift.TConfiguration{SocketTimeout: 5 * time.Second}), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, nil)
	return e, rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto)), out
}

// waitTraced waits for n traced lines: a call logs after its reply is
// sent.
func waitTraced(t *testing.T, out *syncBuffer, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines := tracedLines(out.String())
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tracedLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `msg="traced call"`) {
			out = append(out, l)
		}
	}
	return out
}

func TestTracedCallLogsMethodRidReasonArgsBackend(t *testing.T) {
	e, c, out := startTracedEngine(t, func(tc *engine.TraceConfig) { tc.SampleRate = 1 })
	ctx := context.Background()
	if got, err := c.RdCall(ctx, &rpc.Context{Rid: 77, Reason: "cart.view"}, "GET", "default", []string{"user:1"}); err != nil || got != "GET default" {
		t.Fatalf("rd_call = %q, %v", got, err)
	}
	if _, err := c.LcGet(ctx, &rpc.Context{Rid: 78, Reason: "cart.view"}, "k"); err == nil {
		t.Fatal("lc_get: want the cache miss")
	}
	lines := waitTraced(t, out, 2)
	if len(lines) != 2 {
		t.Fatalf("%d traced lines, want 2:\n%s", len(lines), out)
	}
	for _, want := range []string{"method=rd_call", "rid=77", "reason=cart.view", "duration=",
		`backend="[redis 10.1.2.3:6379 memcache 10.1.2.4:11211]"`,
		`call="rd_call(ctx={rid=77,reason=\"cart.view\",uid=0}, 2=\"GET\", 3=\"default\", 4=[\"user:1\"])"`, "client=127.0.0.1:"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("rd_call line lacks %s:\n%s", want, lines[0])
		}
	}
	if !strings.Contains(lines[1], "method=lc_get") || !strings.Contains(lines[1], "error=") || !strings.Contains(lines[1], "backend=[]") {
		t.Errorf("lc_get line: %s", lines[1])
	}
	if got := e.TraceStats().Traced; got != 2 {
		t.Errorf("traced = %d, want 2", got)
	}
}

// With sample_rate 0 only calls matching an armed matcher are logged.
func TestTraceOnDemandByReason(t *testing.T) {
	e, c, out := startTracedEngine(t, func(*engine.TraceConfig) {})
	ctx := context.Background()
	call := func(rid int64, reason string) {
		t.Helper()
		if _, err := c.RdCall(ctx, &rpc.Context{Rid: rid, Reason: reason}, "GET", "p", []string{"k"}); err != nil {
			t.Fatal(err)
		}
	}
	call(1, "checkout.pay")
	req := httptestPost(t, e, "/trace?reason=checkout.&for=1h")
	if req != 200 {
		t.Fatalf("POST /trace = %d", req)
	}
	call(2, "checkout.pay")
	call(3, "cart.view")
	call(4, "checkout.done")
	lines := waitTraced(t, out, 2) // calls log in order: rid 1 and 3 would come before 4
	if len(lines) != 2 || !strings.Contains(lines[0], "rid=2 ") || !strings.Contains(lines[1], "rid=4 ") {
		t.Fatalf("traced lines:\n%s", strings.Join(lines, "\n"))
	}
}

func httptestPost(t *testing.T, e *engine.Engine, target string) int {
	t.Helper()
	req := httptest.NewRequest("POST", target, nil) // RemoteAddr 192.0.2.1: not loopback
	req.RemoteAddr = "127.0.0.1:1234"
	w := httptest.NewRecorder()
	e.TraceHandler().ServeHTTP(w, req)
	return w.Code
}
