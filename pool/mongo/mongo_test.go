package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/mongo"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// This package's own MongoDB-wire server (other packages use other ports).
const mongoPort = 23017

func raw(t *testing.T, v any) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type env struct {
	stack *devstack.Stack
	uri   string
}

// pools has server "default" (db faed_test) and, for the standard
// strategy, db1 and db2 as two databases of the same server.
func (e *env) pools(t *testing.T, strategy string) *mongo.Pools {
	t.Helper()
	cfg := mongo.DefaultConfig()
	cfg.ShardStrategy = strategy
	cfg.Breaker = breaker.Config{Failures: 3, Cooldown: 200 * time.Millisecond}
	cfg.MaxFindAll = 50
	cfg.Servers = map[string]mongo.ServerConfig{
		"default": {URI: e.uri, DB: "faed_test"},
		"db1":     {URI: e.uri, DB: "faed_db1"},
		"db2":     {URI: e.uri, DB: "faed_db2"},
	}
	p, err := mongo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestMongo(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{Mongo: mongoPort})
	e := &env{stack: stack, uri: sv.Mongo}
	t.Run("CRUD", e.testCRUD)
	t.Run("FindAll", e.testFindAll)
	t.Run("CounterUnderConcurrency", e.testCounter)
	t.Run("ShardSelection", e.testShards)
	t.Run("ServerPausedThenKilled", e.testServerPausedThenKilled)
	t.Run("ServerKilledAndBack", e.testServerKilled) // last: restarts the server
}

func (e *env) testCRUD(t *testing.T) {
	p := e.pools(t, "legacy")
	ctx := context.Background()
	s, err := p.Pick("db.default", 99)
	if err != nil {
		t.Fatal(err)
	}
	tbl := fmt.Sprint("crud", time.Now().UnixNano())
	if err := s.Insert(ctx, tbl, []bson.Raw{raw(t, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}, {Key: "tag", Value: "x"}})}); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, tbl, []bson.Raw{raw(t, bson.M{"_id": "b", "n": 2}), raw(t, bson.M{"_id": "c", "n": 3})}); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, tbl, []bson.Raw{raw(t, bson.M{"_id": "a"})}); err == nil {
		t.Fatal("duplicate _id accepted")
	}
	d, err := s.FindOne(ctx, tbl, raw(t, bson.M{"_id": "a"}), raw(t, bson.M{"tag": 1, "_id": 0}))
	if err != nil || d.String() != `{"tag": "x"}` {
		t.Fatalf("projected find: %v %v", d, err)
	}
	if _, err := s.FindOne(ctx, tbl, raw(t, bson.M{"_id": "zz"}), nil); !errors.Is(err, mongo.ErrNotFound) {
		t.Fatalf("missing doc: %v", err)
	}
	if n, err := s.Count(ctx, tbl, raw(t, bson.M{"n": bson.M{"$gte": 2}})); err != nil || n != 2 {
		t.Fatalf("count: %d %v", n, err)
	}
	if ok, err := s.Update(ctx, tbl, raw(t, bson.M{"_id": "b"}), raw(t, bson.M{"$inc": bson.M{"n": 10}}), false); !ok || err != nil {
		t.Fatalf("update: %v %v", ok, err)
	}
	if ok, err := s.Update(ctx, tbl, raw(t, bson.M{"_id": "nope"}), raw(t, bson.M{"$set": bson.M{"n": 0}}), false); ok || err != nil {
		t.Fatalf("update of nothing: %v %v", ok, err)
	}
	if ok, err := s.Update(ctx, tbl, raw(t, bson.M{"_id": "c"}), raw(t, bson.M{"whole": true}), false); !ok || err != nil {
		t.Fatalf("replacement: %v %v", ok, err)
	}
	if d, _ := s.FindOne(ctx, tbl, raw(t, bson.M{"_id": "c"}), nil); d.String() != `{"_id": "c","whole": true}` {
		t.Fatalf("after replacement: %v", d)
	}
	if ok, err := s.Update(ctx, tbl, raw(t, bson.M{"_id": "u"}), raw(t, bson.M{"$set": bson.M{"n": 7}}), true); !ok || err != nil {
		t.Fatalf("upsert: %v %v", ok, err)
	}
	if d, _ := s.FindOne(ctx, tbl, raw(t, bson.M{"_id": "u"}), nil); d.Lookup("n").Int32() != 7 {
		t.Fatalf("upserted: %v", d)
	}
	if ok, err := s.Delete(ctx, tbl, raw(t, bson.M{"_id": "a"})); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := s.Delete(ctx, tbl, raw(t, bson.M{"_id": "a"})); ok || err != nil {
		t.Fatalf("delete again: %v %v", ok, err)
	}
	if _, err := s.Update(ctx, tbl, raw(t, bson.M{"_id": "b"}), raw(t, bson.M{"$bogus": bson.M{"n": 1}}), false); err == nil {
		t.Fatal("unknown operator accepted")
	}
	old, err := s.FindAndModify(ctx, tbl, raw(t, bson.M{"_id": "b"}), nil, false, true, false)
	if err != nil || old.Lookup("n").Int32() != 12 {
		t.Fatalf("remove: %v %v", old, err)
	}
	if d, err := s.FindAndModify(ctx, tbl, raw(t, bson.M{"_id": "b"}), raw(t, bson.M{"$set": bson.M{"n": 1}}), false, false, true); d != nil || err != nil {
		t.Fatalf("find-and-modify of nothing: %v %v", d, err)
	}
}

func (e *env) testFindAll(t *testing.T) {
	p := e.pools(t, "legacy")
	ctx := context.Background()
	s, _ := p.Pick("default", 0)
	tbl := fmt.Sprint("all", time.Now().UnixNano())
	var docs []bson.Raw
	for i := range 60 {
		docs = append(docs, raw(t, bson.M{"_id": fmt.Sprintf("k%02d", i), "n": i % 7, "i": i}))
	}
	if err := s.Insert(ctx, tbl, docs); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindAll(ctx, tbl, raw(t, bson.M{"n": 3}), raw(t, bson.M{"i": 1}), 3, 1, []string{"-i"})
	if err != nil {
		t.Fatal(err)
	}
	var is []int32
	for _, d := range got {
		if _, err := d.LookupErr("n"); err == nil {
			t.Fatalf("projection ignored: %v", d)
		}
		is = append(is, d.Lookup("i").Int32())
	}
	// n == 3: i = 3, 10, 17, 24, 31, 38, 45, 52, 59; descending, skip 1, limit 3.
	if fmt.Sprint(is) != "[52 45 38]" {
		t.Fatalf("sorted/skipped/limited: %v", is)
	}
	if _, err := s.FindAll(ctx, tbl, nil, nil, 0, 0, nil); !errors.Is(err, mongo.ErrTooMany) {
		t.Fatalf("60 documents with max_find_all 50: %v", err)
	}
	if got, err := s.FindAll(ctx, tbl, nil, nil, 0, 10, []string{"i"}); err != nil || len(got) != 50 || got[0].Lookup("i").Int32() != 10 {
		t.Fatalf("exactly max_find_all: %d %v", len(got), err)
	}
}

func (e *env) testCounter(t *testing.T) {
	p := e.pools(t, "legacy")
	s, _ := p.Pick("default", 0)
	tbl := fmt.Sprint("counter", time.Now().UnixNano())
	const workers, each = 10, 10
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				d, err := s.FindAndModify(context.Background(), tbl, raw(t, bson.M{"_id": "c"}),
					raw(t, bson.M{"$inc": bson.M{"n": 1}}), true, false, true)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seen = append(seen, int(d.Lookup("n").AsInt64()))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Ints(seen)
	for i, n := range seen {
		if n != i+1 {
			t.Fatalf("counter values %v: lost or repeated increments", seen)
		}
	}
}

func (e *env) testShards(t *testing.T) {
	ctx := context.Background()
	std := e.pools(t, "standard")
	tbl := fmt.Sprint("shards", time.Now().UnixNano())
	for _, shard := range []int32{5, 150000} {
		s, err := std.Pick("db", shard)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Insert(ctx, tbl, []bson.Raw{raw(t, bson.M{"_id": fmt.Sprint(shard)})}); err != nil {
			t.Fatal(err)
		}
	}
	legacy := e.pools(t, "legacy")
	for name, want := range map[string]string{"db1": "5", "db2": "150000"} {
		s, err := legacy.Pick(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.FindAll(ctx, tbl, nil, nil, 0, 0, nil)
		if err != nil || len(all) != 1 || all[0].Lookup("_id").StringValue() != want {
			t.Fatalf("%s holds %v %v, want only %s", name, all, err, want)
		}
	}
	if _, err := std.Pick("db", 300000); !errors.Is(err, mongo.ErrNoServer) {
		t.Fatalf("shard on an unconfigured server: %v", err)
	}
}

func (e *env) testServerKilled(t *testing.T) {
	p := e.pools(t, "legacy")
	ctx := context.Background()
	s, _ := p.Pick("default", 0)
	if _, err := s.Count(ctx, "k", nil); err != nil {
		t.Fatal(err)
	}
	e.stack.Stop(t, "mongo")
	var last error
	for range 5 {
		cctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		_, last = s.Count(cctx, "k", nil)
		cancel()
		if last == nil {
			t.Fatal("count succeeded with the server down")
		}
	}
	if !errors.Is(last, breaker.ErrOpen) {
		t.Fatalf("breaker not open after 5 failures: %v", last)
	}
	e.stack.Restart(t, "mongo")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := s.Count(ctx, "k", nil); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
