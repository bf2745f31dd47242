package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/faed/faed/pool/breaker"
	gomysql "github.com/go-sql-driver/mysql"
)

// The driver reports any broken read as "invalid connection" and logs the
// cause; a timeout and a reset look the same to the caller. So each
// connection's socket keeps its first error, and a failed statement is
// explained from it.

// ioState is one connection's first socket error.
type ioState struct {
	mu  sync.Mutex
	op  string // "read" or "write"
	err error
	dc  driver.Conn // its connection, once connected
}

func (st *ioState) record(op string, err error) {
	st.mu.Lock()
	if st.err == nil {
		st.op, st.err = op, err
	}
	st.mu.Unlock()
}

func (st *ioState) first() (string, error) {
	if st == nil {
		return "", nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.op, st.err
}

// trackedConn records the socket's first error. It stays a syscall.Conn:
// the driver's liveness check reads the socket directly.
type trackedConn struct {
	net.Conn
	st     *ioState
	forget func()
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.st.record("read", err)
	}
	return n, err
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		c.st.record("write", err)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.forget()
	return c.Conn.Close()
}

func (c *trackedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// tracker is the server's driver.Connector: the driver's own, with every
// connection's socket tracked.
type tracker struct {
	inner driver.Connector
	conns sync.Map // driver.Conn → *ioState, while its socket is open
}

type stateKey struct{}

// newTracker sets mc's dial function and builds the connector.
func newTracker(mc *gomysql.Config) (*tracker, error) {
	t := &tracker{}
	var d net.Dialer
	mc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		st, _ := ctx.Value(stateKey{}).(*ioState)
		if err != nil || st == nil {
			return c, err
		}
		return &trackedConn{Conn: c, st: st, forget: func() { t.forget(st) }}, nil
	}
	inner, err := gomysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	t.inner = inner
	return t, nil
}

// forget drops the entry of a socket being closed.
func (t *tracker) forget(st *ioState) {
	st.mu.Lock()
	dc := st.dc
	st.dc = nil
	st.mu.Unlock()
	if dc != nil {
		t.conns.Delete(dc)
	}
}

// Connect connects; a failure is a connectError: nothing was sent.
func (t *tracker) Connect(ctx context.Context) (driver.Conn, error) {
	st := &ioState{}
	dc, err := t.inner.Connect(context.WithValue(ctx, stateKey{}, st))
	if err != nil {
		return nil, &connectError{err: err, st: st}
	}
	st.mu.Lock()
	st.dc = dc
	st.mu.Unlock()
	t.conns.Store(dc, st)
	return dc, nil
}

func (t *tracker) Driver() driver.Driver { return t.inner.Driver() }

// state is the socket state of c's connection (nil if unknown). Taken
// before a statement runs: the driver closes a broken socket at once.
func (t *tracker) state(c *sql.Conn) *ioState {
	var st *ioState
	_ = c.Raw(func(dc any) error {
		if v, ok := t.conns.Load(dc); ok {
			st = v.(*ioState)
		}
		return nil
	})
	return st
}

// connectError: no connection could be had; nothing was sent.
type connectError struct {
	err error
	st  *ioState // the attempt's socket, if it got one
	why string   // what conn knows better than err (a timeout's bound)
}

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// sentError: a statement failed after it was handed to the driver.
type sentError struct {
	err error
	st  *ioState
}

func (e *sentError) Error() string { return e.err.Error() }
func (e *sentError) Unwrap() error { return e.err }

// sent marks err of a statement run on a connection whose socket is st.
func sent(err error, st *ioState) error {
	if err == nil {
		return nil
	}
	return &sentError{err: err, st: st}
}

// wrap names the server (and its address, unless it answered) and says
// what happened: an SQL error as the server gave it; a failure before anything went out (refused or
// timed-out connect, open breaker, no free connection) as ErrNotSent; a
// statement without a reply as ErrUnknownOutcome, saying why (no reply
// within read_timeout, connection reset, the call's deadline).
func (s *Server) wrap(err error) error {
	if err == nil {
		return nil
	}
	at := fmt.Sprintf("mysql %s %s", s.name, s.addr)
	var me *gomysql.MySQLError
	var ce *connectError
	var se *sentError
	switch {
	case errors.Is(err, ErrPoolBusy), errors.Is(err, breaker.ErrOpen):
		return fmt.Errorf("%s: %w: %w", at, err, ErrNotSent)
	case errors.As(err, &me), errors.Is(err, ErrTooLarge):
		return fmt.Errorf("mysql %s: %w", s.name, err) // an answer: the text PHP code matches
	case errors.As(err, &ce):
		return fmt.Errorf("%s: unavailable (%s; %w)", at, s.connectFailure(ce), ErrNotSent)
	case errors.Is(err, driver.ErrBadConn):
		// The driver says so only when it wrote nothing.
		return fmt.Errorf("%s: connection lost before the statement was sent (%w)", at, ErrNotSent)
	case errors.As(err, &se):
		return fmt.Errorf("%s: %s: %w", at, s.noReply(se), ErrUnknownOutcome)
	}
	return fmt.Errorf("%s: %w", at, err)
}

// connectFailure says in plain words why no connection was had.
func (s *Server) connectFailure(ce *connectError) string {
	op, ioErr := ce.st.first()
	var errno syscall.Errno
	var ne net.Error
	switch {
	case ce.why != "":
		return ce.why
	case errors.As(ce.err, &errno):
		return errno.Error()
	case errors.As(ioErr, &ne) && ne.Timeout() && op == "read":
		return fmt.Sprintf("no greeting within read_timeout %v", s.cfg.ReadTimeout)
	case errors.As(ce.err, &ne) && ne.Timeout():
		return fmt.Sprintf("connect timed out (dial_timeout %v)", s.cfg.DialTimeout)
	case ioErr != nil:
		return "connection lost while connecting: " + plain(ioErr)
	}
	return ce.err.Error()
}

// noReply says why a sent statement got no answer.
func (s *Server) noReply(se *sentError) string {
	op, ioErr := se.st.first()
	var ne net.Error
	switch {
	case errors.Is(se.err, context.DeadlineExceeded):
		return "no reply before the call's deadline"
	case errors.Is(se.err, context.Canceled):
		return "the call was cancelled before the reply"
	case errors.As(ioErr, &ne) && ne.Timeout() && op == "read":
		return fmt.Sprintf("no reply within read_timeout %v", s.cfg.ReadTimeout)
	case errors.As(ioErr, &ne) && ne.Timeout():
		return fmt.Sprintf("not written within write_timeout %v", s.cfg.WriteTimeout)
	case ioErr != nil:
		return "connection lost after the statement was sent (" + plain(ioErr) + ")"
	}
	return "connection lost after the statement was sent (" + se.err.Error() + ")"
}

// plain is a socket error without the addresses: "connection reset by
// peer", "EOF" (closed by the server).
func plain(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if errors.Is(err, io.EOF) {
		return "closed by the server"
	}
	return err.Error()
}
