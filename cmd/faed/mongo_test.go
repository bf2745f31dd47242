package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// mongoConf is a [mongo] section with server "default" on uri.
func mongoConf(uri string) string {
	return fmt.Sprintf("[mongo]\n[mongo.servers.default]\nuri = %q\ndb = \"faed_e2e\"\n[mongo.breaker]\nfailures = 3\ncooldown = \"200ms\"\n", uri)
}

func bsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := bson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func docString(t *testing.T, b []byte) string {
	t.Helper()
	if len(b) == 0 {
		return ""
	}
	if err := bson.Raw(b).Validate(); err != nil {
		t.Fatalf("reply is not BSON: %v", err)
	}
	return bson.Raw(b).String()
}

// Every mg_* method through faed against the MongoDB-wire server.
func TestMongoThroughFaed(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{Mongo: 18017})
	p := startFaed(t, t.TempDir(), mongoConf(sv.Mongo))
	c := client(t, "tcp", p.addr)
	ctx, rc := context.Background(), rctx(1)
	tbl := fmt.Sprint("e2e", time.Now().UnixNano())
	q := func(v any) []byte { return bsonOf(t, v) }

	if ok, err := c.MgInsert(ctx, rc, "default", tbl, 0, q(bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}, {Key: "s", Value: "x"}})); !ok || err != nil {
		t.Fatalf("insert: %v %v", ok, err)
	}
	if ok, err := c.MgInserts(ctx, rc, "default", tbl, 0, [][]byte{q(bson.M{"_id": "b", "n": 2}), q(bson.M{"_id": "c", "n": 3})}); !ok || err != nil {
		t.Fatalf("inserts: %v %v", ok, err)
	}
	if _, err := c.MgInsert(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "a"})); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("duplicate _id: %v", err)
	}
	d, err := c.MgFindOne(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "a"}), q(bson.M{"s": 1, "_id": 0}))
	if err != nil || docString(t, d) != `{"s": "x"}` {
		t.Fatalf("find_one with projection: %s %v", docString(t, d), err)
	}
	if d, err := c.MgFindOne(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "a"}), q(bson.M{})); err != nil || !strings.Contains(docString(t, d), `"n"`) {
		t.Fatalf("find_one, 5-byte fields = no projection: %s %v", docString(t, d), err)
	}
	var nf *rpc.TMongoNotFound
	if _, err := c.MgFindOne(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "zz"}), nil); !errors.As(err, &nf) {
		t.Fatalf("find_one miss: %v, want TMongoNotFound", err)
	}
	all, err := c.MgFindAll(ctx, rc, "default", tbl, 0, q(bson.M{}), nil, 2, 0, []string{"-n"})
	if err != nil || len(all) != 2 || !strings.Contains(docString(t, all[0]), `"c"`) {
		t.Fatalf("find_all sorted desc, limit 2: %d %v", len(all), err)
	}
	if d, err := c.MgFindID(ctx, rc, "default", tbl, 0, q(bson.M{"id": "b"})); err != nil || !strings.Contains(docString(t, d), `"b"`) {
		t.Fatalf("find_id: %s %v", docString(t, d), err)
	}
	if d, err := c.MgFindID(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "zz"})); err != nil || len(d) != 0 {
		t.Fatalf("find_id miss: %q %v, want empty", d, err)
	}
	if n, err := c.MgCount(ctx, rc, "default", tbl, 0, q(bson.M{"n": bson.M{"$gt": 1}})); n != 2 || err != nil {
		t.Fatalf("count: %d %v", n, err)
	}
	if ok, err := c.MgUpdate(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "a"}), q(bson.M{"$inc": bson.M{"n": 5}})); !ok || err != nil {
		t.Fatalf("update: %v %v", ok, err)
	}
	if ok, err := c.MgUpdate(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "none"}), q(bson.M{"$inc": bson.M{"n": 5}})); ok || err != nil {
		t.Fatalf("update nothing: %v %v", ok, err)
	}
	if ok, err := c.MgUpsert(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "u"}), q(bson.M{"$set": bson.M{"n": 9}})); !ok || err != nil {
		t.Fatalf("upsert: %v %v", ok, err)
	}
	if ok, err := c.MgUpsertID(ctx, rc, "default", tbl, 0, 42, q(bson.M{"$set": bson.M{"v": "int id"}})); !ok || err != nil {
		t.Fatalf("upsert_id: %v %v", ok, err)
	}
	if ok, err := c.MgUpdateID(ctx, rc, "default", tbl, 0, 42, q(bson.M{"$set": bson.M{"v": "changed"}})); !ok || err != nil {
		t.Fatalf("update_id: %v %v", ok, err)
	}
	if ok, err := c.MgUpdateID(ctx, rc, "default", tbl, 0, 43, q(bson.M{"$set": bson.M{"v": "x"}})); ok || err != nil {
		t.Fatalf("update_id of nothing: %v %v", ok, err)
	}
	if d, _ := c.MgFindID(ctx, rc, "default", tbl, 0, q(bson.M{"_id": int32(42)})); !strings.Contains(docString(t, d), `"changed"`) {
		t.Fatalf("after update_id: %s", docString(t, d))
	}
	d, err = c.MgFindAndModify(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "a"}), q(bson.M{"$inc": bson.M{"n": 1}}), false, false, true)
	if err != nil || bson.Raw(d).Lookup("n").AsInt64() != 7 {
		t.Fatalf("find_and_modify returnNew: %s %v", docString(t, d), err)
	}
	if d, err := c.MgFindAndModify(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "c"}), nil, false, true, false); err != nil || !strings.Contains(docString(t, d), `"c"`) {
		t.Fatalf("find_and_modify remove: %s %v", docString(t, d), err)
	}
	if ok, err := c.MgDelete(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "b"})); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := c.MgDelete(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "b"})); ok || err != nil {
		t.Fatalf("delete again: %v %v", ok, err)
	}

	// Bad BSON, unknown pools and bad operators are clear errors; the
	// connection stays usable.
	bad := []struct {
		name string
		call func() error
		want string
	}{
		{"truncated query", func() error { _, err := c.MgCount(ctx, rc, "default", tbl, 0, []byte{9, 0, 0, 0, 2}); return err }, "not a BSON document"},
		{"garbage doc", func() error { _, err := c.MgInsert(ctx, rc, "default", tbl, 0, []byte("hello, world")); return err }, "not a BSON document"},
		{"length lies", func() error {
			b := q(bson.M{"a": 1})
			b[0] = 200
			_, err := c.MgFindOne(ctx, rc, "default", tbl, 0, b, nil)
			return err
		}, "not a BSON document"},
		{"unknown pool", func() error { _, err := c.MgCount(ctx, rc, "nope", tbl, 0, nil); return err }, "no such mongo server"},
		{"bad operator", func() error {
			_, err := c.MgUpdate(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "a"}), q(bson.M{"$nope": bson.M{"n": 1}}))
			return err
		}, "mongo default"},
		{"no docs", func() error { _, err := c.MgInserts(ctx, rc, "default", tbl, 0, nil); return err }, "none given"},
	}
	for _, b := range bad {
		err := b.call()
		var ae thrift.TApplicationException
		if !errors.As(err, &ae) || ae.TypeId() != thrift.INTERNAL_ERROR || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v, want INTERNAL_ERROR with %q", b.name, err, b.want)
		}
	}
	if v, err := c.Noop(ctx, 4); err != nil || v != 4 {
		t.Fatalf("connection not usable after errors: %v", err)
	}

	// findAndModify as a counter: no increment lost under concurrency.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		cl := client(t, "tcp", p.addr)
		wg.Go(func() {
			for range 5 {
				if _, err := cl.MgFindAndModify(ctx, rctx(int64(i+1)), "default", tbl, 0, q(bson.M{"_id": "ctr"}),
					q(bson.M{"$inc": bson.M{"n": 1}}), true, false, true); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if d, _ := c.MgFindID(ctx, rc, "default", tbl, 0, q(bson.M{"_id": "ctr"})); bson.Raw(d).Lookup("n").AsInt64() != 40 {
		t.Fatalf("counter after 40 increments: %s", docString(t, d))
	}

	// The server killed: fast errors; back: faed recovers by itself.
	stack.Stop(t, "mongo")
	var last error
	for range 5 {
		if _, last = c.MgCount(ctx, rc, "default", tbl, 0, nil); last == nil {
			t.Fatal("count succeeded with the server down")
		}
	}
	if !strings.Contains(last.Error(), "circuit open") {
		t.Fatalf("breaker not open: %v", last)
	}
	stack.Restart(t, "mongo")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.MgCount(ctx, rc, "default", tbl, 0, nil); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
