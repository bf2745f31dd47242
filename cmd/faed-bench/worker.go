package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
)

const (
	// callTimeout bounds one call (connect, write, read) so a stuck server
	// cannot keep the bench past -d for long.
	callTimeout = 5 * time.Second
	// dialBackoff spaces reconnects after a failed connect, so a server that
	// is down is reported rather than hammered in a tight loop.
	dialBackoff = 10 * time.Millisecond
)

// errDial marks an error from connecting rather than from the call.
var errDial = errors.New("connect")

// target is where and how the bench connects.
type target struct {
	network, addr string
	wire          wire
	short         bool // connect, one call, close (php-fpm style)
}

// parseTarget takes a host:port, or a unix socket path when addr holds a /.
func parseTarget(addr string, w wire, short bool) target {
	if strings.Contains(addr, "/") {
		return target{network: "unix", addr: strings.TrimPrefix(addr, "unix://"), wire: w, short: short}
	}
	return target{network: "tcp", addr: addr, wire: w, short: short}
}

// tally is what every worker counts for the live progress line.
type tally struct{ calls, errors atomic.Int64 }

// worker sends its pre-encoded requests in turn until stopped; it records
// latencies and errors of the calls that end inside the measured window.
type worker struct {
	direct directGet // set for -direct runs: GETs straight to the backend
	t      target
	reqs   []request
	hist   histogram
	errs   map[string]int64
	tally  *tally
	conn   net.Conn
	rr     *replyReader
}

func newWorker(t target, reqs []request, tl *tally) *worker {
	return &worker{t: t, reqs: reqs, errs: map[string]int64{}, tally: tl, rr: newReplyReader(t.wire)}
}

// run measures calls that end within [from, until]; earlier ones are the
// warm-up.
func (w *worker) run(stop *atomic.Bool, from, until time.Time) {
	defer w.close()
	for i := 0; !stop.Load(); i++ {
		start := time.Now()
		var err error
		if w.direct != nil {
			err = w.direct(i)
		} else {
			err = w.call(w.reqs[i%len(w.reqs)])
		}
		end := time.Now()
		w.count(err, end.Before(from) || end.After(until), end.Sub(start))
		if errors.Is(err, errDial) {
			time.Sleep(dialBackoff)
		}
	}
}

func (w *worker) count(err error, outside bool, took time.Duration) {
	if err != nil {
		w.tally.errors.Add(1)
	} else {
		w.tally.calls.Add(1)
	}
	switch {
	case outside:
	case err != nil:
		w.errs[errKind(err)]++
	default:
		w.hist.record(took)
	}
}

// call sends one request and reads its reply, connecting first when there
// is no open connection (every call in short mode). The connection is
// dropped after a short call and after any error that may leave unread
// bytes; exception replies are read whole, so it is kept after them.
func (w *worker) call(r request) error {
	if w.conn == nil {
		c, err := net.DialTimeout(w.t.network, w.t.addr, callTimeout)
		if err != nil {
			return fmt.Errorf("%w: %w", errDial, err)
		}
		w.conn = c
		w.rr.reset(c)
	}
	_ = w.conn.SetDeadline(time.Now().Add(callTimeout))
	if _, err := w.conn.Write(r.bytes); err != nil {
		w.close()
		return err
	}
	err := w.rr.read(r)
	if w.t.short || (err != nil && !errors.Is(err, errException) && !errors.Is(err, errDeclared)) {
		w.close()
	}
	return err
}

func (w *worker) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// errKind names an error's kind for the summary; a closed set, so the
// count of kinds stays small.
func errKind(err error) string {
	var ne net.Error
	var pe thrift.TProtocolException
	switch {
	case errors.Is(err, errException):
		return "exception"
	case errors.Is(err, errDeclared):
		return "declared_exception"
	case errors.Is(err, errBadReply):
		return "bad_reply"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		return "refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no_local_port"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, errDial):
		return "connect"
	case errors.As(err, &pe):
		return "bad_reply"
	}
	return "other"
}
