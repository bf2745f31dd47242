// Command echo is the floor of the benchmarks: it answers faed-bench's
// noop call with the right reply bytes without decoding anything. Per
// connection it reads one noop request's worth of bytes at a time and
// writes a pre-encoded strict-binary reply with the request's seqid copied
// in. Buffered or framed transport is told from a connection's first bytes
// (strict binary starts 0x80 0x01); only the binary protocol and only noop
// are answered: anything else gets garbage, by design.
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
	s, err := noopShape()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
	var listeners []net.Listener
	for _, nl := range [][2]string{{"tcp", *addr}, {"unix", *unix}} {
		if nl[1] == "" {
			continue
		}
		if nl[0] == "unix" {
			_ = os.Remove(nl[1])
		}
		l, err := net.Listen(nl[0], nl[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
		listeners = append(listeners, l)
		go accept(l, s)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	for _, l := range listeners {
		_ = l.Close() // also removes the unix socket file
	}
}

func accept(l net.Listener, s shape) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go serve(c, s)
	}
}

// shape is what a noop exchange looks like on the wire, buffered.
type shape struct {
	reqLen int    // bytes of one noop request
	reply  []byte // a complete noop reply, seqid 1
}

// seqAt is where the seqid sits in a strict-binary noop message:
// version (4), name length (4), "noop".
const seqAt = 4 + 4 + len("noop")

// serve answers each request with the reply, its seqid copied from the
// request; framed when the request was.
func serve(c net.Conn, s shape) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 8192)
	first, err := r.Peek(2)
	if err != nil {
		return
	}
	req, out, at := make([]byte, s.reqLen), append([]byte(nil), s.reply...), seqAt
	if first[0] != 0x80 || first[1] != 0x01 { // a frame length, not a strict version
		req = make([]byte, 4+s.reqLen)
		out = append(binary.BigEndian.AppendUint32(nil, uint32(len(s.reply))), s.reply...)
		at += 4
	}
	for {
		if _, err := io.ReadFull(r, req); err != nil {
			return
		}
		copy(out[at:at+4], req[at:at+4])
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// noopShape encodes the request faed-bench sends for noop (x = 42) and its
// reply, with the generated structs, once at start.
func noopShape() (shape, error) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := thrift.NewTBinaryProtocolConf(buf, nil)
	if err := writeMsg(ctx, p, thrift.CALL, &rpc.FunServantNoopArgs{X: 42}); err != nil {
		return shape{}, err
	}
	reqLen := buf.Len()
	buf.Reset()
	x := int32(42)
	if err := writeMsg(ctx, p, thrift.REPLY, &rpc.FunServantNoopResult{Success: &x}); err != nil {
		return shape{}, err
	}
	reply := append([]byte(nil), buf.Bytes()...)
	if binary.BigEndian.Uint32(reply[4:8]) != uint32(len("noop")) {
		return shape{}, fmt.Errorf("unexpected reply layout % x", reply)
	}
	return shape{reqLen: reqLen, reply: reply}, nil
}

func writeMsg(ctx context.Context, p thrift.TProtocol, typ thrift.TMessageType, body thrift.TStruct) error {
	if err := p.WriteMessageBegin(ctx, "noop", typ, 1); err != nil {
		return err
	}
	if err := body.Write(ctx, p); err != nil {
		return err
	}
	return p.WriteMessageEnd(ctx)
}
