package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
)

// mysqlConf is the [mysql] section for the fixture's pools on addr.
func mysqlConf(addr string) string {
	var b strings.Builder
	b.WriteString("[mysql]\nglobal_pools = [\"ShardLookup\", \"Global\"]\nlookup_pool = \"ShardLookup\"\n")
	b.WriteString("lookup_tables = { UserShard = \"UserLookup\" }\n[mysql.breaker]\nfailures = 3\ncooldown = \"200ms\"\n")
	for name, db := range map[string]string{"ShardLookup": "faed_lookup", "Global": "faed_global",
		"UserShard1": "faed_shard1", "UserShard2": "faed_shard2"} {
		fmt.Fprintf(&b, "[mysql.servers.%s]\naddr = %q\nuser = \"faed\"\npassword = \"faed\"\ndb = %q\n", name, addr, db)
	}
	return b.String()
}

// dial is client with its connection, for tests that hang up.
func dial(t *testing.T, addr string) (*rpc.FunServantClient, net.Conn) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, &thrift.TConfiguration{SocketTimeout: 5 * time.Second}), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, nil)
	return rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto)), conn
}

// adminMySQL reads /stats' mysql part.
func adminMySQL(t *testing.T, p *proc) (calls map[string]int64, openTx int64) {
	t.Helper()
	var st struct {
		MySQL struct {
			Servers []struct {
				Name  string `json:"name"`
				Calls int64  `json:"calls"`
			} `json:"servers"`
			OpenTransactions int64 `json:"open_transactions"`
		} `json:"mysql"`
	}
	statsOf(t, p.admin, &st)
	calls = map[string]int64{}
	for _, s := range st.MySQL.Servers {
		calls[s.Name] = s.Calls
	}
	return calls, st.MySQL.OpenTransactions
}

type mysqlEnv struct {
	stack *devstack.Stack
	p     *proc
}

// query is my_query that fails the test on error.
func (e *mysqlEnv) query(t *testing.T, c *rpc.FunServantClient, pool string, hint int64, sql string, argv []string, cacheKey string) *rpc.MysqlResult_ {
	t.Helper()
	res, err := c.MyQuery(context.Background(), rctx(1), pool, "t", hint, sql, argv, cacheKey)
	if err != nil {
		t.Fatalf("my_query %s: %v", sql, err)
	}
	return res
}

// One MariaDB and one faed for every my_* test; subtests that change data
// reset the fixture.
func TestMySQLThroughFaed(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{MySQL: 18306})
	e := &mysqlEnv{stack: stack, p: startFaed(t, t.TempDir(), mysqlConf(sv.MySQL))}
	t.Run("RoutingAndErrors", e.testRouting)
	t.Run("QueryCache", e.testQueryCache)
	t.Run("Singleflight", e.testSingleflight)
	t.Run("Transactions", e.testTransactions)
	t.Run("DisconnectRollsBack", e.testDisconnect)
	t.Run("Merge", e.testMerge)
	t.Run("ConcurrentMerges", e.testConcurrentMerges)
	t.Run("BulkExec", e.testBulkExec)
	t.Run("QueryShards", e.testQueryShards)
	t.Run("ServerKilledAndBack", e.testServerKilled) // last: restarts MariaDB
}

func (e *mysqlEnv) testRouting(t *testing.T) {
	c := client(t, "tcp", e.p.addr)
	ctx := context.Background()
	res := e.query(t, c, "UserShard", 7, "SELECT name, power, gold FROM UserInfo WHERE uid = ?", []string{"7"}, "")
	if fmt.Sprint(res.Cols, res.Rows) != "[name power gold] [[u7 7 NULL]]" {
		t.Fatalf("uid 7: %v %v", res.Cols, res.Rows)
	}
	if res := e.query(t, c, "UserShard", 8, "SELECT uid FROM UserInfo WHERE uid = 7", nil, ""); len(res.Rows) != 0 {
		t.Fatal("uid 7 found on entity 8's shard")
	}
	bad := []struct {
		pool string
		hint int64
		want string
	}{
		{"UserShard", 0, "hintId is 0"},
		{"Nope", 1, "no such mysql pool"},
		{"UserShard", 999999, "entity being locked"},
		{"UserShard", 123456, "entity not in lookup table"},
	}
	for _, b := range bad {
		_, err := c.MyQuery(ctx, rctx(1), b.pool, "t", b.hint, "SELECT 1", nil, "")
		var ae thrift.TApplicationException
		if !errors.As(err, &ae) || ae.TypeId() != thrift.INTERNAL_ERROR || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s/%d: %v, want INTERNAL_ERROR with %q", b.pool, b.hint, err, b.want)
		}
	}
	if _, err := c.MyQuery(ctx, rctx(1), "Global", "t", 0, "SELEC oops", nil, ""); err == nil || !strings.Contains(err.Error(), "SQL syntax") {
		t.Fatalf("syntax error: %v", err)
	}
	if _, err := c.MyQuery(ctx, &rpc.Context{}, "Global", "t", 0, "SELECT 1", nil, ""); err == nil || !strings.Contains(err.Error(), "invalid context") {
		t.Fatalf("empty context: %v", err)
	}
	if v, err := c.Noop(ctx, 5); err != nil || v != 5 {
		t.Fatalf("connection not usable after errors: %v", err)
	}
}

func (e *mysqlEnv) testQueryCache(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	c := client(t, "tcp", e.p.addr)
	ctx := context.Background()
	e.query(t, c, "Global", 0, "INSERT INTO Counter VALUES ('c', 1)", nil, "")
	read := func() string {
		return e.query(t, c, "Global", 0, "SELECT n FROM Counter WHERE name = ?", []string{"c"}, "counter:c").Rows[0][0]
	}
	if n := read(); n != "1" {
		t.Fatalf("first read %s", n)
	}
	calls, _ := adminMySQL(t, e.p)
	e.query(t, c, "Global", 0, "UPDATE Counter SET n = 2 WHERE name = 'c'", nil, "") // no cacheKey: cache not told
	if n := read(); n != "1" {
		t.Fatalf("cached read %s, want the stale 1 until evicted", n)
	}
	if after, _ := adminMySQL(t, e.p); after["Global"] != calls["Global"]+1 {
		t.Fatalf("a cache hit reached MySQL: Global calls %d -> %d (one update between)", calls["Global"], after["Global"])
	}
	res, _ := c.MyQuery(ctx, rctx(1), "Global", "t", 0, "SELECT n FROM Counter WHERE name = 'c'", nil, "counter:c")
	if res.RowsAffected != 0 {
		t.Fatalf("hit rowsAffected %d", res.RowsAffected)
	}
	e.query(t, c, "Global", 0, "UPDATE Counter SET n = 3 WHERE name = 'c'", nil, "counter:c") // evicts
	if n := read(); n != "3" {
		t.Fatalf("after an exec with the cacheKey: %s, want 3", n)
	}
	e.query(t, c, "Global", 0, "UPDATE Counter SET n = 4 WHERE name = 'c'", nil, "")
	if err := c.MyEvict(ctx, rctx(1), "counter:c"); err != nil {
		t.Fatal(err)
	}
	if n := read(); n != "4" {
		t.Fatalf("after my_evict: %s, want 4", n)
	}
}

func (e *mysqlEnv) testSingleflight(t *testing.T) {
	const n = 10
	clients := make([]*rpc.FunServantClient, n)
	for i := range clients {
		clients[i] = client(t, "tcp", e.p.addr)
	}
	before, _ := adminMySQL(t, e.p)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for _, c := range clients {
		wg.Go(func() {
			<-start
			res, err := c.MyQuery(context.Background(), rctx(1), "Global", "t", 0, "SELECT SLEEP(0.3), 42", nil, "sf:key")
			if err == nil && res.Rows[0][1] != "42" {
				err = fmt.Errorf("rows %v", res.Rows)
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	after, _ := adminMySQL(t, e.p)
	if d := after["Global"] - before["Global"]; d != 1 {
		t.Fatalf("%d concurrent misses ran %d queries, want 1", n, d)
	}
}

func (e *mysqlEnv) testTransactions(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	a, b := client(t, "tcp", e.p.addr), client(t, "tcp", e.p.addr)
	count := func() string {
		return e.query(t, b, "Global", 0, "SELECT COUNT(*) FROM Event", nil, "").Rows[0][0]
	}
	e.query(t, a, "Global", 0, "begin", nil, "")
	e.query(t, a, "Global", 0, "INSERT INTO Event (what) VALUES (?)", []string{"one"}, "")
	if got := e.query(t, a, "Global", 0, "SELECT COUNT(*) FROM Event", nil, "").Rows[0][0]; got != "1" {
		t.Fatalf("the transaction sees %s rows", got)
	}
	if got := count(); got != "0" {
		t.Fatalf("another connection sees %s uncommitted rows", got)
	}
	if _, err := a.MyQuery(context.Background(), rctx(1), "Global", "t", 0, "BEGIN", nil, ""); err == nil || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("nested BEGIN: %v", err)
	}
	if _, err := a.MyQuery(context.Background(), rctx(1), "UserShard", "t", 1, "UPDATE UserInfo SET power = 0", nil, ""); err == nil || !strings.Contains(err.Error(), "another server") {
		t.Fatalf("write to another server inside a transaction: %v", err)
	}
	e.query(t, a, "Global", 0, "Commit", nil, "")
	if got := count(); got != "1" {
		t.Fatalf("after COMMIT: %s rows", got)
	}
	e.query(t, a, "Global", 0, "START TRANSACTION", nil, "")
	e.query(t, a, "Global", 0, "INSERT INTO Event (what) VALUES ('two')", nil, "")
	e.query(t, a, "Global", 0, "ROLLBACK", nil, "")
	if got := count(); got != "1" {
		t.Fatalf("after ROLLBACK: %s rows", got)
	}
	e.query(t, a, "Global", 0, "COMMIT", nil, "") // none open: nothing to do, as in MySQL
}

func (e *mysqlEnv) testDisconnect(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	a, conn := dial(t, e.p.addr)
	b := client(t, "tcp", e.p.addr)
	e.query(t, a, "Global", 0, "BEGIN", nil, "")
	e.query(t, a, "Global", 0, "INSERT INTO Counter VALUES ('held', 1)", nil, "")
	if _, open := adminMySQL(t, e.p); open != 1 {
		t.Fatalf("%d open transactions, want 1", open)
	}
	conn.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, open := adminMySQL(t, e.p); open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("transaction still open 30s after its client hung up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Rolled back, and its row lock released: the same key inserts at once.
	if got := e.query(t, b, "Global", 0, "SELECT COUNT(*) FROM Counter WHERE name = 'held'", nil, "").Rows[0][0]; got != "0" {
		t.Fatalf("disconnected transaction left %s rows", got)
	}
	e.query(t, b, "Global", 0, "INSERT INTO Counter VALUES ('held', 2)", nil, "")
}

func (e *mysqlEnv) testMerge(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	c := client(t, "tcp", e.p.addr)
	ctx := context.Background()
	e.query(t, c, "Global", 0, "INSERT INTO Doc VALUES (1, ?)", []string{`{"a":{"x":1,"y":[1,2]},"b":"keep","big":12345678901234567890}`}, "")
	res, err := c.MyMerge(ctx, rctx(1), "Global", "Doc", 0, "id = 1", "", "data", `{"a":{"y":[3],"z":true},"c":"it's"}`)
	if err != nil || !res.Ok {
		t.Fatalf("merge: %+v %v", res, err)
	}
	want := `{"a":{"x":1,"y":[3],"z":true},"b":"keep","big":12345678901234567890,"c":"it's"}`
	if res.NewVal_ != want {
		t.Fatalf("newVal %s\nwant   %s", res.NewVal_, want)
	}
	if got := e.query(t, c, "Global", 0, "SELECT data FROM Doc WHERE id = 1", nil, "").Rows[0][0]; got != want {
		t.Fatalf("stored %s", got)
	}
	if res, err := c.MyMerge(ctx, rctx(1), "Global", "Doc", 0, "id = 2", "", "data", `{"a":1}`); err != nil || res.Ok {
		t.Fatalf("no row: %+v %v", res, err)
	}
	e.query(t, c, "Global", 0, "INSERT INTO Doc VALUES (2, '{}'), (3, 'not json')", nil, "")
	bad := []struct{ where, column, value, want string }{
		{"id = 1", "data", `[1]`, "not a JSON object"},
		{"id = 1", "data", `{"a":`, "not a JSON object"},
		{"id = 3", "data", `{"a":1}`, "not a JSON object"},
		{"id > 0", "data", `{"a":1}`, "more than one row"},
		{"id = 1", "data`; DROP TABLE Doc; --", `{"a":1}`, "not a table or column name"},
	}
	for _, b := range bad {
		if _, err := c.MyMerge(ctx, rctx(1), "Global", "Doc", 0, b.where, "", b.column, b.value); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("merge %s %s: %v, want %q", b.where, b.value, err, b.want)
		}
	}
	if got := e.query(t, c, "Global", 0, "SELECT data FROM Doc WHERE id = 1", nil, "").Rows[0][0]; got != want {
		t.Fatalf("a failed merge changed the row: %s", got)
	}
}

func (e *mysqlEnv) testConcurrentMerges(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	const n = 20
	setup := client(t, "tcp", e.p.addr)
	e.query(t, setup, "UserShard", 4, "UPDATE UserInfo SET data = '{\"n\":{}}' WHERE uid = 4", nil, "")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		c := client(t, "tcp", e.p.addr)
		wg.Go(func() {
			_, err := c.MyMerge(context.Background(), rctx(int64(i+1)), "UserShard", "UserInfo", 4, "uid = 4", "u4", "data",
				fmt.Sprintf(`{"n":{"k%d":%d}}`, i, i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := e.query(t, setup, "UserShard", 4, "SELECT data FROM UserInfo WHERE uid = 4", nil, "").Rows[0][0]
	var doc struct{ N map[string]int }
	if err := json.Unmarshal([]byte(got), &doc); err != nil || len(doc.N) != n {
		t.Fatalf("%d of %d merges kept: %s (%v)", len(doc.N), n, got, err)
	}
}

func (e *mysqlEnv) testBulkExec(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	c := client(t, "tcp", e.p.addr)
	ctx := context.Background()
	three := func(s string) []string { return []string{s, s, s} }
	n, err := c.MyBulkExec(ctx, rctx(1), three("Global"), three("Counter"), []int64{0, 0, 0},
		[]string{"INSERT INTO Counter VALUES (?, 1)", "INSERT INTO Counter VALUES (?, 1)", "UPDATE Counter SET n = n + 1"},
		[][]string{{"a"}, {"b"}, {}}, three(""))
	if err != nil || n != 4 {
		t.Fatalf("bulk: %d %v, want 4", n, err)
	}
	_, err = c.MyBulkExec(ctx, rctx(1), three("Global"), three("Counter"), []int64{0, 0, 0},
		[]string{"INSERT INTO Counter VALUES ('c', 1)", "INSERT INTO Counter VALUES ('a', 1)", "INSERT INTO Counter VALUES ('d', 1)"},
		[][]string{{}, {}, {}}, three(""))
	if err == nil || !strings.Contains(err.Error(), "statement 2 of 3") || !strings.Contains(err.Error(), "Duplicate") {
		t.Fatalf("bulk with a duplicate: %v", err)
	}
	if got := e.query(t, c, "Global", 0, "SELECT GROUP_CONCAT(name ORDER BY name) FROM Counter", nil, "").Rows[0][0]; got != "a,b,c" {
		t.Fatalf("after stopping at the error: %s, want a,b,c", got)
	}
	if _, err := c.MyBulkExec(ctx, rctx(1), []string{"Global"}, nil, nil, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "equal lengths") {
		t.Fatalf("unequal lists: %v", err)
	}
}

func (e *mysqlEnv) testQueryShards(t *testing.T) {
	c := client(t, "tcp", e.p.addr)
	res, err := c.MyQueryShards(context.Background(), rctx(1), "UserShard", "UserInfo", "SELECT uid FROM UserInfo WHERE uid <= ? ORDER BY uid", []string{"6"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Rows) != "[[1] [3] [5] [2] [4] [6]]" {
		t.Fatalf("rows %v, want shard 1's then shard 2's", res.Rows)
	}
}

func (e *mysqlEnv) testServerKilled(t *testing.T) {
	c := client(t, "tcp", e.p.addr)
	ctx := context.Background()
	e.query(t, c, "Global", 0, "SELECT 1", nil, "")
	e.stack.Stop(t, "mysql")
	var last error
	for range 5 {
		_, last = c.MyQuery(ctx, rctx(1), "Global", "t", 0, "SELECT 1", nil, "")
		if last == nil {
			t.Fatal("a query succeeded with MariaDB down")
		}
	}
	if !strings.Contains(last.Error(), "circuit open") {
		t.Fatalf("breaker not open after 5 failures: %v", last)
	}
	e.stack.Restart(t, "mysql")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.MyQuery(ctx, rctx(1), "Global", "t", 0, "SELECT 1", nil, "")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("faed did not recover within 30s of the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
