package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// keyPool is how many distinct keys the keyed calls cycle through.
const keyPool = 1024

// call is one kind of request the bench can send: argument structs to
// encode once, cycled through in order.
type call struct {
	method string
	args   func(worker, i int) thrift.TStruct
	// setup, if set, is sent once over every key before measuring (e.g.
	// lc_get needs the keys to exist).
	setup string
}

func benchCtx(worker int) *rpc.Context {
	return &rpc.Context{Rid: int64(worker + 1), Reason: "faed-bench"}
}

func key(worker, i int) string { return fmt.Sprintf("bench:%d:%d", worker, i%keyPool) }

// calls is the table of what -call accepts; adding a call is one entry.
var calls = map[string]call{
	"noop": {method: "noop", args: func(_, _ int) thrift.TStruct { return &rpc.FunServantNoopArgs{X: 42} }},
	"ping": {method: "ping", args: func(w, _ int) thrift.TStruct { return &rpc.FunServantPingArgs{Rctx: benchCtx(w)} }},
	"id_next": {method: "id_next", args: func(w, _ int) thrift.TStruct {
		return &rpc.FunServantIDNextArgs{Rctx: benchCtx(w)}
	}},
	"lc_set": {method: "lc_set", args: func(w, i int) thrift.TStruct {
		return &rpc.FunServantLcSetArgs{Rctx: benchCtx(w), Key: key(w, i), Value: []byte(strings.Repeat("v", 100))}
	}},
	"lc_get": {method: "lc_get", setup: "lc_set", args: func(w, i int) thrift.TStruct {
		return &rpc.FunServantLcGetArgs{Rctx: benchCtx(w), Key: key(w, i)}
	}},
	// lock alternates lock and unlock of one key per worker: every call
	// succeeds and the table stays small.
	"lock": {method: "lock", args: func(w, i int) thrift.TStruct {
		return &rpc.FunServantLockArgs{Rctx: benchCtx(w), Reason: "bench", Key: key(w, 0)}
	}},
}

func callNames() string {
	names := make([]string, 0, len(calls))
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}

// wire is how requests are framed and encoded.
type wire struct {
	framed  bool
	compact bool
}

func (w wire) protocol(t thrift.TTransport) thrift.TProtocol {
	if w.compact {
		return thrift.NewTCompactProtocolConf(t, nil)
	}
	return thrift.NewTBinaryProtocolConf(t, nil)
}

// encode returns one complete request message on the wire.
func (w wire) encode(method string, seq int32, args thrift.TStruct) ([]byte, error) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := w.protocol(buf)
	if err := p.WriteMessageBegin(ctx, method, thrift.CALL, seq); err != nil {
		return nil, err
	}
	if err := args.Write(ctx, p); err != nil {
		return nil, err
	}
	if err := p.WriteMessageEnd(ctx); err != nil {
		return nil, err
	}
	msg := buf.Bytes()
	if !w.framed {
		return append([]byte(nil), msg...), nil
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg)))
	return append(out, msg...), nil
}

// requests pre-encodes a worker's requests: one per key for keyed calls.
func (w wire) requests(c call, method string, worker int) ([][]byte, error) {
	n := 1
	if c.method == "lc_set" || c.method == "lc_get" {
		n = keyPool
	}
	var out [][]byte
	for i := range n {
		b, err := w.encode(method, 1, c.args(worker, i))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if c.method == "lock" { // lock, then unlock the same key
		b, err := w.encode("unlock", 1, &rpc.FunServantUnlockArgs{Rctx: benchCtx(worker), Reason: "bench", Key: key(worker, 0)})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
