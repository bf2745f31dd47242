// Command tsimple is a benchmark baseline: a bare Apache Thrift Go
// TSimpleServer with faed's generated processor and a trivial handler, run
// with the library's defaults as a user would (TBufferedTransport of 8192
// bytes, binary protocol, the per-call connectivity check
// ServerConnectivityCheckInterval left at its 5ms default, no panic
// recovery: a call to a method other than noop and ping kills it).
//
//	tsimple -addr 127.0.0.1:19002 [-unix /tmp/tsimple.sock] [-framed] [-compact]
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

// handler answers noop and ping; every other method is the nil embedded
// interface.
type handler struct{ rpc.FunServant }

func (handler) Noop(_ context.Context, x int32) (int32, error) { return x, nil }

func (handler) Ping(context.Context, *rpc.Context) (string, error) { return "pong", nil }

func main() {
	addr := flag.String("addr", "127.0.0.1:19002", "TCP address; empty disables")
	unix := flag.String("unix", "", "unix socket path; empty disables")
	framed := flag.Bool("framed", false, "TFramedTransport instead of TBufferedTransport")
	compact := flag.Bool("compact", false, "compact protocol instead of binary")
	flag.Parse()
	var tf thrift.TTransportFactory = thrift.NewTBufferedTransportFactory(8192)
	if *framed {
		tf = thrift.NewTFramedTransportFactoryConf(thrift.NewTTransportFactory(), nil)
	}
	var pf thrift.TProtocolFactory = thrift.NewTBinaryProtocolFactoryConf(nil)
	if *compact {
		pf = thrift.NewTCompactProtocolFactoryConf(nil)
	}
	var servers []*thrift.TSimpleServer
	for _, a := range []net.Addr{tcpAddr(*addr), unixAddr(*unix)} {
		if a == nil {
			continue
		}
		srv := thrift.NewTSimpleServer4(rpc.NewFunServantProcessor(handler{}),
			thrift.NewTServerSocketFromAddrTimeout(a, 0), tf, pf)
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
		_ = s.Stop()
	}
	if *unix != "" {
		_ = os.Remove(*unix)
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
	_ = os.Remove(p)
	return &net.UnixAddr{Name: p, Net: "unix"}
}
