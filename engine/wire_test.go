package engine_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
)

// Raw-socket helpers: build messages byte by byte and read what comes back.

// encoding is one of the four wire formats.
type encoding struct{ framed, compact bool }

func (e encoding) proto(t thrift.TTransport) thrift.TProtocol {
	if e.compact {
		return thrift.NewTCompactProtocolConf(t, nil)
	}
	return thrift.NewTBinaryProtocolConf(t, nil)
}

var encodings = []encoding{{}, {framed: true}, {compact: true}, {framed: true, compact: true}}

// message encodes one message whose body is written by body.
func (e encoding) message(name string, typ thrift.TMessageType, seq int32, body func(context.Context, thrift.TProtocol)) []byte {
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := e.proto(buf)
	_ = p.WriteMessageBegin(ctx, name, typ, seq)
	body(ctx, p)
	_ = p.WriteMessageEnd(ctx)
	if !e.framed {
		return append([]byte(nil), buf.Bytes()...)
	}
	return frame(buf.Bytes())
}

func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// noopCall is a well-formed noop(x) call.
func (e encoding) noopCall(x int32, seq int32) []byte {
	return e.message("noop", thrift.CALL, seq, func(ctx context.Context, p thrift.TProtocol) {
		_ = (&rpc.FunServantNoopArgs{X: x}).Write(ctx, p)
	})
}

// shortTimeouts keeps hangs short in tests that provoke them.
func shortTimeouts(c *engine.Config) {
	c.IdleTimeout = time.Second
	c.ReadTimeout = 300 * time.Millisecond
	c.CallTimeout = 300 * time.Millisecond
	c.WriteTimeout = 300 * time.Millisecond
	c.MaxMessageBytes = 64 << 10
	c.MaxContainerSize = 4096
}

func rawDial(t *testing.T, s *server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.e.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// reply is one decoded answer from the server.
type reply struct {
	name    string
	typ     thrift.TMessageType
	seq     int32
	appErr  thrift.TApplicationException // set for EXCEPTION
	noopRet int32                        // set for a noop REPLY
}

// readReply decodes one reply in encoding e from r.
func readReply(r *bufio.Reader, e encoding) (reply, error) {
	ctx := context.Background()
	if e.framed {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return reply{}, err
		}
	}
	p := e.proto(thrift.NewStreamTransportR(r))
	var rp reply
	var err error
	rp.name, rp.typ, rp.seq, err = p.ReadMessageBegin(ctx)
	if err != nil {
		return rp, err
	}
	switch rp.typ {
	case thrift.EXCEPTION:
		x := thrift.NewTApplicationException(0, "")
		err = x.Read(ctx, p)
		rp.appErr = x
	case thrift.REPLY:
		var res rpc.FunServantNoopResult
		if err = res.Read(ctx, p); err == nil && res.Success != nil {
			rp.noopRet = *res.Success
		}
	default:
		err = errors.New("unexpected message type from server")
	}
	if err == nil {
		err = p.ReadMessageEnd(ctx)
	}
	return rp, err
}

// closedWithin reads until the server closes the connection, failing if it
// is still open after d. Replies sent before the close are returned.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server kept the connection open for %v", d)
	}
	return b
}

// noLeaks waits for the goroutine count to come back near base.
func noLeaks(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > base+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
