package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// startTSimple serves h with Apache Thrift's TSimpleServer speaking w, on
// loopback TCP or a unix socket, and returns the address for -addr.
func startTSimple(t *testing.T, network string, w wire, h rpc.FunServant) string {
	t.Helper()
	var addr net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if network == "unix" {
		dir, err := os.MkdirTemp("", "fb") // short: unix socket paths are limited to ~107 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = &net.UnixAddr{Name: filepath.Join(dir, "s.sock"), Net: "unix"}
	}
	var tf thrift.TTransportFactory = thrift.NewTBufferedTransportFactory(8192)
	if w.framed {
		tf = thrift.NewTFramedTransportFactoryConf(thrift.NewTTransportFactory(), nil)
	}
	var pf thrift.TProtocolFactory = thrift.NewTBinaryProtocolFactoryConf(nil)
	if w.compact {
		pf = thrift.NewTCompactProtocolFactoryConf(nil)
	}
	sock := thrift.NewTServerSocketFromAddrTimeout(addr, 0)
	srv := thrift.NewTSimpleServer4(rpc.NewFunServantProcessor(h), sock, tf, pf)
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Stop() })
	return sock.Addr().String()
}

func quick(addr, mode, call string, w wire) options {
	return options{addr: addr, mode: mode, call: call, c: 4, d: 300 * time.Millisecond, warmup: 50 * time.Millisecond,
		framed: w.framed, compact: w.compact}
}

func benchOK(t *testing.T, o options) result {
	t.Helper()
	res, err := bench(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.mode != "idle" && res.Seconds != o.d.Seconds() { // idle reports how long it held
		t.Errorf("summary over %vs for -d %v", res.Seconds, o.d)
	}
	return res
}

// A real server, every transport: calls go through, none fail, and the
// summary is consistent.
func TestBenchAgainstTSimpleServer(t *testing.T) {
	cases := []struct {
		network, mode string
		w             wire
	}{
		{"tcp", "persistent", wire{}},
		{"tcp", "persistent", wire{framed: true}},
		{"tcp", "persistent", wire{compact: true}},
		{"tcp", "short", wire{}},
		{"unix", "short", wire{framed: true, compact: true}},
		{"unix", "persistent", wire{}},
	}
	for _, tc := range cases {
		t.Run(tc.network+"/"+tc.mode+"/"+tc.w.String(), func(t *testing.T) {
			addr := startTSimple(t, tc.network, tc.w, newStubServant())
			res := benchOK(t, quick(addr, tc.mode, "noop", tc.w))
			if res.Calls == 0 || res.Errors != 0 {
				t.Fatalf("calls %d, errors %d %v", res.Calls, res.Errors, res.ErrorKinds)
			}
			if res.P50Us <= 0 || res.P50Us > res.P99Us || res.P99Us > res.MaxUs {
				t.Fatalf("latencies p50 %v p99 %v max %v", res.P50Us, res.P99Us, res.MaxUs)
			}
			if want := float64(res.Calls) / 0.3; res.CallsPerS < want*0.99 || res.CallsPerS > want*1.01 {
				t.Fatalf("%.0f calls/s for %d calls in 300ms", res.CallsPerS, res.Calls)
			}
			if res.BenchCPU <= 0 || res.BenchUserCPU <= 0 || res.BenchUserCPU > res.BenchCPU {
				t.Fatalf("bench cpu %v, user %v", res.BenchCPU, res.BenchUserCPU)
			}
		})
	}
}

// Every call in the table runs against a servant; id_next's exceptions are
// counted, not fatal, and lc_get's setup makes its keys exist.
func TestBenchEveryCall(t *testing.T) {
	h := newStubServant()
	addr := startTSimple(t, "tcp", wire{}, h)
	for name := range calls {
		res := benchOK(t, quick(addr, "persistent", name, wire{}))
		switch name {
		case "id_next":
			if res.Calls != 0 || res.Errors == 0 || res.ErrorKinds["exception"] != res.Errors {
				t.Errorf("%s: calls %d, errors %v", name, res.Calls, res.ErrorKinds)
			}
		default:
			if res.Calls == 0 || res.Errors != 0 {
				t.Errorf("%s: calls %d, errors %v", name, res.Calls, res.ErrorKinds)
			}
		}
	}
}

func TestBenchServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	res := benchOK(t, quick(addr, "short", "noop", wire{}))
	if res.Calls != 0 || res.ErrorKinds["refused"] == 0 || res.ErrorKinds["refused"] != res.Errors {
		t.Fatalf("calls %d, errors %v", res.Calls, res.ErrorKinds)
	}
	// dialBackoff keeps a dead server from being hammered.
	if limit := int64(4 * (300 * time.Millisecond / dialBackoff)); res.Errors > limit {
		t.Fatalf("%d connect attempts in 300ms by 4 workers", res.Errors)
	}
}

// A setup that cannot connect gives up at once instead of trying every key.
func TestSetupServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	failed, err := sendSetup(parseTarget(addr, wire{}, true), calls["lc_set"], 4)
	if failed != 1 || errKind(err) != "refused" {
		t.Fatalf("%d failed, %v", failed, err)
	}
}

func TestValidate(t *testing.T) {
	good := quick("127.0.0.1:1", "short", "noop", wire{})
	bad := []func(o *options){
		func(o *options) { o.call = "nope" },
		func(o *options) { o.mode = "long" },
		func(o *options) { o.c = 0 },
		func(o *options) { o.d = 0 },
		func(o *options) { o.warmup = -time.Second },
	}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	for i, f := range bad {
		o := good
		f(&o)
		if err := o.validate(); !errors.Is(err, errUsage) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestRunJSON(t *testing.T) {
	addr := startTSimple(t, "tcp", wire{}, newStubServant())
	var out, errOut bytes.Buffer
	code := run([]string{"-addr", addr, "-c", "2", "-d", "200ms", "-warmup", "0", "-json", "-label", "x"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Label != "x" || r.Calls == 0 || r.Workers != 2 {
		t.Fatalf("%v: %s", err, out.String())
	}
	if code := run([]string{"-mode", "long"}, &out, &errOut); code != 1 {
		t.Fatalf("bad mode: exit %d", code)
	}
}

func TestIdleHoldsConnections(t *testing.T) {
	h := newStubServant()
	addr := startTSimple(t, "tcp", wire{}, h)
	o := quick(addr, "idle", "noop", wire{})
	o.d = 50 * time.Millisecond
	res := benchOK(t, o)
	if res.Calls != 4 || len(h.calls()) != 4 {
		t.Fatalf("%d calls reported, %d served", res.Calls, len(h.calls()))
	}
}
