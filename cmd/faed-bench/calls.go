package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/proxy"
)

// keyPool is how many distinct keys a worker's keyed calls cycle through.
const keyPool = 1024

// msg is one Thrift call: the method name and its generated argument struct.
type msg struct {
	method string
	args   thrift.TStruct
	// void: the method returns nothing, so a reply without a result field
	// is a success rather than a missing result.
	void bool
}

// call is one kind of load -call accepts.
type call struct {
	// msgs lists what worker w sends, cycled in order; each is encoded once.
	// Keyed calls take their keys from key.
	msgs func(w int, key keyer) []msg
	// setup, if set, names a call whose messages each worker sends once
	// before measuring (lc_get needs its keys to exist).
	setup string
}

// calls is the table of -call values; adding a call is one entry.
var calls = map[string]call{
	"noop": {msgs: one(func(int) msg { return msg{method: "noop", args: &rpc.FunServantNoopArgs{X: 42}} })},
	"ping": {msgs: one(func(w int) msg { return msg{method: "ping", args: &rpc.FunServantPingArgs{Rctx: benchCtx(w)}} })},
	"id_next": {msgs: one(func(w int) msg {
		return msg{method: "id_next", args: &rpc.FunServantIDNextArgs{Rctx: benchCtx(w)}}
	})},
	"lc_set": {msgs: perKey(func(w int, k string) msg {
		return msg{method: "lc_set", args: &rpc.FunServantLcSetArgs{Rctx: benchCtx(w), Key: k, Value: []byte(strings.Repeat("v", 100))}}
	})},
	"lc_get": {setup: "lc_set", msgs: perKey(func(w int, k string) msg {
		return msg{method: "lc_get", args: &rpc.FunServantLcGetArgs{Rctx: benchCtx(w), Key: k}}
	})},
	// lock then unlock one key per worker: every lock succeeds and the
	// server's lock table stays small.
	"lock": {msgs: func(w int, key keyer) []msg {
		k := key(w, 0)
		return []msg{
			{method: "lock", args: &rpc.FunServantLockArgs{Rctx: benchCtx(w), Reason: "bench", Key: k}},
			{method: "unlock", args: &rpc.FunServantUnlockArgs{Rctx: benchCtx(w), Reason: "bench", Key: k}, void: true},
		}
	}},
	// Through faed to the pool "default"; -direct sends the same GETs
	// straight to the backend for comparison.
	"rd_set": {msgs: perKey(func(w int, k string) msg {
		return msg{method: "rd_call", args: &rpc.FunServantRdCallArgs{Rctx: benchCtx(w), Cmd: "SET", Pool: "default", KeysAndArgs_: []string{k, strings.Repeat("v", 100)}}}
	})},
	"rd_get": {setup: "rd_set", msgs: perKey(func(w int, k string) msg {
		return msg{method: "rd_call", args: &rpc.FunServantRdCallArgs{Rctx: benchCtx(w), Cmd: "GET", Pool: "default", KeysAndArgs_: []string{k}}}
	})},
	"mc_set": {msgs: perKey(func(w int, k string) msg {
		return msg{method: "mc_set", args: &rpc.FunServantMcSetArgs{Rctx: benchCtx(w), Pool: "default", Key: k, Value: &rpc.TMemcacheData{Data: []byte(strings.Repeat("v", 100))}}}
	})},
	"mc_get": {setup: "mc_set", msgs: perKey(func(w int, k string) msg {
		return msg{method: "mc_get", args: &rpc.FunServantMcGetArgs{Rctx: benchCtx(w), Pool: "default", Key: k}}
	})},
	// my_query of one row by primary key on pool "Global" (table Doc,
	// rows 1..keyPool, which the caller loads): my_hit names a cacheKey
	// (the setup pass fills the cache), my_miss names none, so every call
	// reaches MySQL. -direct mysql runs the same SELECTs through
	// go-sql-driver.
	"my_hit": {setup: "my_hit", msgs: perDoc(func(w, id int) msg {
		return myDocQuery(w, id, fmt.Sprint("bench:doc:", id))
	})},
	"my_miss": {msgs: perDoc(func(w, id int) msg { return myDocQuery(w, id, "") })},
}

// myDocSQL is the primary-key SELECT of the my_* calls and their baseline.
const myDocSQL = "SELECT id, data FROM Doc WHERE id = ?"

func myDocQuery(w, id int, cacheKey string) msg {
	return msg{method: "my_query", args: &rpc.FunServantMyQueryArgs{Rctx: benchCtx(w), Pool: "Global", Table: "Doc",
		Sql: myDocSQL, Argv: []string{fmt.Sprint(id)}, CacheKey: cacheKey}}
}

// perDoc cycles a worker through Doc ids 1..keyPool, from its own start.
func perDoc(f func(w, id int) msg) func(int, keyer) []msg {
	return func(w int, _ keyer) []msg {
		out := make([]msg, keyPool)
		for i := range out {
			out[i] = f(w, (w*97+i)%keyPool+1)
		}
		return out
	}
}

// benchCtx is a valid Context (non-zero rid, non-empty reason), one rid per
// worker so that unlock matches its own lock.
func benchCtx(w int) *rpc.Context {
	return &rpc.Context{Rid: int64(w + 1), Reason: "faed-bench"}
}

// keyer names worker w's i-th key.
type keyer func(w, i int) string

func key(w, i int) string { return fmt.Sprintf("bench:%d:%d", w, i%keyPool) }

// ownedKeys are keys whose owner, on a ring over members, is owner: with
// them a run measures calls the node at -addr serves itself (-owner = the
// node) or forwards (-owner = another member).
func ownedKeys(owner string, members []string) keyer {
	ring := proxy.NewRing(members)
	return func(w, i int) string {
		for n := 0; ; n++ {
			k := fmt.Sprintf("bench:%d:%d:%d", w, i%keyPool, n)
			if ring.Owner(k) == owner {
				return k
			}
		}
	}
}

func one(f func(w int) msg) func(int, keyer) []msg {
	return func(w int, _ keyer) []msg { return []msg{f(w)} }
}

func perKey(f func(w int, k string) msg) func(int, keyer) []msg {
	return func(w int, key keyer) []msg {
		out := make([]msg, keyPool)
		for i := range out {
			out[i] = f(w, key(w, i))
		}
		return out
	}
}

func callNames() string {
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}
