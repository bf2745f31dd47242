package main

import (
	"context"
	"net"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// A generated Thrift client, buffered and framed, gets noop's answer from
// echo with its own seqids, call after call on one connection.
func TestEchoAnswersGeneratedClient(t *testing.T) {
	s, err := noopShape()
	if err != nil {
		t.Fatal(err)
	}
	for _, framed := range []bool{false, true} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go accept(l, s)
		var tr thrift.TTransport = thrift.NewTSocketConf(l.Addr().String(), nil)
		if framed {
			tr = thrift.NewTFramedTransportConf(tr, nil)
		} else {
			tr = thrift.NewTBufferedTransport(tr, 8192)
		}
		if err := tr.Open(); err != nil {
			t.Fatal(err)
		}
		pf := thrift.NewTBinaryProtocolFactoryConf(nil)
		client := rpc.NewFunServantClient(thrift.NewTStandardClient(pf.GetProtocol(tr), pf.GetProtocol(tr)))
		for i := range 3 { // the standard client checks seqids 1, 2, 3
			got, err := client.Noop(context.Background(), 42)
			if err != nil || got != 42 {
				t.Fatalf("framed=%v call %d: %d, %v", framed, i, got, err)
			}
		}
		tr.Close()
		l.Close()
	}
}
