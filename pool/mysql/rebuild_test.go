package mysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/faed/faed/pool/mysql"
)

// Rebuild keeps the servers when only routing changes, rebuilds them when
// a limit changes, and a transaction open on a retired server commits
// after the retired pools are closed.
func (e *env) testRebuild(t *testing.T) {
	cfg := fixtureConfig(e.addr)
	p, err := mysql.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server := func(p *mysql.Pools, pool string, hint int64) *mysql.Server {
		t.Helper()
		s, err := p.Server(ctx, pool, hint)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	shard1 := server(p, "UserShard", 1)
	tx, err := shard1.Begin(ctx, "BEGIN")
	if err != nil {
		t.Fatal(err)
	}

	routing := fixtureConfig(e.addr)
	routing.LookupCacheTTL = time.Hour
	same, retired, err := p.Rebuild(routing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if server(same, "UserShard", 1) != shard1 || server(same, "Global", 0) != server(p, "Global", 0) {
		t.Error("a change of routing settings rebuilt a server")
	}
	if len(retired.Stats()) != 0 {
		t.Errorf("retired %v", retired.Stats())
	}
	if same.OpenTransactions() != 1 {
		t.Errorf("open transactions after the rebuild = %d, want 1", same.OpenTransactions())
	}

	limits := fixtureConfig(e.addr)
	limits.MaxRows = 500
	delete(limits.Servers, "Global")
	limits.GlobalPools = []string{"ShardLookup"}
	next, retired, err := same.Rebuild(limits, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if server(next, "UserShard", 1) == shard1 {
		t.Error("a changed limit kept the server")
	}
	if got := len(retired.Stats()); got != 4 {
		t.Errorf("%d servers retired, want 4", got)
	}
	if err := retired.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := tx.Run(ctx, mysql.Query, "SELECT COUNT(*) FROM UserInfo", nil)
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("in a transaction on a closed, retired server: %+v %v", res, err)
	}
	if err := tx.End(ctx, mysql.Commit, "COMMIT"); err != nil {
		t.Fatalf("commit on a retired server: %v", err)
	}
	if next.OpenTransactions() != 0 {
		t.Errorf("open transactions after the commit = %d", next.OpenTransactions())
	}
	if _, err := next.Server(ctx, "Global", 0); err == nil {
		t.Error("a removed global pool still resolves")
	}
	if res := run(t, next, "ShardLookup", "SELECT 1"); len(res.Rows) != 1 {
		t.Fatalf("the rebuilt pools do not serve: %+v", res)
	}
}
