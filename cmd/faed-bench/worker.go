package main

import (
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// target is where and how the bench connects.
type target struct {
	network, addr string
	wire          wire
	short         bool // connect, one call, close (php-fpm style)
}

func parseTarget(addr string, w wire, short bool) target {
	network := "tcp"
	if strings.Contains(addr, "/") {
		network = "unix"
		addr = strings.TrimPrefix(addr, "unix://")
	}
	return target{network: network, addr: addr, wire: w, short: short}
}

// worker sends pre-encoded requests until stop, recording latencies of
// calls that end after measureFrom.
type worker struct {
	t        target
	reqs     [][]byte
	hist     histogram
	errs     map[string]int64
	done     *atomic.Int64 // calls finished by every worker, for progress
	conn     net.Conn
	rr       *replyReader
	failures *atomic.Int64
}

func (w *worker) run(stop <-chan struct{}, measureFrom time.Time) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			w.close()
			return
		default:
		}
		start := time.Now()
		err := w.call(w.reqs[i%len(w.reqs)])
		end := time.Now()
		if end.Before(measureFrom) {
			continue
		}
		if err != nil {
			w.errs[errKind(err)]++
			w.failures.Add(1)
			w.close()
			continue
		}
		w.hist.record(end.Sub(start))
		w.done.Add(1)
	}
}

// call sends one request and reads its reply, connecting first when there
// is no open connection (every call in short mode).
func (w *worker) call(req []byte) error {
	if w.conn == nil {
		c, err := net.DialTimeout(w.t.network, w.t.addr, 2*time.Second)
		if err != nil {
			return err
		}
		w.conn, w.rr = c, newReplyReader(c, w.t.wire)
	}
	_ = w.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := w.conn.Write(req); err != nil {
		return err
	}
	err := w.rr.read()
	if w.t.short || (err != nil && !errors.Is(err, errException)) {
		w.close()
	}
	return err
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.rr = nil, nil
	}
}

// errKind groups errors for the summary without unbounded cardinality.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errException):
		return "exception"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "reset"):
		return "reset"
	case strings.Contains(err.Error(), "EOF"):
		return "eof"
	}
	return "other"
}
