package main

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// outcome is what a client can know of one write from faed's reply.
type outcome int

const (
	acked   outcome = iota // no error: the write happened
	failed                 // the reply says the write was never sent
	unknown                // anything else: it may have happened
)

func (o outcome) String() string { return [...]string{"acked", "failed", "unknown"}[o] }

// notSent are reply texts that say the write never reached the backend.
// Only these make a write failed; every other error leaves it unknown.
var notSent = []string{
	"circuit open",       // the breaker skipped the server
	"not configured",     // no such backend section
	"no free connection", // the pool had no connection to send it on
	"connection refused", // the dial failed: nothing was written
	"invalid context",
}

// classify reads one reply. A transport error (faed gone, the reply
// late) is unknown: the call may have run. "outcome unknown" in faed's
// text wins over any other words in it.
func classify(err error) outcome {
	if err == nil {
		return acked
	}
	var ae thrift.TApplicationException
	if !errors.As(err, &ae) {
		return unknown
	}
	msg := err.Error()
	if strings.Contains(msg, "outcome unknown") {
		return unknown
	}
	for _, s := range notSent {
		if strings.Contains(msg, s) {
			return failed
		}
	}
	return unknown
}

// reconnClient is one checker client: a connection to faed's fixed
// address, dialed again after any transport error (faed killed and
// restarted, a reply timed out), so a call never reuses a connection
// whose framing may be off. A failed dial sends nothing, so it is retried
// until faed is back (bounded by a hang guard).
type reconnClient struct {
	addr string
	conn net.Conn
	c    *rpc.FunServantClient
}

const reconnGuard = 60 * time.Second

// get returns a connected client, dialing until faed accepts.
func (r *reconnClient) get() (*rpc.FunServantClient, error) {
	if r.c != nil {
		return r.c, nil
	}
	deadline := time.Now().Add(reconnGuard)
	for {
		conn, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err == nil {
			trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, &thrift.TConfiguration{SocketTimeout: 10 * time.Second}), 4096)
			proto := thrift.NewTBinaryProtocolConf(trans, nil)
			r.conn, r.c = conn, rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
			return r.c, nil
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// done looks at a call's error: after anything but faed's own
// application error the connection is dropped.
func (r *reconnClient) done(err error) {
	var ae thrift.TApplicationException
	if err == nil || errors.As(err, &ae) {
		return
	}
	if r.conn != nil {
		r.conn.Close()
	}
	r.conn, r.c = nil, nil
}

func (r *reconnClient) close() {
	if r.conn != nil {
		r.conn.Close()
	}
}

// gates hold writers at fixed write indexes until the fault planned
// there is in place: the writer that draws index i waits for every gate
// at or below i. So each fault starts while the writes before it may
// still be in flight and lasts over a known number of writes, however
// fast or slow the machine is.
type gates struct {
	mu     sync.Mutex
	cond   *sync.Cond
	next   int   // the next index to hand out
	at     []int // gate indexes, ascending
	opened int   // how many gates are open
	total  int
}

func newGates(total int, at []int) *gates {
	g := &gates{at: at, total: total}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// draw hands out the next write index, waiting at a closed gate; false
// when every write has been handed out.
func (g *gates) draw() (int, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.next >= g.total {
		return 0, false
	}
	i := g.next
	g.next++
	g.cond.Broadcast() // the fault side waits for an index to reach a gate
	for g.opened < len(g.at) && i >= g.at[g.opened] {
		g.cond.Wait()
	}
	return i, true
}

// reached waits until gate k's index has been drawn (its writer waits).
func (g *gates) reached(t *testing.T, k int) {
	deadline := time.AfterFunc(reconnGuard, func() { g.cond.Broadcast() })
	defer deadline.Stop()
	start := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.next <= g.at[k] {
		if time.Since(start) > reconnGuard {
			t.Errorf("gate %d (write %d) not reached in %v", k, g.at[k], reconnGuard)
			return
		}
		g.cond.Wait()
	}
}

// open lets writers past gate k.
func (g *gates) open(k int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opened = k + 1
	g.cond.Broadcast()
}

func TestCheckerClassify(t *testing.T) {
	app := func(msg string) error { return thrift.NewTApplicationException(thrift.INTERNAL_ERROR, msg) }
	cases := []struct {
		err  error
		want outcome
	}{
		{nil, acked},
		{app("Internal error processing rd_call: redis 127.0.0.1:1: circuit open: server skipped after repeated failures"), failed},
		{app("Internal error processing my_query: mysql Global: dial tcp 127.0.0.1:1: connect: connection refused"), failed},
		{app("Internal error processing rd_call: redis 127.0.0.1:1: outcome unknown: dial tcp: connection refused"), unknown},
		{app("Internal error processing mc_add: memcache 127.0.0.1:1: read: connection reset by peer"), unknown},
		{thrift.NewTTransportException(thrift.END_OF_FILE, "EOF"), unknown},
		{errors.New("circuit open"), unknown}, // not faed's reply: the call may have run
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
