package servant_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/faed/faed/cache"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/mysql"
	"github.com/faed/faed/proxy"
	"github.com/faed/faed/querycache"
	"github.com/faed/faed/servant"
)

// fakeMySQL is one server that records what it was asked to run: the
// servant's MySQL interfaces are small enough to fake (the real pools are
// tested against MariaDB in pool/mysql and cmd/faed).
type fakeMySQL struct {
	runs []string // "kind sql", in order, transaction statements with "tx "
	open int      // transactions open
}

type fakePools struct{ srv *fakeMySQL }

func (p fakePools) Server(context.Context, string, int64) (servant.MySQLServer, error) {
	return p.srv, nil
}
func (p fakePools) Shards(string) []servant.MySQLServer              { return []servant.MySQLServer{p.srv} }
func (p fakePools) Concat(rs []*mysql.Result) (*mysql.Result, error) { return rs[0], nil }
func (p fakePools) IsLookupPool(string) bool                         { return false }
func (p fakePools) Invalidate(int64)                                 {}

func (f *fakeMySQL) Name() string { return "Fake" }
func (f *fakeMySQL) Run(_ context.Context, kind mysql.Kind, sql string, _ []string) (*mysql.Result, error) {
	f.runs = append(f.runs, kind.String()+" "+sql)
	return &mysql.Result{Cols: []string{"n"}, Rows: [][]string{{fmt.Sprint(len(f.runs))}}}, nil
}
func (f *fakeMySQL) Begin(_ context.Context, sql string) (servant.MySQLTx, error) {
	f.open++
	f.runs = append(f.runs, "begin "+sql)
	return fakeTx{f}, nil
}

type fakeTx struct{ f *fakeMySQL }

func (t fakeTx) ServerName() string { return t.f.Name() }
func (t fakeTx) Run(_ context.Context, kind mysql.Kind, sql string, _ []string) (*mysql.Result, error) {
	t.f.runs = append(t.f.runs, "tx "+kind.String()+" "+sql)
	return &mysql.Result{Cols: []string{}, Rows: [][]string{}}, nil
}
func (t fakeTx) End(_ context.Context, kind mysql.Kind, _ string) error {
	t.f.open--
	t.f.runs = append(t.f.runs, "end "+kind.String())
	return nil
}
func (t fakeTx) Close() { t.f.open-- }

// connLocals is one client connection's values.
type connLocals map[any]io.Closer

func (l connLocals) Get(k any) io.Closer { return l[k] }
func (l connLocals) Set(k any, v io.Closer) {
	if v == nil {
		delete(l, k)
		return
	}
	l[k] = v
}

func mysqlServant(t *testing.T, srv *fakeMySQL, cl servant.Cluster) (*servant.Servant, context.Context) {
	t.Helper()
	store, err := cache.New(cache.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	locals := connLocals{}
	type connKey struct{}
	ctx := context.WithValue(context.Background(), connKey{}, locals)
	s := servant.New(servant.Info{}, servant.Parts{
		MySQL: fakePools{srv}, QueryCache: querycache.New(store, servant.ResultCodec{}), Cluster: cl,
		Locals: func(ctx context.Context) servant.ConnLocals {
			if l, ok := ctx.Value(connKey{}).(connLocals); ok {
				return l
			}
			return nil
		},
	}, nil)
	return s, ctx
}

func TestStatementKindReachesThePool(t *testing.T) {
	srv := &fakeMySQL{}
	s, ctx := mysqlServant(t, srv, nil)
	c := req(1)
	for _, sql := range []string{"SELECT 1", "UPDATE t SET a = 1", "BEGIN", "  select 2", "INSERT INTO t VALUES (1)", "COMMIT", "/* x */ (SELECT 3)"} {
		if _, err := s.MyQuery(ctx, c, "P", "t", 0, sql, nil, ""); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	want := []string{"query SELECT 1", "exec UPDATE t SET a = 1", "begin BEGIN", "tx query   select 2",
		"tx exec INSERT INTO t VALUES (1)", "end commit", "query /* x */ (SELECT 3)"}
	if fmt.Sprint(srv.runs) != fmt.Sprint(want) {
		t.Fatalf("runs\n got %q\nwant %q", srv.runs, want)
	}
	if srv.open != 0 {
		t.Fatalf("%d transactions left open", srv.open)
	}
}

func TestQueryCacheHitRunsOnce(t *testing.T) {
	srv := &fakeMySQL{}
	s, ctx := mysqlServant(t, srv, nil)
	for range 3 {
		res, err := s.MyQuery(ctx, req(1), "P", "t", 0, "SELECT n", nil, "k")
		if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != "1" {
			t.Fatalf("cached read: %v, %v", res, err)
		}
	}
	if _, err := s.MyQuery(ctx, req(1), "P", "t", 0, "UPDATE t SET n = 2", nil, "k"); err != nil {
		t.Fatal(err)
	}
	if res, _ := s.MyQuery(ctx, req(1), "P", "t", 0, "SELECT n", nil, "k"); res.Rows[0][0] != "3" {
		t.Fatalf("after the write's eviction: %v (want the third run)", res.Rows)
	}
	if len(srv.runs) != 3 {
		t.Fatalf("runs %q", srv.runs)
	}
}

// recorder says every key belongs to another node and records the methods
// forwarded there.
type recorder struct {
	fail    error
	methods []string
}

func (r *recorder) Owner(string) (string, bool) { return "10.0.0.9:9001", false }
func (r *recorder) Call(ctx context.Context, _ string, call func(context.Context, rpc.FunServant) error) error {
	if r.fail != nil {
		return r.fail
	}
	return call(ctx, recClient{r: r})
}

// recClient is the owner's client: it records the keyed methods called on
// it (the embedded nil interface is never reached by a keyed call).
type recClient struct {
	rpc.FunServant
	r *recorder
}

func (c recClient) rec(m string) { c.r.methods = append(c.r.methods, m) }
func (c recClient) LcGet(context.Context, *rpc.Context, string) ([]byte, error) {
	c.rec("lc_get")
	return nil, nil
}
func (c recClient) LcSet(context.Context, *rpc.Context, string, []byte) (bool, error) {
	c.rec("lc_set")
	return true, nil
}
func (c recClient) LcDel(context.Context, *rpc.Context, string) error { c.rec("lc_del"); return nil }
func (c recClient) Lock(context.Context, *rpc.Context, string, string) (bool, error) {
	c.rec("lock")
	return true, nil
}
func (c recClient) Unlock(context.Context, *rpc.Context, string, string) error {
	c.rec("unlock")
	return nil
}
func (c recClient) LockFenced(context.Context, *rpc.Context, string, string, int32) (int64, error) {
	c.rec("lock_fenced")
	return 1, nil
}
func (c recClient) UnlockFenced(context.Context, *rpc.Context, string, string, int64) (bool, error) {
	c.rec("unlock_fenced")
	return true, nil
}
func (c recClient) MyQuery(context.Context, *rpc.Context, string, string, int64, string, []string, string) (*rpc.MysqlResult_, error) {
	c.rec("my_query")
	return &rpc.MysqlResult_{}, nil
}
func (c recClient) MyEvict(context.Context, *rpc.Context, string) error {
	c.rec("my_evict")
	return nil
}
func (c recClient) MyMerge(context.Context, *rpc.Context, string, string, int64, string, string, string, string) (*rpc.MysqlMergeResult_, error) {
	c.rec("my_merge")
	return &rpc.MysqlMergeResult_{}, nil
}

// The routing table in effect: which calls go to the owner, which stay,
// what an unreachable owner means for each, and that bad arguments are
// refused before anything is forwarded.
func TestKeyedRouting(t *testing.T) {
	clock := &manualClock{t: time.Unix(1e9, 0)}
	ctx := context.Background()
	rec := &recorder{}
	s := clusterServant(t, rec, &zkStub{up: true}, clock)
	_, _ = s.LcGet(ctx, req(1), "k")
	_, _ = s.LcSet(ctx, req(1), "k", nil)
	_ = s.LcDel(ctx, req(1), "k")
	_, _ = s.Lock(ctx, req(1), "r", "k")
	_ = s.Unlock(ctx, req(1), "r", "k")
	_, _ = s.LockFenced(ctx, req(1), "r", "k", 0)
	_, _ = s.UnlockFenced(ctx, req(1), "r", "k", 1)
	if want := "[lc_get lc_set lc_del lock unlock lock_fenced unlock_fenced]"; fmt.Sprint(rec.methods) != want {
		t.Fatalf("forwarded %v, want %s", rec.methods, want)
	}
	rec.methods = nil
	_, _ = s.LcGet(ctx, req(1), "")                    // refused here: empty key
	_, _ = s.LockFenced(ctx, req(1), "r", "k", -1)     // refused here: negative ttl
	_, _ = s.Lock(ctx, &rpc.Context{Rid: 1}, "r", "k") // refused here: no reason
	if len(rec.methods) != 0 {
		t.Fatalf("invalid calls were forwarded: %v", rec.methods)
	}

	srv := &fakeMySQL{}
	ms, mctx := mysqlServant(t, srv, rec)
	_, _ = ms.MyQuery(mctx, req(1), "P", "t", 0, "SELECT 1", nil, "k")
	_, _ = ms.MyQuery(mctx, req(1), "P", "t", 0, "SELECT 1", nil, "") // no key: here
	_ = ms.MyEvict(mctx, req(1), "k")
	_, _ = ms.MyMerge(mctx, req(1), "P", "t", 0, "id = 1", "k", "bad name!", "{}") // refused here
	_, _ = ms.MyMerge(mctx, req(1), "P", "t", 0, "id = 1", "k", "doc", "[1]")      // refused here
	if want := "[my_query my_evict]"; fmt.Sprint(rec.methods) != want {
		t.Fatalf("forwarded %v, want %s", rec.methods, want)
	}
	if len(srv.runs) != 1 {
		t.Fatalf("ran here: %q, want only the read without a key", srv.runs)
	}
	_, _ = ms.MyQuery(mctx, req(1), "P", "t", 0, "BEGIN", nil, "k")
	_, _ = ms.MyQuery(mctx, req(1), "P", "t", 0, "SELECT 1", nil, "k")           // in the transaction: here
	_, _ = ms.MyQuery(mctx, req(1), "P", "t", 0, "UPDATE t SET a = 1", nil, "k") // here, evicted on the owner now
	_, _ = ms.MyQuery(mctx, req(1), "P", "t", 0, "COMMIT", nil, "k")             // and again at COMMIT
	if want := "[my_query my_evict my_evict my_evict]"; fmt.Sprint(rec.methods) != want {
		t.Fatalf("forwarded %v, want %s", rec.methods, want)
	}
	if want := "[query SELECT 1 begin BEGIN tx query SELECT 1 tx exec UPDATE t SET a = 1 end commit]"; fmt.Sprint(srv.runs) != want {
		t.Fatalf("ran here %q, want %s", srv.runs, want)
	}

	rec.fail = fmt.Errorf("%w: refused", proxy.ErrUnreachable)
	rec.methods = nil
	res, err := ms.MyQuery(mctx, req(1), "P", "t", 0, "SELECT 1", nil, "k")
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("my_query with the owner out of reach: %v, %v (runs here, without the cache)", res, err)
	}
	if err := ms.MyEvict(mctx, req(1), "k"); !errors.Is(err, proxy.ErrUnreachable) {
		t.Fatalf("my_evict with the owner out of reach: %v", err)
	}
	if _, err := ms.MyMerge(mctx, req(1), "P", "t", 0, "id = 1", "k", "doc", "{}"); !errors.Is(err, proxy.ErrUnreachable) {
		t.Fatalf("my_merge with the owner out of reach: %v", err)
	}
}
