package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
)

func TestParseTarget(t *testing.T) {
	cases := []struct{ in, network, addr string }{
		{"127.0.0.1:9001", "tcp", "127.0.0.1:9001"},
		{"localhost:1", "tcp", "localhost:1"},
		{"/run/faed.sock", "unix", "/run/faed.sock"},
		{"var/faed.sock", "unix", "var/faed.sock"},
		{"unix:///run/faed.sock", "unix", "/run/faed.sock"},
	}
	for _, tc := range cases {
		got := parseTarget(tc.in, wire{}, false)
		if got.network != tc.network || got.addr != tc.addr {
			t.Errorf("%q → %s %s, want %s %s", tc.in, got.network, got.addr, tc.network, tc.addr)
		}
	}
}

func TestErrKind(t *testing.T) {
	opErr := func(op string, err error) error {
		return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, err)}
	}
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w to noop: boom", errException), "exception"},
		{fmt.Errorf("%w 1 from lc_get", errDeclared), "declared_exception"},
		{fmt.Errorf("%w: seqid 2", errBadReply), "bad_reply"},
		{thrift.NewTProtocolExceptionWithType(thrift.BAD_VERSION, errors.New("bad version")), "bad_reply"},
		{fmt.Errorf("%w: %w", errDial, opErr("dial", syscall.ECONNREFUSED)), "refused"},
		{fmt.Errorf("%w: %w", errDial, opErr("dial", syscall.ENOENT)), "refused"},
		{fmt.Errorf("%w: %w", errDial, opErr("dial", syscall.EADDRNOTAVAIL)), "no_local_port"},
		{fmt.Errorf("%w: %w", errDial, opErr("dial", syscall.EACCES)), "connect"},
		{opErr("read", syscall.ECONNRESET), "reset"},
		{opErr("write", syscall.EPIPE), "reset"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{thrift.NewTProtocolException(thrift.NewTTransportExceptionFromError(io.EOF)), "eof"},
		{io.ErrUnexpectedEOF, "eof"},
		{errors.New("something else"), "other"},
	}
	for _, tc := range cases {
		if got := errKind(tc.err); got != tc.want {
			t.Errorf("errKind(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// echoNoop answers every noop request on l with a canned reply, decoding
// nothing: the client side's cost is then most of what is measured.
func echoNoop(tb testing.TB, l net.Listener, reqLen int, reply []byte) {
	tb.Helper()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req := make([]byte, reqLen)
				for {
					if _, err := io.ReadFull(c, req); err != nil {
						return
					}
					if _, err := c.Write(reply); err != nil {
						return
					}
				}
			}()
		}
	}()
}

func BenchmarkCall(b *testing.B) {
	for _, mode := range []string{"persistent", "short"} {
		b.Run(mode, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { l.Close() })
			reqs, err := wire{}.requests(calls["noop"], 0)
			if err != nil {
				b.Fatal(err)
			}
			echoNoop(b, l, len(reqs[0].bytes), noopReply(b, wire{}))
			w := newWorker(parseTarget(l.Addr().String(), wire{}, mode == "short"), reqs, &tally{})
			defer w.close()
			b.ReportAllocs()
			for b.Loop() {
				if err := w.call(reqs[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
