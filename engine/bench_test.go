package engine_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// encodeNoop returns a strict-binary buffered noop call and its reply.
func encodeNoop(b *testing.B) (req, reply []byte) {
	b.Helper()
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := thrift.NewTBinaryProtocolConf(buf, nil)
	_ = p.WriteMessageBegin(ctx, "noop", thrift.CALL, 1)
	_ = (&rpc.FunServantNoopArgs{X: 42}).Write(ctx, p)
	_ = p.WriteMessageEnd(ctx)
	req = append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	_ = p.WriteMessageBegin(ctx, "noop", thrift.REPLY, 1)
	v := int32(42)
	_ = (&rpc.FunServantNoopResult{Success: &v}).Write(ctx, p)
	_ = p.WriteMessageEnd(ctx)
	return req, append([]byte(nil), buf.Bytes()...)
}

// benchPersistent drives noop over one connection per parallel worker.
func benchPersistent(b *testing.B, addr string) {
	req, reply := encodeNoop(b)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		got := make([]byte, len(reply))
		for pb.Next() {
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(r, got); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPersistentNoop(b *testing.B) {
	b.Run("faed", func(b *testing.B) {
		cfg := engine.DefaultConfig()
		cfg.Listen = "127.0.0.1:0"
		e, err := engine.New(cfg, rpc.NewFunServantProcessor(&handler{}), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		defer e.Shutdown(context.Background())
		benchPersistent(b, e.Addr().String())
	})
	b.Run("tsimple", func(b *testing.B) {
		sock, err := thrift.NewTServerSocket("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := thrift.NewTSimpleServer4(rpc.NewFunServantProcessor(&handler{}), sock,
			thrift.NewTBufferedTransportFactory(8192), thrift.NewTBinaryProtocolFactoryConf(nil))
		if err := srv.Listen(); err != nil {
			b.Fatal(err)
		}
		go srv.Serve()
		defer srv.Stop()
		benchPersistent(b, sock.Addr().String())
	})
}
