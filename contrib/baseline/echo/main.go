// Command echo is the floor of the benchmarks: it answers faed-bench's
// noop call (buffered, strict binary) with the right reply bytes without
// decoding anything. Per connection it reads one request's worth of bytes
// and writes a pre-encoded reply, copying the request's sequence id.
//
//	echo -addr 127.0.0.1:19003 [-unix /tmp/echo.sock]
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:19003", "TCP address; empty disables")
	unix := flag.String("unix", "", "unix socket path; empty disables")
	flag.Parse()
	reqLen, reply := noopShape()
	for _, nl := range [][2]string{{"tcp", *addr}, {"unix", *unix}} {
		if nl[1] == "" {
			continue
		}
		if nl[0] == "unix" {
			os.Remove(nl[1])
		}
		l, err := net.Listen(nl[0], nl[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
		defer l.Close()
		go accept(l, reqLen, reply)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

func accept(l net.Listener, reqLen int, reply []byte) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go serve(c, reqLen, reply)
	}
}

// serve answers each request with reply, its seqid (bytes 4+4+len("noop"))
// copied from the request.
func serve(c net.Conn, reqLen int, reply []byte) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 8192)
	req := make([]byte, reqLen)
	out := append([]byte(nil), reply...)
	const seqAt = 4 + 4 + len("noop")
	for {
		if _, err := io.ReadFull(r, req); err != nil {
			return
		}
		copy(out[seqAt:seqAt+4], req[seqAt:seqAt+4])
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// noopShape encodes the request faed-bench sends for noop and its reply.
func noopShape() (int, []byte) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := thrift.NewTBinaryProtocolConf(buf, nil)
	_ = p.WriteMessageBegin(ctx, "noop", thrift.CALL, 1)
	_ = (&rpc.FunServantNoopArgs{X: 42}).Write(ctx, p)
	_ = p.WriteMessageEnd(ctx)
	reqLen := buf.Len()
	buf.Reset()
	x := int32(42)
	_ = p.WriteMessageBegin(ctx, "noop", thrift.REPLY, 1)
	_ = (&rpc.FunServantNoopResult{Success: &x}).Write(ctx, p)
	_ = p.WriteMessageEnd(ctx)
	reply := buf.Bytes()
	if binary.BigEndian.Uint32(reply[4:8]) != uint32(len("noop")) {
		panic("unexpected reply layout")
	}
	return reqLen, append([]byte(nil), reply...)
}
