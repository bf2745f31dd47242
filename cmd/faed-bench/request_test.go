package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

var wires = []wire{{}, {framed: true}, {compact: true}, {framed: true, compact: true}}

func (w wire) String() string { return fmt.Sprintf("framed=%v,compact=%v", w.framed, w.compact) }

// process runs one encoded request through the generated processor, as a
// server would, and returns the reply bytes it wrote.
func process(t *testing.T, w wire, h rpc.FunServant, req []byte) []byte {
	t.Helper()
	in, out := thrift.NewTMemoryBuffer(), thrift.NewTMemoryBuffer()
	in.Write(req)
	var rt, wt thrift.TTransport = in, out
	if w.framed {
		rt, wt = thrift.NewTFramedTransportConf(in, nil), thrift.NewTFramedTransportConf(out, nil)
	}
	ok, err := rpc.NewFunServantProcessor(h).Process(context.Background(), w.protocol(rt), w.protocol(wt))
	if !ok {
		t.Fatalf("processor refused the request: %v", err)
	}
	if in.Len() != 0 {
		t.Fatalf("%d request bytes left undecoded", in.Len())
	}
	return out.Bytes()
}

// Every pre-encoded request decodes, in the generated processor, to the
// call and arguments it stands for, and the bench accepts (or counts as the
// right error) the processor's reply.
func TestRequestsRoundTrip(t *testing.T) {
	const worker = 3 // rid 4
	cases := []struct {
		call    string
		want    []string // first calls the servant sees
		n       int      // requests per worker
		wantErr error    // reading each reply
	}{
		{"noop", []string{"noop 42"}, 1, nil},
		{"ping", []string{"ping 4 faed-bench"}, 1, nil},
		{"id_next", []string{"id_next 4 faed-bench"}, 1, errException},
		{"lc_set", []string{"lc_set 4 bench:3:0 100B", "lc_set 4 bench:3:1 100B"}, keyPool, nil},
		{"lc_get", []string{"lc_get 4 bench:3:0", "lc_get 4 bench:3:1"}, keyPool, errDeclared},
		{"lock", []string{"lock 4 bench bench:3:0", "unlock 4 bench bench:3:0"}, 2, nil},
		{"rd_set", []string{"rd_call 4 SET default bench:3:0 100B", "rd_call 4 SET default bench:3:1 100B"}, keyPool, nil},
		{"rd_get", []string{"rd_call 4 GET default bench:3:0", "rd_call 4 GET default bench:3:1"}, keyPool, errException},
		{"mc_set", []string{"mc_set 4 default bench:3:0 100B", "mc_set 4 default bench:3:1 100B"}, keyPool, nil},
		{"mc_get", []string{"mc_get 4 default bench:3:0", "mc_get 4 default bench:3:1"}, keyPool, errDeclared},
		{"my_hit", []string{`my_query 4 Global Doc "SELECT id, data FROM Doc WHERE id = ?" [292] bench:doc:292`,
			`my_query 4 Global Doc "SELECT id, data FROM Doc WHERE id = ?" [293] bench:doc:293`}, keyPool, nil},
		{"my_miss", []string{`my_query 4 Global Doc "SELECT id, data FROM Doc WHERE id = ?" [292] `}, keyPool, nil},
	}
	if len(cases) != len(calls) {
		t.Fatalf("%d cases for %d calls: add the new call here", len(cases), len(calls))
	}
	for _, tc := range cases {
		for _, w := range wires {
			t.Run(tc.call+"/"+w.String(), func(t *testing.T) {
				reqs, err := w.requests(calls[tc.call], worker)
				if err != nil {
					t.Fatal(err)
				}
				if len(reqs) != tc.n {
					t.Fatalf("%d requests, want %d", len(reqs), tc.n)
				}
				h := newStubServant()
				rr := newReplyReader(w)
				for _, req := range reqs {
					rr.reset(bytes.NewReader(process(t, w, h, req.bytes)))
					if err := rr.read(req); !errors.Is(err, tc.wantErr) {
						t.Fatalf("%s reply: %v, want %v", req.method, err, tc.wantErr)
					}
				}
				got := h.calls()
				if len(got) != len(reqs) {
					t.Fatalf("servant saw %d calls, want %d", len(got), len(reqs))
				}
				for i, want := range tc.want {
					if got[i] != want {
						t.Errorf("call %d = %q, want %q", i, got[i], want)
					}
				}
			})
		}
	}
}

func TestFramedRequestHasLengthPrefix(t *testing.T) {
	plain, err := wire{}.encode(msg{method: "noop", args: &rpc.FunServantNoopArgs{X: 7}})
	if err != nil {
		t.Fatal(err)
	}
	framed, err := wire{framed: true}.encode(msg{method: "noop", args: &rpc.FunServantNoopArgs{X: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(framed.bytes[4:], plain.bytes) || int(framed.bytes[3]) != len(plain.bytes) || framed.bytes[0] != 0 {
		t.Fatalf("framed % x is not a length prefix + % x", framed.bytes, plain.bytes)
	}
	if plain.bytes[0] != 0x80 || plain.bytes[1] != 0x01 {
		t.Fatalf("not a strict binary header: % x", plain.bytes[:4])
	}
}
