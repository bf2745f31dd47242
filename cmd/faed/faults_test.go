package main

// The fault suite (make test-faults): one test per situation of
// docs/RELIABILITY.md, against real processes on loopback. Each runs a
// small php-fpm-like load through faed while a backend, a link, a client
// or faed itself fails, and checks behaviour and counts only: noop never
// fails while a backend does, faed stays up, no call hangs past a
// generous guard, every error names its backend, no wrong answer is ever
// returned, and calls succeed again once the fault ends. What it measured
// (failed calls, time to the error, time to recover) is written as one
// JSON line per scenario to $FAED_FAULTS_OUT, from which
// scripts/faults-report.py builds the table of docs/RELIABILITY.md.
//
// FAED_FAULTS_FULL=1 holds each fault longer (faultFor).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/internal/faultproxy"
)

const (
	// phpTimeout is the client's socket timeout (PHP's default): a call
	// faed has not answered by then is a client timeout.
	phpTimeout = 750 * time.Millisecond
	// hangGuard bounds any one call, dial included: past it, a hang.
	hangGuard = 5 * time.Second
	// recoverGuard bounds the time from a fault's end to calls succeeding
	// again.
	recoverGuard = 30 * time.Second
	// recovered is how many calls in a row of every operation must
	// succeed after a fault for the load to count as recovered.
	recovered = 20
)

// faultFor is how long a fault lasts.
func faultFor() time.Duration {
	if os.Getenv("FAED_FAULTS_FULL") != "" {
		return 5 * time.Second
	}
	return 1500 * time.Millisecond
}

// op is one kind of call the load makes. do returns wrong != "" for an
// answer that is not the one expected (never acceptable).
type op struct {
	name    string
	backend string // the word every error of this call must contain; "" for none
	do      func(w *worker) (wrong string, err error)
}

// worker is one client: one connection kept for all its calls, like a
// php-fpm worker with a persistent socket, dialled again after a
// transport failure.
type worker struct {
	id   int
	addr string
	conn net.Conn
	c    *rpc.FunServantClient
	seq  int
	id64 int64 // the id the last call got, if any
	// values this worker tried to store under its keys (an outcome-unknown
	// write may or may not have landed), by op name
	tried map[string]map[string]bool
}

func (w *worker) dial() error {
	conn, err := net.DialTimeout("tcp", w.addr, phpTimeout)
	if err != nil {
		return err
	}
	conf := &thrift.TConfiguration{SocketTimeout: phpTimeout, ConnectTimeout: phpTimeout}
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, conf), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, conf)
	w.conn, w.c = conn, rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
	return nil
}

func (w *worker) key(kind string) string { return fmt.Sprintf("fault:%s:%d", kind, w.id) }

// value is a fresh value for kind's key, remembered as tried.
func (w *worker) value(kind string) string {
	w.seq++
	v := fmt.Sprintf("%d:%d", w.id, w.seq)
	if w.tried[kind] == nil {
		w.tried[kind] = map[string]bool{}
	}
	w.tried[kind][v] = true
	return v
}

func fctx() *rpc.Context { return &rpc.Context{Rid: rand.Int64N(1<<62) + 1, Reason: "faults"} }

var (
	opNoop = op{"noop", "", func(w *worker) (string, error) {
		x := rand.Int32()
		got, err := w.c.Noop(context.Background(), x)
		if err == nil && got != x {
			return fmt.Sprintf("noop(%d) = %d", x, got), nil
		}
		return "", err
	}}
	opRdSet = op{"rd_set", "redis", func(w *worker) (string, error) {
		got, err := w.c.RdCall(context.Background(), fctx(), "SET", "default", []string{w.key("rd"), w.value("rd")})
		if err == nil && got != "OK" {
			return "SET = " + got, nil
		}
		return "", err
	}}
	opRdGet = op{"rd_get", "redis", func(w *worker) (string, error) {
		got, err := w.c.RdCall(context.Background(), fctx(), "GET", "default", []string{w.key("rd")})
		if err != nil && strings.Contains(err.Error(), "not exists") {
			return "", nil // never set, or lost with a restarted server
		}
		if err == nil && !w.tried["rd"][got] {
			return fmt.Sprintf("GET %s = %q, never written there", w.key("rd"), got), nil
		}
		return "", err
	}}
	opMcSet = op{"mc_set", "memcache", func(w *worker) (string, error) {
		_, err := w.c.McSet(context.Background(), fctx(), "default", w.key("mc"), &rpc.TMemcacheData{Data: []byte(w.value("mc"))}, 0)
		return "", err
	}}
	opMcGet = op{"mc_get", "memcache", func(w *worker) (string, error) {
		got, err := w.c.McGet(context.Background(), fctx(), "default", w.key("mc"))
		var miss *rpc.TCacheMissed
		if errors.As(err, &miss) {
			return "", nil
		}
		if err == nil && !w.tried["mc"][string(got.Data)] {
			return fmt.Sprintf("mc_get %s = %q, never written there", w.key("mc"), got.Data), nil
		}
		return "", err
	}}
	opMyQuery = op{"my_query", "mysql", func(w *worker) (string, error) {
		n := strconv.Itoa(rand.IntN(1 << 30))
		res, err := w.c.MyQuery(context.Background(), fctx(), "Global", "t", 0, "SELECT ?", []string{n}, "")
		if err == nil && (len(res.Rows) != 1 || len(res.Rows[0]) != 1 || res.Rows[0][0] != n) {
			return fmt.Sprintf("SELECT %s = %v", n, res.Rows), nil
		}
		return "", err
	}}
	opIDNext = op{"id_next", "", func(w *worker) (string, error) {
		id, err := w.c.IDNext(context.Background(), fctx())
		if err == nil {
			w.id64 = id
		}
		return "", err
	}}
)

// call is one call the load made.
type call struct {
	op      string
	start   time.Time
	took    time.Duration
	err     string // "" for success
	timeout bool   // the client gave up (phpTimeout) or could not connect
	answer  bool   // err is faed's answer (an application exception)
	id      int64  // id_next's id
}

// faultLoad runs workers making calls until stopped, and keeps every call.
type faultLoad struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	calls []call
	wrong []string
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startFaultLoad runs, for each op list, one worker making those calls in
// turn; noop gets a worker of its own so that a stalled engine shows on it
// alone.
func startFaultLoad(t *testing.T, addr string, workers ...[]op) *faultLoad {
	l := &faultLoad{t: t, addr: addr, stop: make(chan struct{})}
	for _, ops := range workers {
		l.wg.Add(1)
		go l.run(ops)
	}
	t.Cleanup(l.end)
	return l
}

// workerIDs number workers across loads, so that no worker finds a key
// an earlier scenario's worker wrote.
var workerIDs atomic.Int64

func (l *faultLoad) run(ops []op) {
	defer l.wg.Done()
	w := &worker{id: int(workerIDs.Add(1)), addr: l.addr, tried: map[string]map[string]bool{}}
	defer func() {
		if w.conn != nil {
			w.conn.Close()
		}
	}()
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		o := ops[n%len(ops)]
		c := call{op: o.name, start: time.Now()}
		var wrong string
		var err error
		if w.conn == nil {
			err = w.dial()
		}
		if err == nil {
			w.id64 = 0
			wrong, err = o.do(w)
			c.id = w.id64
		}
		c.took = time.Since(c.start)
		if err != nil {
			c.err = err.Error()
			var ae thrift.TApplicationException
			c.answer = errors.As(err, &ae)
			var ne net.Error
			c.timeout = errors.As(err, &ne) && ne.Timeout() || w.conn == nil
			if !c.answer && w.conn != nil {
				w.conn.Close() // the connection's state is unknown
				w.conn = nil
			}
		}
		l.mu.Lock()
		l.calls = append(l.calls, c)
		if wrong != "" {
			l.wrong = append(l.wrong, o.name+": "+wrong)
		}
		l.mu.Unlock()
		// a small load: a worker pauses between calls (longer after a
		// failure, as a page that failed is not retried at once)
		if c.err != "" {
			time.Sleep(5 * time.Millisecond)
		} else {
			time.Sleep(time.Millisecond)
		}
	}
}

func (l *faultLoad) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *faultLoad) snapshot() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// waitOK waits until, of every op the load makes, the last n calls
// started after since succeeded, and returns when the first of those
// streaks began (the recovery moment).
func (l *faultLoad) waitOK(t *testing.T, since time.Time, n int, guard time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		calls := l.snapshot()
		streak := map[string]int{}
		from := map[string]time.Time{}
		ops := map[string]bool{}
		for _, c := range calls {
			ops[c.op] = true
			if c.start.Before(since) {
				continue
			}
			if c.err != "" {
				streak[c.op] = 0
				continue
			}
			if streak[c.op] == 0 {
				from[c.op] = c.start
			}
			streak[c.op]++
		}
		ok, at := len(ops) > 0, since
		for o := range ops {
			if streak[o] < n {
				ok = false
			} else if from[o].After(at) {
				at = from[o]
			}
		}
		if ok {
			return at
		}
		if time.Now().After(deadline) {
			last := map[string]string{}
			for _, c := range calls {
				if c.err != "" {
					last[c.op] = c.err
				}
			}
			t.Fatalf("calls not succeeding again within %v (streaks %v of %d); last errors: %v", guard, streak, n, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result is one scenario's line in the results file.
type result struct {
	Scenario   string         `json:"scenario"`
	Test       string         `json:"test"`
	FaultMs    int64          `json:"fault_ms"`
	Calls      int            `json:"calls"`
	Failed     int            `json:"failed"`
	Timeouts   int            `json:"timeouts"`
	P50Ms      *float64       `json:"p50_ms_to_error"`
	MaxMs      *float64       `json:"max_ms_to_error"`
	RecoveryMs int64          `json:"recovery_ms"`
	NoopCalls  int            `json:"noop_calls"`
	NoopFailed int            `json:"noop_failed"`
	Errors     map[string]int `json:"errors,omitempty"` // error texts (addresses cut) by count
	Notes      string         `json:"notes,omitempty"`
}

// faultRun is one scenario: the load, the fault's window and the checks.
type faultRun struct {
	t          *testing.T
	scenario   string
	notes      string
	load       *faultLoad
	ops        map[string]op
	start, end time.Time
	// noopMayFail: the fault is faed's own, so noop fails with it
	noopMayFail bool
}

// newFaultRun starts the load and waits until every op succeeds.
func newFaultRun(t *testing.T, scenario, addr string, workers ...[]op) *faultRun {
	t.Helper()
	r := &faultRun{t: t, scenario: scenario, ops: map[string]op{}}
	for _, ops := range workers {
		for _, o := range ops {
			r.ops[o.name] = o
		}
	}
	r.load = startFaultLoad(t, addr, workers...)
	r.load.waitOK(t, time.Now(), 5, recoverGuard)
	return r
}

// fault marks the fault's start; healed marks its end.
func (r *faultRun) fault()  { r.start = time.Now() }
func (r *faultRun) healed() { r.end = time.Now() }

// hold keeps the fault for faultFor, then marks its end after heal.
func (r *faultRun) hold(heal func()) {
	r.fault()
	time.Sleep(faultFor())
	heal()
	r.healed()
}

// finish waits for recovery, stops the load, checks what must never
// happen and writes the result line.
func (r *faultRun) finish(p *proc) result {
	t := r.t
	t.Helper()
	r.load.waitOK(t, r.end, recovered, recoverGuard)
	r.load.end()
	calls := r.load.snapshot()
	// recovered when the last failure after the fault's start ended
	back := r.end
	for _, c := range calls {
		if end := c.start.Add(c.took); c.err != "" && !end.Before(r.start) && end.After(back) {
			back = end
		}
	}
	res := result{Scenario: r.scenario, Test: t.Name(), FaultMs: r.end.Sub(r.start).Milliseconds(),
		RecoveryMs: back.Sub(r.end).Milliseconds(), Errors: map[string]int{}, Notes: r.notes}
	var toErr []float64
	for _, c := range calls {
		if c.took > hangGuard {
			t.Errorf("%s call hung %v: %s", c.op, c.took, c.err)
		}
		if c.err != "" && c.answer && !strings.Contains(strings.ToLower(c.err), r.ops[c.op].backend) {
			t.Errorf("%s error does not name its backend (%s): %q", c.op, r.ops[c.op].backend, c.err)
		}
		if c.err != "" && c.answer && !strings.Contains(c.err, "nothing was sent") && !strings.Contains(c.err, "outcome unknown") {
			t.Errorf("%s error does not say whether the outcome is known: %q", c.op, c.err)
		}
		if c.start.Add(c.took).Before(r.start) {
			if c.err != "" {
				t.Errorf("%s failed before the fault (%v before it): %s", c.op, r.start.Sub(c.start), c.err)
			}
			continue
		}
		if c.start.After(back) {
			continue // the streak that showed recovery
		}
		if c.op == "noop" {
			res.NoopCalls++
			if c.err != "" {
				res.NoopFailed++
			}
			continue
		}
		res.Calls++
		if c.err != "" {
			res.Failed++
			toErr = append(toErr, float64(c.took.Microseconds())/1000)
			if c.timeout {
				res.Timeouts++
			}
			res.Errors[c.op+": "+errorShape(c.err)]++
		}
	}
	if res.NoopFailed != 0 && !r.noopMayFail {
		t.Errorf("%d of %d noop calls failed during a backend fault", res.NoopFailed, res.NoopCalls)
	}
	if len(r.load.wrong) != 0 {
		t.Errorf("wrong answers: %q", r.load.wrong)
	}
	if p != nil {
		select {
		case <-p.exited:
			t.Errorf("faed exited: %v\n%s", p.err, p.stderr)
		default:
		}
		if strings.Contains(p.stderr.String(), "panic") {
			t.Errorf("faed logged a panic:\n%s", p.stderr)
		}
	}
	if len(toErr) > 0 {
		slices.Sort(toErr)
		p50, mx := toErr[len(toErr)/2], toErr[len(toErr)-1]
		res.P50Ms, res.MaxMs = &p50, &mx
	}
	writeResult(t, res)
	return res
}

var addrInText = regexp.MustCompile(`127\.\d+\.\d+\.\d+:\d+`)

// errorShape is an error text without its addresses and request-specific
// details, so that like errors count together.
func errorShape(s string) string {
	s = addrInText.ReplaceAllString(s, "ADDR")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

var resultsMu sync.Mutex

// writeResult logs the scenario's line and appends it to $FAED_FAULTS_OUT.
func writeResult(t *testing.T, res result) {
	t.Helper()
	line, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("result: %s", line)
	out := os.Getenv("FAED_FAULTS_OUT")
	if out == "" || t.Failed() {
		return // the table lists passed scenarios only
	}
	resultsMu.Lock()
	defer resultsMu.Unlock()
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
}

// startLinked starts the stack's one server behind a fault link and a faed
// configured by conf with the link's address.
func startLinked(t *testing.T, name string, ports devstack.Ports, conf func(link string, sv devstack.Servers) string) (*devstack.Stack, *faultproxy.Link, *proc) {
	t.Helper()
	stack, sv := devstack.Start(t, ports)
	var upstream string
	switch {
	case len(sv.Redis) > 0:
		upstream = sv.Redis[0]
	case len(sv.Memcached) > 0:
		upstream = sv.Memcached[0]
	default:
		upstream = sv.MySQL
	}
	link := faultproxy.New(t, name, upstream)
	return stack, link, startFaed(t, t.TempDir(), conf(link.Addr, sv))
}

func redisConf(addr string, _ devstack.Servers) string {
	return fmt.Sprintf("[redis.default]\nservers = [%q]\n", addr)
}

func memcacheConf(addr string, _ devstack.Servers) string {
	return fmt.Sprintf("[memcache.default]\nservers = [%q]\n", addr)
}

func linkedMySQLConf(addr string, _ devstack.Servers) string { return mysqlConf(addr) }

var (
	redisLoad = [][]op{{opNoop}, {opRdSet, opRdGet}, {opRdGet, opRdSet}, {opRdSet, opRdGet}}
	mcLoad    = [][]op{{opNoop}, {opMcSet, opMcGet}, {opMcGet, opMcSet}, {opMcSet, opMcGet}}
	myLoad    = [][]op{{opNoop}, {opMyQuery}, {opMyQuery}, {opMyQuery}}
)

// TestFaultRedis: the Redis server killed, paused, its link reset, silent
// or slow, one after the other on one server and one faed.
func TestFaultRedis(t *testing.T) {
	stack, link, p := startLinked(t, "redis", devstack.Ports{Redis: []int{18447}}, redisConf)
	t.Run("sigkill_restart", func(t *testing.T) {
		r := newFaultRun(t, "Redis killed (SIGKILL), then restarted", p.addr, redisLoad...)
		r.fault()
		stack.Signal(t, "redis1", syscall.SIGKILL)
		time.Sleep(faultFor())
		stack.Restart(t, "redis1")
		r.healed()
		r.notes = "data lost with the server (no persistence): GET answers a miss"
		r.finish(p)
	})
	t.Run("sigstop", func(t *testing.T) {
		r := newFaultRun(t, "Redis paused (SIGSTOP: silent, connections open), then SIGCONT", p.addr, redisLoad...)
		r.fault()
		stack.Signal(t, "redis1", syscall.SIGSTOP)
		time.Sleep(faultFor())
		stack.Signal(t, "redis1", syscall.SIGCONT)
		r.healed()
		r.finish(p)
	})
	t.Run("reset_mid_reply", func(t *testing.T) {
		r := newFaultRun(t, "Redis link reset mid-reply (reset_peer on the replies)", p.addr, redisLoad...)
		var toxic string
		r.fault()
		toxic = link.Toxic(t, "reset_peer", "downstream", map[string]any{"timeout": 0})
		time.Sleep(faultFor())
		link.Remove(t, toxic)
		r.healed()
		r.notes = "writes are never retried; a write reset after it was sent says outcome unknown"
		r.finish(p)
	})
	t.Run("silent_link", func(t *testing.T) {
		r := newFaultRun(t, "Redis link silent (timeout toxic: bytes dropped)", p.addr, redisLoad...)
		r.fault()
		toxic := link.Toxic(t, "timeout", "upstream", map[string]any{"timeout": 0})
		time.Sleep(faultFor())
		link.Remove(t, toxic)
		r.healed()
		r.finish(p)
	})
	t.Run("latency_100ms", func(t *testing.T) {
		r := newFaultRun(t, "Redis link delayed 100 ms each way", p.addr, redisLoad...)
		r.fault()
		up := link.Toxic(t, "latency", "upstream", map[string]any{"latency": 100})
		down := link.Toxic(t, "latency", "downstream", map[string]any{"latency": 100})
		time.Sleep(faultFor())
		link.Remove(t, up)
		link.Remove(t, down)
		r.healed()
		r.notes = "a slower backend, not a failure: calls slow down, none should fail"
		r.finish(p)
	})
}

// TestFaultMemcache: the memcached server killed, then restarted.
func TestFaultMemcache(t *testing.T) {
	stack, _, p := startLinked(t, "memcached", devstack.Ports{Memcached: []int{18451}}, memcacheConf)
	t.Run("sigkill_restart", func(t *testing.T) {
		r := newFaultRun(t, "memcached killed (SIGKILL), then restarted", p.addr, mcLoad...)
		r.fault()
		stack.Signal(t, "memcached1", syscall.SIGKILL)
		time.Sleep(faultFor())
		stack.Restart(t, "memcached1")
		r.healed()
		r.notes = "data lost with the server: mc_get answers a miss"
		r.finish(p)
	})
}

// TestFaultMySQL: MariaDB paused, its link reset mid-reply, and a client
// that hangs up inside a transaction.
func TestFaultMySQL(t *testing.T) {
	stack, link, p := startLinked(t, "mysql", devstack.Ports{MySQL: 18453}, linkedMySQLConf)
	t.Run("sigstop", func(t *testing.T) {
		r := newFaultRun(t, "MariaDB paused (SIGSTOP), then SIGCONT", p.addr, myLoad...)
		r.fault()
		stack.Signal(t, "mysql", syscall.SIGSTOP)
		time.Sleep(faultFor())
		stack.Signal(t, "mysql", syscall.SIGCONT)
		r.healed()
		r.finish(p)
	})
	t.Run("reset_mid_reply", func(t *testing.T) {
		r := newFaultRun(t, "MariaDB link reset mid-reply (reset_peer on the replies)", p.addr, myLoad...)
		r.fault()
		toxic := link.Toxic(t, "reset_peer", "downstream", map[string]any{"timeout": 0})
		time.Sleep(faultFor())
		link.Remove(t, toxic)
		r.healed()
		r.finish(p)
	})
	t.Run("client_gone_mid_transaction", func(t *testing.T) {
		testHangUpInTransaction(t, p)
	})
}

// testHangUpInTransaction: a client opens a transaction, locks and
// changes a row, and hangs up; a second client can lock the row at once
// and sees the change rolled back.
func testHangUpInTransaction(t *testing.T, p *proc) {
	ctx := context.Background()
	b := client(t, "tcp", p.addr)
	if _, err := b.MyQuery(ctx, fctx(), "Global", "t", 0, "INSERT INTO Counter VALUES ('fault-row', 1) ON DUPLICATE KEY UPDATE n = 1", nil, ""); err != nil {
		t.Fatal(err)
	}
	a, conn := dial(t, p.addr)
	for _, sql := range []string{"BEGIN", "SELECT n FROM Counter WHERE name = 'fault-row' FOR UPDATE", "UPDATE Counter SET n = 999 WHERE name = 'fault-row'"} {
		if _, err := a.MyQuery(ctx, fctx(), "Global", "t", 0, sql, nil, ""); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	gone := time.Now()
	conn.Close()
	res := result{Scenario: "Client hangs up inside a MySQL transaction (row locked and changed)", Test: t.Name(), Errors: map[string]int{}}
	var toErr []float64
	deadline := time.Now().Add(recoverGuard)
	for {
		start := time.Now()
		_, err := b.MyQuery(ctx, fctx(), "Global", "t", 0, "BEGIN", nil, "")
		var rows *rpc.MysqlResult_
		if err == nil {
			rows, err = b.MyQuery(ctx, fctx(), "Global", "t", 0, "SELECT n FROM Counter WHERE name = 'fault-row' FOR UPDATE", nil, "")
		}
		res.Calls++
		if err == nil {
			if got := rows.Rows[0][0]; got != "1" {
				t.Fatalf("the hung-up transaction's change is visible: n = %s", got)
			}
			if _, err := b.MyQuery(ctx, fctx(), "Global", "t", 0, "ROLLBACK", nil, ""); err != nil {
				t.Fatal(err)
			}
			break
		}
		res.Failed++
		toErr = append(toErr, float64(time.Since(start).Microseconds())/1000)
		res.Errors["my_query: "+errorShape(err.Error())]++
		_, _ = b.MyQuery(ctx, fctx(), "Global", "t", 0, "ROLLBACK", nil, "")
		if time.Now().After(deadline) {
			t.Fatalf("row still locked %v after its client hung up: %v", recoverGuard, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.RecoveryMs = time.Since(gone).Milliseconds()
	if len(toErr) > 0 {
		slices.Sort(toErr)
		p50, mx := toErr[len(toErr)/2], toErr[len(toErr)-1]
		res.P50Ms, res.MaxMs = &p50, &mx
	}
	res.Notes = "rolled back, row lock released; recovery = hang-up to the row locked by another client"
	writeResult(t, res)
}

// startFaedServer is startFaed with [server] lines of its own.
func startFaedServer(t *testing.T, dir, server, extra string) *proc {
	t.Helper()
	return startFaedConf(t, dir, "127.0.0.1:0", server, extra)
}

// hungUp is /stats' count of calls cancelled because their client left.
func hungUp(t *testing.T, p *proc) int64 {
	t.Helper()
	var st struct {
		Engine struct {
			HungUp int64 `json:"hung_up"`
		} `json:"engine"`
	}
	statsOf(t, p.admin, &st)
	return st.Engine.HungUp
}

// TestFaultClientGoneMidCall: Redis answers slower than the client waits
// (PHP's 750 ms); the client gives up and closes, and faed cancels the
// call instead of finishing it for nobody.
func TestFaultClientGoneMidCall(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18457}})
	link := faultproxy.New(t, "redis", sv.Redis[0])
	p := startFaedServer(t, t.TempDir(), "call_timeout = \"10s\"\n",
		fmt.Sprintf("[redis.default]\nservers = [%q]\nread_timeout = \"10s\"\n", link.Addr))
	c := client(t, "tcp", p.addr)
	if _, err := c.RdCall(context.Background(), fctx(), "SET", "default", []string{"slow", "v"}); err != nil {
		t.Fatal(err)
	}
	link.Toxic(t, "latency", "downstream", map[string]any{"latency": 3000})
	before := hungUp(t, p)
	const calls = 5
	res := result{Scenario: "Client hangs up mid-call (a 3 s Redis reply, the client waits 750 ms)", Test: t.Name(), Calls: calls, Errors: map[string]int{}}
	var toErr []float64
	for range calls {
		w := &worker{addr: p.addr, tried: map[string]map[string]bool{}}
		if err := w.dial(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := w.c.RdCall(context.Background(), fctx(), "GET", "default", []string{"slow"})
		w.conn.Close()
		if err == nil {
			t.Fatal("a call slower than the client's timeout succeeded")
		}
		res.Failed++
		res.Timeouts++
		toErr = append(toErr, float64(time.Since(start).Microseconds())/1000)
	}
	closed := time.Now()
	waitUntil(t, recoverGuard, func() bool { return hungUp(t, p)-before >= calls })
	res.RecoveryMs = time.Since(closed).Milliseconds()
	slices.Sort(toErr)
	p50, mx := toErr[len(toErr)/2], toErr[len(toErr)-1]
	res.P50Ms, res.MaxMs = &p50, &mx
	res.Notes = fmt.Sprintf("every call cancelled (hung_up %d -> %d); recovery = last hang-up to the last cancel", before, hungUp(t, p))
	if v, err := c.Noop(context.Background(), 3); err != nil || v != 3 {
		t.Fatalf("noop after the hang-ups: %v %v", v, err)
	}
	writeResult(t, res)
}

// TestFaultFaed: faed itself paused and continued, then killed under load
// and restarted on the same address and id state file (last: the new
// process belongs to that subtest).
func TestFaultFaed(t *testing.T) {
	dir := t.TempDir()
	extra := fmt.Sprintf("[id]\nstate_file = %q\n", dir+"/id.state")
	addr := reserveAddr(t)
	p := startFaedAt(t, dir, addr, extra)
	load := [][]op{{opNoop}, {opIDNext}, {opIDNext, opNoop}, {opIDNext}}
	t.Run("sigstop", func(t *testing.T) {
		r := newFaultRun(t, "faed paused (SIGSTOP), then SIGCONT", addr, load...)
		r.noopMayFail = true
		r.fault()
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.cmd.Process.Signal(syscall.SIGCONT) })
		time.Sleep(faultFor())
		if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		r.healed()
		r.notes = "clients time out (750 ms) while it is paused"
		r.finish(p)
		ids := map[int64]bool{}
		for _, c := range r.load.snapshot() {
			if c.id != 0 && ids[c.id] {
				t.Fatalf("id %d issued twice", c.id)
			}
			ids[c.id] = true
		}
	})
	t.Run("sigkill_restart", func(t *testing.T) {
		r := newFaultRun(t, "faed killed (SIGKILL) under load, restarted on its address and id state file", addr, load...)
		r.noopMayFail = true
		r.fault()
		p.kill()
		time.Sleep(faultFor())
		p = startFaedAt(t, dir, addr, extra)
		r.healed()
		r.notes = "down from the kill until the new process is ready; ids after the restart all above those before"
		r.finish(p)
		var before, after []int64
		for _, c := range r.load.snapshot() {
			switch {
			case c.id == 0:
			case c.start.Add(c.took).Before(r.start):
				before = append(before, c.id)
			case c.start.After(r.end):
				after = append(after, c.id)
			}
		}
		if len(before) == 0 || len(after) == 0 {
			t.Fatalf("%d ids before the kill, %d after the restart", len(before), len(after))
		}
		if mx, mn := slices.Max(before), slices.Min(after); mn <= mx {
			t.Fatalf("id %d after the restart not above %d issued before the kill", mn, mx)
		}
	})
}
