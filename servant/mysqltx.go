package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/mysql"
)

// txKey is where a connection's open transaction is kept in its ConnLocals.
type txKey struct{}

// openTx is a transaction open on a client connection, with what its
// writes may make stale once it commits.
type openTx struct {
	tx        MySQLTx
	cacheKeys []string
	entities  []int64
}

// Close rolls the transaction back: its client went away before COMMIT.
func (o *openTx) Close() error { o.tx.Close(); return nil }

// connLocals is the calling connection's values, nil outside one.
func (s *Servant) connLocals(ctx context.Context) ConnLocals {
	if s.locals == nil {
		return nil
	}
	return s.locals(ctx)
}

func (s *Servant) openTx(ctx context.Context) *openTx {
	if l := s.connLocals(ctx); l != nil {
		tx, _ := l.Get(txKey{}).(*openTx)
		return tx
	}
	return nil
}

// myBegin pins a connection of the statement's server to this client
// connection and opens the transaction on it.
func (s *Servant) myBegin(ctx context.Context, my MySQLPools, st statement) (*rpc.MysqlResult_, error) {
	locals := s.connLocals(ctx)
	if locals == nil {
		return nil, ErrNoConnection
	}
	if st.tx != nil {
		return nil, fmt.Errorf("%w (on %s)", ErrTxOpen, st.tx.tx.ServerName())
	}
	srv, err := my.Server(ctx, st.pool, st.hint)
	if err != nil {
		return nil, err
	}
	tx, err := srv.Begin(ctx, st.sql)
	if err != nil {
		return nil, err
	}
	locals.Set(txKey{}, &openTx{tx: tx})
	return emptyResult(), nil
}

// myEnd commits or rolls back this connection's transaction. Without one
// it does nothing, as MySQL does.
func (s *Servant) myEnd(ctx context.Context, my MySQLPools, st statement) (*rpc.MysqlResult_, error) {
	tx := st.tx
	if tx == nil {
		return emptyResult(), nil
	}
	s.connLocals(ctx).Set(txKey{}, nil)
	err := tx.tx.End(ctx, st.kind, st.sql)
	// Forget what the transaction's writes touched: after a COMMIT, and
	// after a failed one whose outcome may be unknown.
	for _, k := range tx.cacheKeys {
		s.evictAfterWrite(ctx, st.rctx, k)
	}
	for _, e := range tx.entities {
		my.Invalidate(e)
	}
	if err != nil {
		return nil, err
	}
	return emptyResult(), nil
}

// myRunInTx runs a statement inside the open transaction. Reads bypass the
// query cache (they may see uncommitted writes); writes evict now and again
// at COMMIT, so no reader caches the old value in between.
func (s *Servant) myRunInTx(ctx context.Context, my MySQLPools, st statement) (*rpc.MysqlResult_, error) {
	tx := st.tx
	if st.kind != mysql.Query {
		if st.cacheKey != "" && s.queryCache != nil {
			tx.cacheKeys = append(tx.cacheKeys, st.cacheKey)
		}
		if st.hint != 0 && my.IsLookupPool(st.pool) {
			tx.entities = append(tx.entities, st.hint)
		}
		defer s.afterWrite(ctx, my, st)
	}
	res, err := tx.tx.Run(ctx, st.kind, st.sql, st.argv)
	if err != nil {
		return nil, err
	}
	return toRPCResult(res), nil
}

func emptyResult() *rpc.MysqlResult_ {
	return &rpc.MysqlResult_{Cols: []string{}, Rows: [][]string{}}
}
