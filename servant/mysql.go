package servant

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/mysql"
	"golang.org/x/sync/errgroup"
)

const partMySQL = "mysql"

// Errors of my_*.
var (
	// ErrListLengths: my_bulk_exec's lists differ in length.
	ErrListLengths = errors.New("lists must have equal lengths")
	// ErrTxOpen: BEGIN while this connection has a transaction open.
	ErrTxOpen = errors.New("a transaction is already open on this connection: COMMIT or ROLLBACK it first")
	// ErrTxOtherServer: a write to another server while a transaction is
	// open; it would not be part of the transaction.
	ErrTxOtherServer = errors.New("a transaction is open on another server: this write would not be part of it")
	// ErrNoConnection: transactions need a client connection to pin to.
	ErrNoConnection = errors.New("transactions need a client connection")
)

// MySQLPools is what my_* need of pool/mysql.
type MySQLPools interface {
	Server(ctx context.Context, pool string, hint int64) (MySQLServer, error)
	Shards(prefix string) []MySQLServer
	Concat(results []*mysql.Result) (*mysql.Result, error)
	IsLookupPool(pool string) bool
	Invalidate(entity int64)
}

// MySQLServer is one server's pool (mysql.Server). kind is the
// statement's, worked out once by the caller.
type MySQLServer interface {
	Name() string
	Run(ctx context.Context, kind mysql.Kind, sql string, argv []string) (*mysql.Result, error)
	Begin(ctx context.Context, sql string) (MySQLTx, error)
}

// MySQLTx is a transaction pinned to one connection (mysql.Tx).
type MySQLTx interface {
	ServerName() string
	Run(ctx context.Context, kind mysql.Kind, sql string, argv []string) (*mysql.Result, error)
	End(ctx context.Context, kind mysql.Kind, sql string) error
	Close()
}

// ConnLocals are the values kept for the client connection a call came in
// on (engine.Locals): they are closed when the connection ends.
type ConnLocals interface {
	Get(key any) io.Closer
	Set(key any, v io.Closer)
}

// statement is one my_query-like request, understood once: its kind and
// the transaction open on its connection travel with it.
type statement struct {
	pool, table string
	hint        int64
	sql         string
	kind        mysql.Kind
	argv        []string
	cacheKey    string
	rctx        *rpc.Context // the caller's: evictions go to the cacheKey's owner
	tx          *openTx      // this connection's transaction, if one is open
}

func (s *Servant) newStatement(ctx context.Context, c *rpc.Context, pool, table string, hint int64, sql string, argv []string, cacheKey string) statement {
	return statement{pool: pool, table: table, hint: hint, sql: sql, kind: mysql.Classify(sql), argv: argv,
		cacheKey: cacheKey, rctx: c, tx: s.openTx(ctx)}
}

func (s *Servant) mysqlPools(c *rpc.Context) (MySQLPools, error) {
	if err := checkContext(c); err != nil {
		return nil, err
	}
	my := s.backend().MySQL
	if my == nil {
		return nil, fmt.Errorf("%s: %w", partMySQL, ErrNotConfigured)
	}
	return my, nil
}

// MyQuery runs one statement: a query returns rows (cached under cacheKey
// when given), an exec returns rowsAffected and lastInsertId and evicts
// cacheKey; BEGIN … COMMIT/ROLLBACK on one connection is one transaction.
func (s *Servant) MyQuery(ctx context.Context, c *rpc.Context, pool, table string, hintID int64, sql string, argv []string, cacheKey string) (*rpc.MysqlResult_, error) {
	my, err := s.mysqlPools(c)
	if err != nil {
		return nil, err
	}
	st := s.newStatement(ctx, c, pool, table, hintID, sql, argv, cacheKey)
	res, r, err := keyed(ctx, s, c, methodMyQuery, s.myRouteKey(st), func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (*rpc.MysqlResult_, error) {
		return cl.MyQuery(ctx, c, pool, table, hintID, sql, argv, cacheKey)
	})
	switch r {
	case routeAnswered:
		return res, err
	case routeDegraded:
		// The owner's cache is out of reach: run here, without it. A write
		// still runs (it must not be lost); the owner, if it is only cut
		// off, keeps its cached result until my_evict or a TTL.
		st.cacheKey = ""
	}
	return s.myRun(ctx, my, st)
}

// myRouteKey: a statement with a cacheKey runs on the key's owner, where
// its cached result lives, unless it belongs to this connection's
// transaction or is transaction control.
func (s *Servant) myRouteKey(st statement) string {
	if s.queryCache == nil || st.tx != nil {
		return ""
	}
	switch st.kind {
	case mysql.Begin, mysql.Commit, mysql.Rollback:
		return ""
	}
	return st.cacheKey
}

// myRun sends one statement where it belongs: transaction control, the
// open transaction, the query cache, or the server's pool.
func (s *Servant) myRun(ctx context.Context, my MySQLPools, st statement) (*rpc.MysqlResult_, error) {
	switch st.kind {
	case mysql.Begin:
		return s.myBegin(ctx, my, st)
	case mysql.Commit, mysql.Rollback:
		return s.myEnd(ctx, my, st)
	}
	srv, err := my.Server(ctx, st.pool, st.hint)
	if err != nil {
		return nil, err
	}
	if st.tx != nil {
		if st.tx.tx.ServerName() == srv.Name() {
			return s.myRunInTx(ctx, my, st)
		}
		if st.kind != mysql.Query {
			return nil, fmt.Errorf("%w (transaction on %s, write for %s)", ErrTxOtherServer, st.tx.tx.ServerName(), srv.Name())
		}
	}
	if st.kind == mysql.Query && st.cacheKey != "" && s.queryCache != nil {
		return s.queryCache.Load(st.cacheKey, func() (*rpc.MysqlResult_, error) {
			return s.myDirect(ctx, srv, st)
		})
	}
	res, err := s.myDirect(ctx, srv, st)
	if st.kind != mysql.Query {
		s.afterWrite(ctx, my, st)
	}
	return res, err
}

// myDirect runs a statement on a pooled connection.
func (s *Servant) myDirect(ctx context.Context, srv MySQLServer, st statement) (*rpc.MysqlResult_, error) {
	res, err := srv.Run(ctx, st.kind, st.sql, st.argv)
	if err != nil {
		return nil, err
	}
	return toRPCResult(res), nil
}

// afterWrite forgets what a write may have made stale: the cached result
// under its cacheKey, and an entity's shard when it wrote the lookup pool.
// It runs after the write whatever its outcome: a failed write may still
// have been applied.
func (s *Servant) afterWrite(ctx context.Context, my MySQLPools, st statement) {
	s.evictAfterWrite(ctx, st.rctx, st.cacheKey)
	if st.hint != 0 && my.IsLookupPool(st.pool) {
		my.Invalidate(st.hint)
	}
}

// evict drops the result cached under key where it lives: on the key's
// owner in a cluster (whose error it returns).
func (s *Servant) evict(ctx context.Context, c *rpc.Context, key string) error {
	if key == "" || s.queryCache == nil {
		return nil
	}
	if r, err := keyedErr(ctx, s, c, methodMyEvict, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) error {
		return cl.MyEvict(ctx, c, key)
	}); r != routeLocal {
		return err
	}
	s.queryCache.Evict(key)
	return nil
}

// evictAfterWrite is evict for a write that has run: an owner out of reach
// keeps its copy (counted), and the write is not reported failed for that.
func (s *Servant) evictAfterWrite(ctx context.Context, c *rpc.Context, key string) {
	if s.evict(ctx, c, key) != nil {
		s.cstats.EvictFailed.Add(1)
	}
}

// MyBulkExec runs the statements in order and stops at the first error;
// it returns the summed rowsAffected.
func (s *Servant) MyBulkExec(ctx context.Context, c *rpc.Context, pools, tables []string, hintIDs []int64, sqls []string, argvs [][]string, cacheKeys []string) (int64, error) {
	my, err := s.mysqlPools(c)
	if err != nil {
		return 0, err
	}
	n := len(sqls)
	if len(pools) != n || len(tables) != n || len(hintIDs) != n || len(argvs) != n || len(cacheKeys) != n {
		return 0, fmt.Errorf("%w: pool %d, table %d, hintId %d, sql %d, argv %d, cacheKey %d",
			ErrListLengths, len(pools), len(tables), len(hintIDs), n, len(argvs), len(cacheKeys))
	}
	var sum int64
	for i := range sqls {
		// Each statement sees the transaction as the one before left it.
		res, err := s.myRun(ctx, my, s.newStatement(ctx, c, pools[i], tables[i], hintIDs[i], sqls[i], argvs[i], cacheKeys[i]))
		if err != nil {
			return sum, fmt.Errorf("statement %d of %d failed (%d before it ran, rowsAffected %d): %w", i+1, n, i, sum, err)
		}
		sum += res.RowsAffected
	}
	return sum, nil
}

// MyQueryShards runs sql on every server whose name starts with pool, in
// parallel, and concatenates the rows in shard order.
func (s *Servant) MyQueryShards(ctx context.Context, c *rpc.Context, pool, _ string, sql string, argv []string) (*rpc.MysqlResult_, error) {
	my, err := s.mysqlPools(c)
	if err != nil {
		return nil, err
	}
	shards := my.Shards(pool)
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: no server name starts with %q", mysql.ErrNoServer, pool)
	}
	kind := mysql.Classify(sql)
	if kind != mysql.Query && s.openTx(ctx) != nil {
		return nil, fmt.Errorf("%w (my_query_shards)", ErrTxOtherServer)
	}
	results := make([]*mysql.Result, len(shards))
	g, gctx := errgroup.WithContext(ctx)
	for i, srv := range shards {
		g.Go(func() error {
			var err error
			results[i], err = srv.Run(gctx, kind, sql, argv)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res, err := my.Concat(results)
	if err != nil {
		return nil, err
	}
	return toRPCResult(res), nil
}

// MyEvict removes a cached query result.
func (s *Servant) MyEvict(ctx context.Context, c *rpc.Context, cacheKey string) error {
	if _, err := s.mysqlPools(c); err != nil {
		return err
	}
	return s.evict(ctx, c, cacheKey)
}

func toRPCResult(r *mysql.Result) *rpc.MysqlResult_ {
	return &rpc.MysqlResult_{RowsAffected: r.RowsAffected, LastInsertId: r.LastInsertID, Cols: r.Cols, Rows: r.Rows}
}
