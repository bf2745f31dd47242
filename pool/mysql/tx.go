package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faed/faed/internal/calltrace"
)

// Errors of transactions.
var (
	// ErrTxLimit: max_transactions are open.
	ErrTxLimit = errors.New("too many open transactions")
	// ErrTxEnded: the transaction was rolled back by faed (tx_timeout, or
	// its connection broke); the client must start a new one.
	ErrTxEnded = errors.New("transaction already rolled back")
)

// Tx is a transaction on one pinned connection of a server: every
// statement of it runs on that connection until Commit, Rollback or Close.
type Tx struct {
	s     *Server
	timer *time.Timer

	mu    sync.Mutex
	conn  *sql.Conn // nil once ended
	st    *ioState  // its socket
	ended string    // why faed ended it, if it did
}

// Begin pins a connection and runs stmt (BEGIN or START TRANSACTION ...,
// as the client sent it) on it. The transaction is rolled back if it is
// still open after tx_timeout.
func (s *Server) Begin(ctx context.Context, stmt string) (*Tx, error) {
	cfg := s.cfg
	if s.txOpen.Add(1) > int64(cfg.MaxTransactions) {
		s.txOpen.Add(-1)
		return nil, fmt.Errorf("mysql %s: %w (max_transactions %d)", s.name, ErrTxLimit, cfg.MaxTransactions)
	}
	var tx *Tx
	calltrace.Backend(ctx, "mysql", s.addr)
	err := s.do(func() error {
		c, err := s.conn(ctx)
		if err != nil {
			return err
		}
		st := s.track.state(c)
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			discard(c)
			return sent(err, st)
		}
		tx = &Tx{s: s, conn: c, st: st}
		return nil
	})
	if err != nil {
		s.txOpen.Add(-1)
		return nil, s.wrap(err)
	}
	s.pinned.Add(1)
	tx.timer = time.AfterFunc(cfg.TxTimeout, func() { tx.abort("open longer than tx_timeout " + cfg.TxTimeout.String()) })
	return tx, nil
}

// ServerName is the name of the server the transaction runs on.
func (t *Tx) ServerName() string { return t.s.name }

// Run runs one statement inside the transaction. If the connection breaks
// (or the call's deadline cuts the statement off) the server has rolled
// the transaction back, and the error says so.
func (t *Tx) Run(ctx context.Context, kind Kind, stmt string, args []string) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		return nil, fmt.Errorf("mysql %s: %w (%s)", t.s.name, ErrTxEnded, t.ended)
	}
	var res *Result
	calltrace.Backend(ctx, "mysql", t.s.addr)
	err := t.s.do(func() error {
		var err error
		res, err = runOn(ctx, t.conn, kind, stmt, args, t.s.cfg)
		return sent(err, t.st)
	})
	if err != nil && isServerFailure(err) {
		t.release(false, "connection lost during a statement")
		return nil, fmt.Errorf("%w; %w", t.s.wrap(err), ErrTxEnded)
	}
	return res, t.s.wrap(err)
}

// End runs stmt (COMMIT or ROLLBACK, as the client sent it; kind says
// which) and returns
// the connection to the pool. A COMMIT whose connection broke has an
// unknown outcome, and the error says so.
func (t *Tx) End(ctx context.Context, kind Kind, stmt string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		if kind == Rollback {
			return nil // already rolled back: what the client asked for
		}
		return fmt.Errorf("mysql %s: %w (%s)", t.s.name, ErrTxEnded, t.ended)
	}
	calltrace.Backend(ctx, "mysql", t.s.addr)
	err := t.s.do(func() error {
		_, err := t.conn.ExecContext(ctx, stmt)
		return sent(err, t.st)
	})
	t.release(err == nil, "ended")
	return t.s.wrap(err)
}

// Close rolls back a transaction still open (its client went away) and
// returns the connection. Safe to call more than once.
func (t *Tx) Close() { t.abort("client disconnected") }

func (t *Tx) abort(why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		return
	}
	cfg := t.s.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ReadTimeout+cfg.WriteTimeout)
	defer cancel()
	_, err := t.conn.ExecContext(ctx, "ROLLBACK")
	t.release(err == nil, why)
}

// release ends the transaction's hold on its connection: back to the pool
// when it is known clean, closed otherwise (the server then rolls back
// whatever was open on it).
func (t *Tx) release(clean bool, why string) {
	if t.timer != nil {
		t.timer.Stop()
	}
	if clean {
		_ = t.conn.Close()
	} else {
		discard(t.conn)
	}
	t.conn, t.ended = nil, why
	t.s.pinned.Add(-1)
	t.s.txOpen.Add(-1)
}

// discard closes a connection instead of pooling it.
func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}
