package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// argsStruct is a generated *Args struct.
type argsStruct interface {
	Write(context.Context, thrift.TProtocol) error
	Read(context.Context, thrift.TProtocol) error
}

// record encodes args, decodes them into fresh through a callRecord as
// the generated processor would, and returns the record.
func record(t *testing.T, tr *tracer, method string, args, fresh argsStruct) *callRecord {
	t.Helper()
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	if err := args.Write(ctx, thrift.NewTBinaryProtocolConf(buf, nil)); err != nil {
		t.Fatal(err)
	}
	r := newCallRecord(tr, method, thrift.NewTBinaryProtocolConf(buf, nil), maskedFields(method, tr.cfg.MaskSQL))
	if err := fresh.Read(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadMessageEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(args, fresh) {
		t.Fatalf("decoding through the record changed the arguments: %+v, want %+v", fresh, args)
	}
	return r
}

func traceAll(mod func(*TraceConfig)) *tracer {
	cfg := DefaultTraceConfig()
	cfg.SampleRate = 1
	if mod != nil {
		mod(&cfg)
	}
	return newTracer(cfg)
}

func TestCallRecordRendering(t *testing.T) {
	rc := &rpc.Context{Rid: 7, Reason: "cart.view", UID: 3}
	cut8 := func(c *TraceConfig) { c.MaxArgBytes = 8 }
	noMask := func(c *TraceConfig) { c.MaskSQL = false }
	cases := []struct {
		name         string
		method       string
		mod          func(*TraceConfig)
		args, fresh  argsStruct
		want         string
		wantRid      int64
		wantReason   string
		wantDecision bool
	}{
		{"strings cut", "rd_call", cut8,
			&rpc.FunServantRdCallArgs{Rctx: rc, Cmd: "GET", Pool: "default", KeysAndArgs_: []string{"k", "0123456789ab"}},
			&rpc.FunServantRdCallArgs{},
			`rd_call(ctx={rid=7,reason="cart.vie"…(+1),uid=3}, 2="GET", 3="default", 4=["k","01234567"…(+4)])`,
			7, "cart.view", true},
		{"sql argv masked", "my_query", nil,
			&rpc.FunServantMyQueryArgs{Rctx: rc, Pool: "P", Table: "t", HintId: 5, Sql: "SELECT * FROM t WHERE pw = ?", Argv: []string{"secret", "x"}},
			&rpc.FunServantMyQueryArgs{},
			`my_query(ctx={rid=7,reason="cart.view",uid=3}, 2="P", 3="t", 4=5, 5="SELECT * FROM t WHERE pw = ?", 6=[?,?], 7="")`,
			7, "cart.view", true},
		{"sql argv shown without mask_sql", "my_query", noMask,
			&rpc.FunServantMyQueryArgs{Rctx: rc, Pool: "P", Sql: "SELECT ?", Argv: []string{"a"}},
			&rpc.FunServantMyQueryArgs{},
			`my_query(ctx={rid=7,reason="cart.view",uid=3}, 2="P", 3="", 4=0, 5="SELECT ?", 6=["a"], 7="")`,
			7, "cart.view", true},
		{"bulk argv masked inside nested lists", "my_bulk_exec", nil,
			&rpc.FunServantMyBulkExecArgs{Rctx: rc, Pool: []string{"P"}, Table: []string{"t"}, HintId: []int64{1},
				Sql: []string{"UPDATE t SET a = ?"}, Argv: [][]string{{"v1", "v2"}, {}}, CacheKey: []string{""}},
			&rpc.FunServantMyBulkExecArgs{},
			`my_bulk_exec(ctx={rid=7,reason="cart.view",uid=3}, 2=["P"], 3=["t"], 4=[1], 5=["UPDATE t SET a = ?"], 6=[[?,?],[]], 7=[""])`,
			7, "cart.view", true},
		{"nested struct and binary", "mc_set", cut8,
			&rpc.FunServantMcSetArgs{Rctx: rc, Pool: "m", Key: "k", Value: &rpc.TMemcacheData{Data: []byte("\x00binary-value"), Flags: 2}, Expiration: 60},
			&rpc.FunServantMcSetArgs{},
			`mc_set(ctx={rid=7,reason="cart.vie"…(+1),uid=3}, 2="m", 3="k", 4={1="\x00binary-"…(+5),2=2}, 5=60)`,
			7, "cart.view", true},
		{"no context", "noop", nil,
			&rpc.FunServantNoopArgs{X: 5}, &rpc.FunServantNoopArgs{},
			`noop(1=5)`, 0, "", true},
		{"sticky shown", "ping", nil,
			&rpc.FunServantPingArgs{Rctx: &rpc.Context{Rid: 1, Reason: "r", Sticky: thrift.BoolPtr(true)}}, &rpc.FunServantPingArgs{},
			`ping(ctx={rid=1,reason="r",uid=0,sticky=true})`, 1, "r", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := record(t, traceAll(tc.mod), tc.method, tc.args, tc.fresh)
			if got := r.rendered(); got != tc.want {
				t.Errorf("rendered\n %s\nwant\n %s", got, tc.want)
			}
			if r.rid != tc.wantRid || r.reason != tc.wantReason || r.decide() != tc.wantDecision {
				t.Errorf("rid %d reason %q traced %v", r.rid, r.reason, r.decide())
			}
		})
	}
}

// A call decided against at its Context records nothing more, and its
// arguments still decode.
func TestCallRecordStopsWhenNotTraced(t *testing.T) {
	tr := newTracer(DefaultTraceConfig())
	now := time.Unix(1000, 0)
	tr.now = func() time.Time { return now }
	if _, err := tr.arm(Matcher{Rid: 99}, time.Minute); err != nil {
		t.Fatal(err)
	}
	r := record(t, tr, "rd_call",
		&rpc.FunServantRdCallArgs{Rctx: &rpc.Context{Rid: 7, Reason: "x"}, Cmd: "GET", Pool: "p", KeysAndArgs_: []string{"k"}},
		&rpc.FunServantRdCallArgs{})
	if r.decide() {
		t.Fatal("rid 7 traced with only rid 99 armed")
	}
	r.Backend("redis", "a:1")
	if got := r.rendered(); got != `rd_call(ctx={rid=7,reason="x",uid=0}` || len(r.backendList()) != 0 {
		t.Fatalf("after the decision: %q, backends %v", got, r.backendList())
	}
}

// Long lists are cut at maxRendered.
func TestCallRecordCapsTheLine(t *testing.T) {
	keys := make([]string, 2000)
	for i := range keys {
		keys[i] = "key"
	}
	r := record(t, traceAll(nil), "cb_gets", &rpc.FunServantCbGetsArgs{Rctx: &rpc.Context{Rid: 1, Reason: "r"}, Bucket: "b", Keys: keys},
		&rpc.FunServantCbGetsArgs{})
	if got := r.rendered(); len(got) > maxRendered+len("…") || !strings.HasSuffix(got, "…") {
		t.Fatalf("rendered %d bytes ending %q", len(got), got[len(got)-10:])
	}
}

// Every method's argument field 1 is the Context (noop aside): the record
// takes rid and reason from there.
func TestContextIsFieldOneOfEveryMethod(t *testing.T) {
	idl, err := os.ReadFile("../idl/fun.thrift")
	if err != nil {
		t.Fatal(err)
	}
	method := regexp.MustCompile(`(?m)^\s+(?:oneway\s+)?[\w<>, ]+?\s+(\w+)\((.*)\)`)
	n := 0
	for _, m := range method.FindAllStringSubmatch(string(idl), -1) {
		n++
		if m[1] == "noop" {
			continue
		}
		if !strings.HasPrefix(m[2], "1: Context ") {
			t.Errorf("%s: field 1 is %q, not the Context", m[1], m[2])
		}
	}
	if n < 40 {
		t.Fatalf("found only %d methods in the IDL", n)
	}
	for _, name := range []string{"my_query", "my_query_shards", "my_bulk_exec", "my_merge"} {
		if len(sqlValueFields(name)) == 0 {
			t.Errorf("%s has no masked fields", name)
		}
	}
	for _, m := range []struct {
		method, field string
	}{{"my_query", "6: list<string> argv"}, {"my_query_shards", "5: list<string> argv"},
		{"my_bulk_exec", "6: list<list<string>> argv"}, {"my_merge", "8: string jsonValue"}} {
		if !strings.Contains(string(idl), m.method+"(") || !regexp.MustCompile(m.method+`\(.*`+regexp.QuoteMeta(m.field)).Match(idl) {
			t.Errorf("%s: IDL has no %q: sqlValueFields is out of date", m.method, m.field)
		}
	}
}

func TestSamplingIsDeterministicByRid(t *testing.T) {
	quarter := func() *tracer { c := DefaultTraceConfig(); c.SampleRate = 0.25; return newTracer(c) }
	a, b := quarter(), quarter()
	n := 0
	for rid := int64(1); rid <= 10000; rid++ {
		if a.sampled(rid) != b.sampled(rid) || a.sampled(rid) != a.sampled(rid) {
			t.Fatalf("rid %d: sampling differs between calls or tracers", rid)
		}
		if a.sampled(rid) {
			n++
		}
	}
	if n < 2000 || n > 3000 {
		t.Fatalf("rate 0.25 sampled %d of 10000 rids", n)
	}
	none, all := newTracer(DefaultTraceConfig()), traceAll(nil)
	for rid := int64(0); rid < 1000; rid++ {
		if none.sampled(rid) || !all.sampled(rid) {
			t.Fatalf("rid %d: rate 0 sampled %v, rate 1 sampled %v", rid, none.sampled(rid), all.sampled(rid))
		}
	}
	if a.sampled(0) {
		t.Fatal("a call without a rid is sampled below rate 1")
	}
}

func newTestEngine(t *testing.T, mod func(*Config)) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, rpc.NewFunServantProcessor(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sameMap(a, b map[string]thrift.TProcessorFunction) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// With tracing off a call is dispatched on the untraced table: no
// recorder, no wrapper.
func TestTracingOffDispatchesUntraced(t *testing.T) {
	e := newTestEngine(t, nil)
	if !sameMap(e.processors(), e.fns) || sameMap(e.fns, e.tracedFns) {
		t.Fatal("tracing off: calls go through the traced table")
	}
	now := time.Unix(1000, 0)
	e.tracer.now = func() time.Time { return now }
	if _, err := e.tracer.arm(Matcher{Reason: "x"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !sameMap(e.processors(), e.tracedFns) {
		t.Fatal("armed: calls skip the recorder")
	}
	now = now.Add(2 * time.Minute)
	e.tracer.matchers() // prunes
	if !sameMap(e.processors(), e.fns) {
		t.Fatal("expired: calls still go through the recorder")
	}
	sampled := newTestEngine(t, func(c *Config) { c.Trace.SampleRate = 0.01 })
	if !sameMap(sampled.processors(), sampled.tracedFns) {
		t.Fatal("sample_rate > 0: calls skip the recorder")
	}
}

// fakeClock is the tracer's clock in tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func traceRequest(t *testing.T, h http.Handler, method, target, remote string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestTraceHandlerArmsAndExpires(t *testing.T) {
	e := newTestEngine(t, nil)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	e.tracer.now = clock.Now
	h := e.TraceHandler()
	const local = "127.0.0.1:5555"

	if w := traceRequest(t, h, "POST", "/trace?rid=42&for=60s", "10.0.0.1:5555"); w.Code != http.StatusForbidden {
		t.Fatalf("POST from 10.0.0.1 = %d, want 403", w.Code)
	}
	if w := traceRequest(t, h, "POST", "/trace?rid=42&for=60s", local); w.Code != http.StatusOK {
		t.Fatalf("POST rid = %d %s", w.Code, w.Body)
	}
	if w := traceRequest(t, h, "POST", "/trace?reason=cart.&for=2m", "[::1]:5555"); w.Code != http.StatusOK {
		t.Fatalf("POST reason = %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{"/trace", "/trace?rid=x", "/trace?rid=1&reason=a", "/trace?rid=1&for=2h", "/trace?rid=1&for=-1s", "/trace?rid=1&for=soon"} {
		if w := traceRequest(t, h, "POST", bad, local); w.Code != http.StatusBadRequest {
			t.Errorf("POST %s = %d, want 400", bad, w.Code)
		}
	}
	if w := traceRequest(t, h, "GET", "/trace", local); w.Code != 200 || !strings.Contains(w.Body.String(), `"rid":42`) ||
		!strings.Contains(w.Body.String(), `"reason":"cart."`) {
		t.Fatalf("GET = %d %s", w.Code, w.Body)
	}
	check := func(rid int64, reason string, want bool) {
		t.Helper()
		if got := e.tracer.wanted(rid, reason); got != want {
			t.Errorf("wanted(%d, %q) = %v, want %v", rid, reason, got, want)
		}
	}
	check(42, "other", true)
	check(43, "cart.view", true)
	check(43, "cart", false)

	clock.Advance(61 * time.Second) // the rid matcher expires
	check(42, "other", false)
	check(43, "cart.view", true)
	clock.Advance(time.Minute) // and the reason matcher
	check(43, "cart.view", false)
	if w := traceRequest(t, h, "GET", "/trace", local); strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("GET after expiry = %s", w.Body)
	}
	if e.tracer.active() {
		t.Fatal("tracer active with every matcher expired")
	}

	for i := range maxArmed {
		if w := traceRequest(t, h, "POST", "/trace?rid="+strconv.Itoa(i+1)+"&for=1s", local); w.Code != 200 {
			t.Fatalf("arming %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := traceRequest(t, h, "POST", "/trace?rid=1", local); w.Code != http.StatusConflict {
		t.Fatalf("arming past %d = %d, want 409", maxArmed, w.Code)
	}
	if w := traceRequest(t, h, "DELETE", "/trace", local); w.Code != 200 || e.tracer.active() {
		t.Fatalf("DELETE = %d, active %v", w.Code, e.tracer.active())
	}
	if _, err := e.tracer.arm(Matcher{}, time.Second); !errors.Is(err, ErrBadMatcher) {
		t.Fatalf("empty matcher: %v", err)
	}
}
