package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/mysql"
)

// This package's own MariaDB (other packages use other ports).
const mysqlPort = 23306

// fixtureConfig is the fixture's pools (scripts/mysql-fixture.sql) on addr.
func fixtureConfig(addr string) mysql.Config {
	cfg := mysql.DefaultConfig()
	server := func(db string) mysql.ServerConfig {
		return mysql.ServerConfig{Addr: addr, User: "faed", Password: "faed", DB: db}
	}
	cfg.Servers = map[string]mysql.ServerConfig{
		"ShardLookup": server("faed_lookup"),
		"Global":      server("faed_global"),
		"UserShard1":  server("faed_shard1"),
		"UserShard2":  server("faed_shard2"),
	}
	cfg.GlobalPools = []string{"ShardLookup", "Global"}
	cfg.LookupPool = "ShardLookup"
	cfg.LookupTables = map[string]string{"UserShard": "UserLookup"}
	cfg.Breaker = breaker.Config{Failures: 3, Cooldown: 200 * time.Millisecond}
	return cfg
}

type env struct {
	stack *devstack.Stack
	addr  string
}

func (e *env) pools(t *testing.T, mod func(*mysql.Config)) *mysql.Pools {
	t.Helper()
	cfg := fixtureConfig(e.addr)
	if mod != nil {
		mod(&cfg)
	}
	p, err := mysql.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// run runs one statement on a global pool and fails the test on error.
func run(t *testing.T, p *mysql.Pools, pool, sql string, args ...string) *mysql.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := p.Server(ctx, pool, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(ctx, mysql.Classify(sql), sql, args)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res
}

// One MariaDB for the package; subtests that change data reset the fixture.
func TestMySQL(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{MySQL: mysqlPort})
	e := &env{stack: stack, addr: sv.MySQL}
	t.Run("Routing", e.testRouting)
	t.Run("LookupInvalidation", e.testLookupInvalidation)
	t.Run("ValuesAndExec", e.testValuesAndExec)
	t.Run("HostileInput", e.testHostileInput)
	t.Run("Caps", e.testCaps)
	t.Run("SQLErrorsDoNotOpenBreaker", e.testSQLErrors)
	t.Run("Transactions", e.testTransactions)
	t.Run("TransactionLimits", e.testTransactionLimits)
	t.Run("PoolBusy", e.testPoolBusy)
	t.Run("Rebuild", e.testRebuild)
	t.Run("ServerPaused", e.testServerPaused)
	t.Run("ServerKilledAndBack", e.testServerKilled) // last: restarts the server
}

func (e *env) testRouting(t *testing.T) {
	p := e.pools(t, nil)
	ctx := context.Background()
	cases := []struct {
		pool string
		hint int64
		want string
		err  error
	}{
		{"Global", 0, "Global", nil},
		{"ShardLookup", 7, "ShardLookup", nil},
		{"UserShard", 1, "UserShard1", nil},
		{"UserShard", 2, "UserShard2", nil},
		{"UserShard", 999, "UserShard1", nil},
		{"UserShard", 1000, "UserShard2", nil},
		{"UserShard", 0, "", mysql.ErrNoHint},
		{"UserShard", 5000, "", mysql.ErrNoLookupRow},
		{"UserShard", 999999, "", mysql.ErrEntityLocked},
		{"Nope", 1, "", mysql.ErrUnknownPool},
	}
	for _, c := range cases {
		s, err := p.Server(ctx, c.pool, c.hint)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s/%d: err %v, want %v", c.pool, c.hint, err, c.err)
			}
			continue
		}
		if err != nil || s.Name() != c.want {
			t.Errorf("%s/%d: %v %v, want %s", c.pool, c.hint, s, err, c.want)
		}
	}
	// Each shard holds only its own users.
	for uid := int64(1); uid <= 20; uid++ {
		s, err := p.Server(ctx, "UserShard", uid)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Run(ctx, mysql.Classify("SELECT uid, name FROM UserInfo WHERE uid = ?"), "SELECT uid, name FROM UserInfo WHERE uid = ?", []string{fmt.Sprint(uid)})
		if err != nil || len(res.Rows) != 1 || res.Rows[0][1] != fmt.Sprint("u", uid) {
			t.Fatalf("uid %d on %s: %+v %v", uid, s.Name(), res, err)
		}
		other := map[string]string{"UserShard1": "UserShard2", "UserShard2": "UserShard1"}[s.Name()]
		o, _ := p.Server(ctx, "UserShard", map[string]int64{"UserShard1": 1, "UserShard2": 2}[other])
		res, err = o.Run(ctx, mysql.Classify("SELECT uid FROM UserInfo WHERE uid = ?"), "SELECT uid FROM UserInfo WHERE uid = ?", []string{fmt.Sprint(uid)})
		if err != nil || len(res.Rows) != 0 {
			t.Fatalf("uid %d also on %s: %+v %v", uid, other, res, err)
		}
	}
	shards := p.Shards("UserShard")
	if len(shards) != 2 || shards[0].Name() != "UserShard1" || shards[1].Name() != "UserShard2" {
		t.Fatalf("Shards: %v", shards)
	}
}

func (e *env) testLookupInvalidation(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	p := e.pools(t, nil)
	ctx := context.Background()
	if s, _ := p.Server(ctx, "UserShard", 3); s.Name() != "UserShard1" {
		t.Fatalf("entity 3 on %s", s.Name())
	}
	run(t, p, "ShardLookup", "UPDATE UserLookup SET shardId = 2 WHERE entityId = 3")
	if s, _ := p.Server(ctx, "UserShard", 3); s.Name() != "UserShard1" {
		t.Fatalf("mapping not cached: entity 3 on %s before invalidation", s.Name())
	}
	p.Invalidate(3)
	if s, _ := p.Server(ctx, "UserShard", 3); s.Name() != "UserShard2" {
		t.Fatalf("entity 3 on %s after invalidation", s.Name())
	}
	// A locked entity is not cached: unlocking it takes effect at once.
	if _, err := p.Server(ctx, "UserShard", 999999); !errors.Is(err, mysql.ErrEntityLocked) {
		t.Fatal(err)
	}
	run(t, p, "ShardLookup", "UPDATE UserLookup SET shardLock = 0 WHERE entityId = 999999")
	if s, err := p.Server(ctx, "UserShard", 999999); err != nil || s.Name() != "UserShard1" {
		t.Fatalf("unlocked entity: %v %v", s, err)
	}
}

func (e *env) testValuesAndExec(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	p := e.pools(t, nil)
	res := run(t, p, "Global", "INSERT INTO Event (what) VALUES (?), (?)", "a", "b")
	if res.RowsAffected != 2 || res.LastInsertID != 1 || len(res.Cols) != 0 || len(res.Rows) != 0 {
		t.Fatalf("insert: %+v", res)
	}
	res = run(t, p, "Global", "INSERT INTO Event (what) VALUES (NULL)")
	if res.LastInsertID != 3 {
		t.Fatalf("lastInsertId %d", res.LastInsertID)
	}
	res = run(t, p, "Global", "SELECT id, what, 1.5 AS f, NOW() IS NOT NULL AS b FROM Event ORDER BY id")
	want := [][]string{{"1", "a", "1.5", "1"}, {"2", "b", "1.5", "1"}, {"3", "NULL", "1.5", "1"}}
	if fmt.Sprint(res.Cols) != "[id what f b]" || fmt.Sprint(res.Rows) != fmt.Sprint(want) {
		t.Fatalf("select: %q %q", res.Cols, res.Rows)
	}
	res = run(t, p, "Global", "UPDATE Event SET what = ? WHERE id > ?", "z", "1")
	if res.RowsAffected != 2 {
		t.Fatalf("update: %+v", res)
	}
	res = run(t, p, "Global", "SELECT id FROM Event WHERE id > 100")
	if len(res.Rows) != 0 || res.Rows == nil {
		t.Fatalf("empty result: %#v", res.Rows)
	}
}

func (e *env) testHostileInput(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	p := e.pools(t, nil)
	ctx := context.Background()
	g, _ := p.Server(ctx, "Global", 0)
	for _, evil := range []string{`x' OR '1'='1`, `'); DROP TABLE Doc; --`, `\'; DELETE FROM Counter; #`, "a\x00b", "\\", `"`, "é🙂"} {
		run(t, p, "Global", "INSERT INTO Counter (name, n) VALUES (?, 1)", evil)
		res := run(t, p, "Global", "SELECT name FROM Counter WHERE name = ?", evil)
		if len(res.Rows) != 1 || res.Rows[0][0] != evil {
			t.Fatalf("%q came back as %q", evil, res.Rows)
		}
	}
	if res := run(t, p, "Global", "SELECT COUNT(*) FROM Counter WHERE name = ?", `x' OR '1'='1`); res.Rows[0][0] != "1" {
		t.Fatalf("injection matched %s rows", res.Rows[0][0])
	}
	if n := run(t, p, "Global", "SELECT COUNT(*) FROM Counter").Rows[0][0]; n != "7" {
		t.Fatalf("%s counters, want 7", n)
	}
	bad := []struct {
		sql  string
		args []string
		why  string
	}{
		{"SELECT 1; DELETE FROM Counter", nil, "multi-statement"},
		{"DELETE FROM Counter WHERE name = 'x'; DELETE FROM Counter", nil, "multi-statement exec"},
		{"DELETE FROM Counter WHERE name = ?; DELETE FROM Counter", []string{"x"}, "multi-statement with args"},
		{"LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE Doc", nil, "LOAD DATA LOCAL"},
		{"SELECT * FROM Counter WHERE name = ? AND n = ?", []string{"x"}, "too few args"},
		{"SELECT * FROM Counter WHERE name = ?", []string{"x", "y"}, "too many args"},
	}
	for _, b := range bad {
		_, err := g.Run(ctx, mysql.Classify(b.sql), b.sql, b.args)
		if err == nil {
			t.Errorf("%s accepted: %s", b.why, b.sql)
		}
		t.Logf("%s: %v", b.why, err)
	}
	if n := run(t, p, "Global", "SELECT COUNT(*) FROM Counter").Rows[0][0]; n != "7" {
		t.Fatalf("%s counters after refused statements, want 7", n)
	}
}

func (e *env) testCaps(t *testing.T) {
	p := e.pools(t, func(c *mysql.Config) { c.MaxRows = 5; c.MaxResultBytes = 100 })
	ctx := context.Background()
	s, _ := p.Server(ctx, "ShardLookup", 0)
	if _, err := s.Run(ctx, mysql.Classify("SELECT entityId FROM UserLookup LIMIT 6"), "SELECT entityId FROM UserLookup LIMIT 6", nil); !errors.Is(err, mysql.ErrTooLarge) {
		t.Fatalf("6 rows with max_rows 5: %v", err)
	}
	if res, err := s.Run(ctx, mysql.Classify("SELECT entityId FROM UserLookup LIMIT 5"), "SELECT entityId FROM UserLookup LIMIT 5", nil); err != nil || len(res.Rows) != 5 {
		t.Fatalf("5 rows: %v", err)
	}
	if _, err := s.Run(ctx, mysql.Classify("SELECT REPEAT('x', 101)"), "SELECT REPEAT('x', 101)", nil); !errors.Is(err, mysql.ErrTooLarge) {
		t.Fatalf("101 bytes with max_result_bytes 100: %v", err)
	}
	results := []*mysql.Result{{Rows: [][]string{{"1"}, {"2"}, {"3"}}}, {Rows: [][]string{{"4"}, {"5"}, {"6"}}}}
	if _, err := p.Concat(results); !errors.Is(err, mysql.ErrTooLarge) {
		t.Fatalf("joined 6 rows: %v", err)
	}
}

func (e *env) testSQLErrors(t *testing.T) {
	p := e.pools(t, nil)
	ctx := context.Background()
	s, _ := p.Server(ctx, "Global", 0)
	for range 10 {
		if _, err := s.Run(ctx, mysql.Classify("SELEC nonsense"), "SELEC nonsense", nil); err == nil || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("syntax error: %v", err)
		}
		if _, err := s.Run(ctx, mysql.Classify("INSERT INTO Counter VALUES ('dup', 1), ('dup', 2)"), "INSERT INTO Counter VALUES ('dup', 1), ('dup', 2)", nil); err == nil || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("duplicate key: %v", err)
		}
	}
	if _, err := s.Run(ctx, mysql.Classify("SELECT 1"), "SELECT 1", nil); err != nil {
		t.Fatalf("after SQL errors: %v", err)
	}
}

func (e *env) testTransactions(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	p := e.pools(t, nil)
	ctx := context.Background()
	g, _ := p.Server(ctx, "Global", 0)
	count := func() string { return run(t, p, "Global", "SELECT COUNT(*) FROM Event").Rows[0][0] }

	tx, err := g.Begin(ctx, "START TRANSACTION")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Run(ctx, mysql.Classify("INSERT INTO Event (what) VALUES (?)"), "INSERT INTO Event (what) VALUES (?)", []string{"in tx"}); err != nil {
		t.Fatal(err)
	}
	if res, _ := tx.Run(ctx, mysql.Classify("SELECT COUNT(*) FROM Event"), "SELECT COUNT(*) FROM Event", nil); res.Rows[0][0] != "1" {
		t.Fatal("the transaction does not see its own insert")
	}
	if n := count(); n != "0" {
		t.Fatalf("another connection sees %s uncommitted rows", n)
	}
	if err := tx.End(ctx, mysql.Classify("COMMIT"), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != "1" {
		t.Fatalf("after COMMIT: %s rows", n)
	}

	for _, end := range []string{"ROLLBACK", "close"} {
		tx, err := g.Begin(ctx, "BEGIN")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Run(ctx, mysql.Classify("INSERT INTO Event (what) VALUES ('gone')"), "INSERT INTO Event (what) VALUES ('gone')", nil); err != nil {
			t.Fatal(err)
		}
		if end == "close" {
			tx.Close()
		} else if err := tx.End(ctx, mysql.Classify(end), end); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != "1" {
			t.Fatalf("after %s: %s rows", end, n)
		}
		if _, err := tx.Run(ctx, mysql.Classify("SELECT 1"), "SELECT 1", nil); !errors.Is(err, mysql.ErrTxEnded) {
			t.Fatalf("statement after %s: %v", end, err)
		}
	}
	if n := p.OpenTransactions(); n != 0 {
		t.Fatalf("%d transactions still open", n)
	}
}

func (e *env) testTransactionLimits(t *testing.T) {
	t.Cleanup(func() { e.stack.ResetMySQL(t) })
	p := e.pools(t, func(c *mysql.Config) { c.MaxTransactions = 2; c.TxTimeout = 300 * time.Millisecond })
	ctx := context.Background()
	g, _ := p.Server(ctx, "Global", 0)
	a, err1 := g.Begin(ctx, "BEGIN")
	b, err2 := g.Begin(ctx, "BEGIN")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := g.Begin(ctx, "BEGIN"); !errors.Is(err, mysql.ErrTxLimit) {
		t.Fatalf("third transaction: %v", err)
	}
	if _, err := a.Run(ctx, mysql.Classify("INSERT INTO Event (what) VALUES ('late')"), "INSERT INTO Event (what) VALUES ('late')", nil); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// a stays open past tx_timeout: faed rolls it back and says so.
	deadline := time.Now().Add(30 * time.Second)
	for p.OpenTransactions() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.End(ctx, mysql.Classify("COMMIT"), "COMMIT"); !errors.Is(err, mysql.ErrTxEnded) || !strings.Contains(err.Error(), "tx_timeout") {
		t.Fatalf("COMMIT after tx_timeout: %v", err)
	}
	if n := run(t, p, "Global", "SELECT COUNT(*) FROM Event").Rows[0][0]; n != "0" {
		t.Fatalf("timed-out transaction left %s rows", n)
	}
}

func (e *env) testPoolBusy(t *testing.T) {
	p := e.pools(t, func(c *mysql.Config) { c.MaxOpenConns = 1; c.MaxIdleConns = 1 })
	ctx := context.Background()
	g, _ := p.Server(ctx, "Global", 0)
	tx, err := g.Begin(ctx, "BEGIN")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Run(ctx, mysql.Classify("SELECT 1"), "SELECT 1", nil); !errors.Is(err, mysql.ErrPoolBusy) {
		t.Fatalf("with the only connection pinned: %v", err)
	}
	tx.Close()
	if _, err := g.Run(ctx, mysql.Classify("SELECT 1"), "SELECT 1", nil); err != nil {
		t.Fatalf("after the pin ended: %v", err)
	}
}

func (e *env) testServerKilled(t *testing.T) {
	p := e.pools(t, nil)
	ctx := context.Background()
	g, _ := p.Server(ctx, "Global", 0)
	run(t, p, "Global", "SELECT 1") // a pooled connection, about to go stale
	e.stack.Stop(t, "mysql")
	var errs []error
	for range 6 {
		cctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		_, err := g.Run(cctx, mysql.Classify("SELECT 1"), "SELECT 1", nil)
		cancel()
		errs = append(errs, err)
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded with the server down", i)
		}
	}
	if !errors.Is(errs[len(errs)-1], breaker.ErrOpen) {
		t.Fatalf("breaker not open after %d failures: %v", len(errs), errs)
	}
	e.stack.Restart(t, "mysql")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := g.Run(ctx, mysql.Classify("SELECT 1"), "SELECT 1", nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
