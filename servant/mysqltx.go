package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/mysql"
)

// txKey is where a connection's open transaction is kept in its Session.
type txKey struct{}

// openTx is a transaction open on a client connection, with what its
// writes may make stale once it commits.
type openTx struct {
	tx        *mysql.Tx
	cacheKeys []string
	entities  []int64
}

// Close rolls the transaction back: its client went away before COMMIT.
func (o *openTx) Close() error { o.tx.Close(); return nil }

func (s *Servant) openTx(ctx context.Context) *openTx {
	if s.session == nil {
		return nil
	}
	if sess := s.session(ctx); sess != nil {
		tx, _ := sess.Get(txKey{}).(*openTx)
		return tx
	}
	return nil
}

// myBegin pins a connection of the statement's server to this client
// connection and opens the transaction on it.
func (s *Servant) myBegin(ctx context.Context, my MySQLPools, st statement) (*rpc.MysqlResult_, error) {
	var sess Session
	if s.session != nil {
		sess = s.session(ctx)
	}
	if sess == nil {
		return nil, ErrNoSession
	}
	if tx, _ := sess.Get(txKey{}).(*openTx); tx != nil {
		return nil, fmt.Errorf("%w (on %s)", ErrTxOpen, tx.tx.Server().Name())
	}
	srv, err := my.Server(ctx, st.pool, st.hint)
	if err != nil {
		return nil, err
	}
	tx, err := srv.Begin(ctx, st.sql)
	if err != nil {
		return nil, err
	}
	sess.Set(txKey{}, &openTx{tx: tx})
	return emptyResult(), nil
}

// myEnd commits or rolls back this connection's transaction. Without one
// it does nothing, as MySQL does.
func (s *Servant) myEnd(ctx context.Context, my MySQLPools, st statement) (*rpc.MysqlResult_, error) {
	tx := s.openTx(ctx)
	if tx == nil {
		return emptyResult(), nil
	}
	s.session(ctx).Set(txKey{}, nil)
	err := tx.tx.End(ctx, st.sql)
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
func (s *Servant) myRunInTx(ctx context.Context, my MySQLPools, tx *openTx, st statement, kind mysql.Kind) (*rpc.MysqlResult_, error) {
	if kind != mysql.Query {
		if st.cacheKey != "" && s.queryCache != nil {
			tx.cacheKeys = append(tx.cacheKeys, st.cacheKey)
		}
		if st.hint != 0 && my.IsLookupPool(st.pool) {
			tx.entities = append(tx.entities, st.hint)
		}
		defer s.afterWrite(ctx, my, st)
	}
	res, err := tx.tx.Run(ctx, st.sql, st.argv)
	if err != nil {
		return nil, err
	}
	return toRPCResult(res), nil
}

func emptyResult() *rpc.MysqlResult_ {
	return &rpc.MysqlResult_{Cols: []string{}, Rows: [][]string{}}
}
