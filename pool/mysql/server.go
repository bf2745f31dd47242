package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"

	"github.com/faed/faed/internal/calltrace"
	"github.com/faed/faed/pool/breaker"
	gomysql "github.com/go-sql-driver/mysql"
)

// Server is one MySQL server's connection pool.
type Server struct {
	name    string
	sc      ServerConfig
	cfg     Config        // the settings it was built with (Config.limits)
	txOpen  *atomic.Int64 // open transactions, all servers (shared by every Pools a reload builds)
	addr    string
	db      *sql.DB
	track   *tracker
	breaker *breaker.Breaker
	calls   atomic.Int64
	errors  atomic.Int64
	pinned  atomic.Int64
}

func newServer(p *Pools, name string, sc ServerConfig, log *slog.Logger) (*Server, error) {
	cfg := p.cfg.limits()
	mc, err := connector(sc, cfg, log)
	if err != nil {
		return nil, err
	}
	track, err := newTracker(mc)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(track)
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	db.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)
	return &Server{
		name: name, sc: sc, cfg: cfg, txOpen: p.txOpen, addr: sc.Addr, db: db, track: track,
		breaker: breaker.New(cfg.Breaker, "mysql "+name, isServerFailure),
	}, nil
}

// Name is the server's name in the config, e.g. "UserShard2".
func (s *Server) Name() string { return s.name }

// isServerFailure: the server did not answer in time or the connection
// broke. SQL errors (syntax, duplicate key) are answers, our own caps are
// not the server's fault, and a caller that hung up says nothing.
func isServerFailure(err error) bool {
	var me *gomysql.MySQLError
	var ne net.Error
	switch {
	case errors.As(err, &me), errors.Is(err, context.Canceled), errors.Is(err, ErrTooLarge), errors.Is(err, ErrPoolBusy):
		return false
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, gomysql.ErrInvalidConn),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne):
		return true
	}
	return false
}

// Run runs one statement of kind (Classify's, worked out once by the
// caller) on a pooled connection. A query returns rows; an exec returns
// rowsAffected and lastInsertId.
func (s *Server) Run(ctx context.Context, kind Kind, stmt string, args []string) (*Result, error) {
	var res *Result
	calltrace.Backend(ctx, "mysql", s.addr)
	err := s.do(func() error {
		var err error
		// A connection found dead before anything was sent (the driver
		// checks liveness first) is safe to replace once; nothing else
		// is ever retried.
		for range 2 {
			var c *sql.Conn
			if c, err = s.conn(ctx); err != nil {
				return err
			}
			st := s.track.state(c)
			res, err = runOn(ctx, c, kind, stmt, args, s.cfg)
			err = sent(err, st)
			_ = c.Close()
			if !errors.Is(err, driver.ErrBadConn) {
				return err
			}
		}
		return err
	})
	return res, s.wrap(err)
}

// do runs call through the breaker and counts it.
func (s *Server) do(call func() error) error {
	s.calls.Add(1)
	err := s.breaker.Do(call)
	if err != nil {
		s.errors.Add(1)
	}
	return err
}

// conn takes a connection from the pool, waiting at most pool_timeout.
// Its errors are ErrPoolBusy or a connectError: nothing was sent.
func (s *Server) conn(ctx context.Context) (*sql.Conn, error) {
	wait, cancel := context.WithTimeout(ctx, s.cfg.PoolTimeout)
	defer cancel()
	c, err := s.db.Conn(wait)
	if err == nil {
		return c, nil
	}
	ce, ok := errors.AsType[*connectError](err)
	if !ok {
		ce = &connectError{err: err}
	}
	switch {
	case ctx.Err() != nil:
		ce.why = "the call's deadline passed before a connection was had"
	case wait.Err() != nil:
		if st := s.db.Stats(); st.InUse >= st.MaxOpenConnections {
			return nil, fmt.Errorf("%w within %v (max_open_conns %d in use)", ErrPoolBusy, s.cfg.PoolTimeout, st.MaxOpenConnections)
		}
		ce.why = fmt.Sprintf("not connected within pool_timeout %v", s.cfg.PoolTimeout)
	}
	return nil, ce
}

// runOn runs stmt on one connection with each arg bound as a string.
func runOn(ctx context.Context, c *sql.Conn, kind Kind, stmt string, args []string, cfg Config) (*Result, error) {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	if kind != Query {
		r, err := c.ExecContext(ctx, stmt, vals...)
		if err != nil {
			return nil, err
		}
		res := &Result{Cols: []string{}, Rows: [][]string{}}
		res.RowsAffected, _ = r.RowsAffected()
		res.LastInsertID, _ = r.LastInsertId()
		return res, nil
	}
	rows, err := c.QueryContext(ctx, stmt, vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return readRows(rows, cfg.MaxRows, cfg.MaxResultBytes)
}

// readRows copies every value out as a string, NULL as "NULL", and stops
// with ErrTooLarge at the first row past a cap.
func readRows(rows *sql.Rows, maxRows, maxBytes int) (*Result, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Cols: cols, Rows: [][]string{}}
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	size := 0
	for rows.Next() {
		if len(res.Rows) == maxRows {
			return nil, fmt.Errorf("%w: more than max_rows %d", ErrTooLarge, maxRows)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, b := range raw {
			if b == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(b)
			}
			size += len(row[i])
		}
		if size > maxBytes {
			return nil, fmt.Errorf("%w: more than max_result_bytes %d", ErrTooLarge, maxBytes)
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

func (s *Server) stats() ServerStats {
	st := s.db.Stats()
	return ServerStats{
		Name: s.name, Addr: s.addr, Breaker: s.breaker.State(),
		Calls: s.calls.Load(), Errors: s.errors.Load(),
		Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle, WaitCount: st.WaitCount,
		Pinned: s.pinned.Load(),
	}
}
