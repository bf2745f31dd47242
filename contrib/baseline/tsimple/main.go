// Command tsimple is a benchmark baseline: a bare Apache Thrift Go
// TSimpleServer with faed's generated processor and a trivial handler, run
// with the library's defaults as a user would (buffered transport, binary
// protocol, the generated per-call connectivity check left on).
//
//	tsimple -addr 127.0.0.1:19002 [-unix /tmp/tsimple.sock] [-framed]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// handler answers noop and ping; every other method is absent (nil
// interface) and never called by the bench.
type handler struct{ rpc.FunServant }

func (handler) Noop(_ context.Context, x int32) (int32, error) { return x, nil }

func (handler) Ping(context.Context, *rpc.Context) (string, error) { return "pong", nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:19002", "TCP address; empty disables")
	unix := flag.String("unix", "", "unix socket path; empty disables")
	framed := flag.Bool("framed", false, "TFramedTransport instead of TBufferedTransport")
	flag.Parse()
	var tf thrift.TTransportFactory = thrift.NewTBufferedTransportFactory(8192)
	if *framed {
		tf = thrift.NewTFramedTransportFactoryConf(thrift.NewTTransportFactory(), nil)
	}
	var servers []*thrift.TSimpleServer
	for _, a := range []net.Addr{tcpAddr(*addr), unixAddr(*unix)} {
		if a == nil {
			continue
		}
		srv := thrift.NewTSimpleServer4(rpc.NewFunServantProcessor(handler{}),
			thrift.NewTServerSocketFromAddrTimeout(a, 0), tf, thrift.NewTBinaryProtocolFactoryConf(nil))
		if err := srv.Listen(); err != nil {
			fmt.Fprintln(os.Stderr, "tsimple:", err)
			os.Exit(1)
		}
		go srv.Serve()
		servers = append(servers, srv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	for _, s := range servers {
		s.Stop()
	}
	if *unix != "" {
		os.Remove(*unix)
	}
}

func tcpAddr(a string) net.Addr {
	if a == "" {
		return nil
	}
	ta, err := net.ResolveTCPAddr("tcp", a)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsimple:", err)
		os.Exit(1)
	}
	return ta
}

func unixAddr(p string) net.Addr {
	if p == "" {
		return nil
	}
	os.Remove(p)
	return &net.UnixAddr{Name: p, Net: "unix"}
}
