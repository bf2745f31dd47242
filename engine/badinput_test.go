package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// noopWith is a noop call whose argument struct is written by fields.
func (e encoding) noopWith(fields func(context.Context, thrift.TProtocol)) []byte {
	return e.message("noop", thrift.CALL, 1, func(ctx context.Context, p thrift.TProtocol) {
		_ = p.WriteStructBegin(ctx, "args")
		fields(ctx, p)
		_ = p.WriteFieldStop(ctx)
		_ = p.WriteStructEnd(ctx)
	})
}

// hugeList is field 9 declared as a list of 2^31-1 i32 with no elements.
func hugeList(ctx context.Context, p thrift.TProtocol) {
	_ = p.WriteFieldBegin(ctx, "x", thrift.LIST, 9)
	_ = p.WriteListBegin(ctx, thrift.I32, 0x7fffffff)
}

// deepStruct nests n unknown struct fields.
func deepStruct(n int) func(context.Context, thrift.TProtocol) {
	return func(ctx context.Context, p thrift.TProtocol) {
		for range n {
			_ = p.WriteFieldBegin(ctx, "x", thrift.STRUCT, 9)
			_ = p.WriteStructBegin(ctx, "x")
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(42)).Read(b)
	return b
}

// Input the server must close the connection on, within its timeouts,
// without a panic. Replies it sends first (e.g. PROTOCOL_ERROR) are fine.
func TestBadBytesCloseTheConnection(t *testing.T) {
	bin, cpt := encoding{}, encoding{compact: true}
	strictHdr := []byte{0x80, 0x01, 0x00, 0x01}
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"frame length negative", append([]byte{0xff, 0xff, 0xff, 0xf0}, strictHdr...)},
		{"frame length zero", append([]byte{0, 0, 0, 0}, strictHdr...)},
		{"frame length huge", append([]byte{0x7f, 0xff, 0xff, 0xff}, strictHdr...)},
		{"frame longer than what follows", append([]byte{0, 0, 1, 0}, append(strictHdr, 0, 0, 0, 4, 'n')...)},
		{"name length negative", append(strictHdr, 0xff, 0xff, 0xff, 0xfe)},
		{"name length huge", append(strictHdr, 0x7f, 0xff, 0xff, 0xff)},
		{"name longer than what follows", append(strictHdr, 0, 0, 0, 100, 'n', 'o')},
		{"non-strict name length huge", []byte{0, 0x7f, 0xff, 0xff, 'n', 'o', 'o', 'p'}},
		{"bad strict version", []byte{0x80, 0x07, 0x00, 0x01, 0, 0, 0, 4, 'n', 'o', 'o', 'p', 0, 0, 0, 1, 0}},
		{"list count huge, binary", bin.noopWith(hugeList)},
		{"list count huge, compact", cpt.noopWith(hugeList)},
		{"nesting past the recursion limit", bin.noopWith(deepStruct(10000))},
		{"nesting past the recursion limit, compact", cpt.noopWith(deepStruct(10000))},
		{"message over max_message_bytes", bin.message("noop", thrift.CALL, 1, func(ctx context.Context, p thrift.TProtocol) {
			_ = p.WriteStructBegin(ctx, "args")
			_ = p.WriteFieldBegin(ctx, "x", thrift.STRING, 9)
			_ = p.WriteBinary(ctx, make([]byte, 100<<10))
		})},
		{"frame over max_message_bytes", frame(make([]byte, 100<<10))},
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"TLS client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}},
		{"zeros", make([]byte, 64)},
		{"random bytes", randomBytes(4096)},
		{"REPLY sent to the server", bin.message("noop", thrift.REPLY, 1, func(context.Context, thrift.TProtocol) {})},
		{"EXCEPTION sent to the server", cpt.message("noop", thrift.EXCEPTION, 1, func(context.Context, thrift.TProtocol) {})},
		{"only a header, then silence", strictHdr},
		{"nothing at all", nil},
	}
	s := startEngine(t, shortTimeouts)
	base := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawDial(t, s)
			if _, err := c.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			closedWithin(t, c, 3*time.Second)
		})
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
		t.Fatalf("heap grew by %d MiB on bad input", grew>>20)
	}
	if n := s.e.Stats().Panics.Load(); n != 0 {
		t.Fatalf("%d panics", n)
	}
	noLeaks(t, base)
}

// Input the server must answer while keeping the connection usable.
func TestOddButValidInputIsAnswered(t *testing.T) {
	type check func(t *testing.T, r reply)
	wantNoop := func(x int32) check {
		return func(t *testing.T, r reply) {
			if r.typ != thrift.REPLY || r.noopRet != x {
				t.Fatalf("got %+v, want noop reply %d", r, x)
			}
		}
	}
	wantAppErr := func(typ int32, contains string) check {
		return func(t *testing.T, r reply) {
			if r.appErr == nil || r.appErr.TypeId() != typ || !strings.Contains(r.appErr.Error(), contains) {
				t.Fatalf("got %+v, want TApplicationException %d containing %q", r, typ, contains)
			}
		}
	}
	s := startEngine(t, shortTimeouts)
	for _, e := range encodings {
		cases := []struct {
			name  string
			bytes []byte
			want  check
		}{
			{"unknown method", e.message("no_such", thrift.CALL, 1, func(ctx context.Context, p thrift.TProtocol) {
				_ = (&rpc.FunServantNoopArgs{X: 1}).Write(ctx, p)
			}), wantAppErr(thrift.UNKNOWN_METHOD, "no_such")},
			{"wrong field type is skipped", e.noopWith(func(ctx context.Context, p thrift.TProtocol) {
				_ = p.WriteFieldBegin(ctx, "x", thrift.STRING, 1)
				_ = p.WriteString(ctx, "not an i32")
			}), wantNoop(0)},
			{"missing field reads as zero", e.noopWith(func(context.Context, thrift.TProtocol) {}), wantNoop(0)},
			{"extra unknown fields are skipped", e.noopWith(func(ctx context.Context, p thrift.TProtocol) {
				_ = p.WriteFieldBegin(ctx, "a", thrift.MAP, 7)
				_ = p.WriteMapBegin(ctx, thrift.STRING, thrift.I64, 1)
				_ = p.WriteString(ctx, "k")
				_ = p.WriteI64(ctx, 5)
				_ = p.WriteFieldBegin(ctx, "x", thrift.I32, 1)
				_ = p.WriteI32(ctx, 99)
				_ = p.WriteFieldBegin(ctx, "b", thrift.STRUCT, 8)
				_ = p.WriteStructBegin(ctx, "b")
				_ = p.WriteFieldStop(ctx)
			}), wantNoop(99)},
		}
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%+v/%s", e, tc.name), func(t *testing.T) {
				c := rawDial(t, s)
				r := bufio.NewReader(c)
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				if _, err := c.Write(tc.bytes); err != nil {
					t.Fatal(err)
				}
				got, err := readReply(r, e)
				if err != nil {
					t.Fatal(err)
				}
				tc.want(t, got)
				if _, err := c.Write(e.noopCall(5, 2)); err != nil {
					t.Fatal(err)
				}
				if got, err := readReply(r, e); err != nil || got.noopRet != 5 || got.seq != 2 {
					t.Fatalf("connection unusable after: %+v %v", got, err)
				}
			})
		}
	}
	if n := s.e.Stats().Panics.Load(); n != 0 {
		t.Fatalf("%d panics", n)
	}
}

// Framed, a call whose arguments cannot be decoded gets PROTOCOL_ERROR and
// the connection goes on: the frame says where the next call starts.
func TestUndecodableFramedCallKeepsTheConnection(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	for _, e := range []encoding{{framed: true}, {framed: true, compact: true}} {
		c := rawDial(t, s)
		r := bufio.NewReader(c)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(append(e.noopWith(hugeList), e.noopCall(6, 2)...)); err != nil {
			t.Fatal(err)
		}
		if got, err := readReply(r, e); err != nil || got.appErr == nil || got.appErr.TypeId() != thrift.PROTOCOL_ERROR {
			t.Fatalf("%+v: got %+v %v, want PROTOCOL_ERROR", e, got, err)
		}
		if got, err := readReply(r, e); err != nil || got.noopRet != 6 || got.seq != 2 {
			t.Fatalf("%+v: the next call: %+v %v", e, got, err)
		}
	}
}

// Buffered, arguments the generated code cannot decode get PROTOCOL_ERROR,
// then the connection is closed (the stream can no longer be trusted).
func TestUndecodableArgumentsGetProtocolError(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	c := rawDial(t, s)
	if _, err := c.Write(encoding{}.noopWith(hugeList)); err != nil {
		t.Fatal(err)
	}
	got := closedWithin(t, c, 3*time.Second)
	r, err := readReply(bufio.NewReader(bytes.NewReader(got)), encoding{})
	if err != nil || r.appErr == nil || r.appErr.TypeId() != thrift.PROTOCOL_ERROR {
		t.Fatalf("got %+v %v, want PROTOCOL_ERROR", r, err)
	}
}

func TestPipelinedCallsAnsweredInOrder(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	for _, e := range encodings {
		c := rawDial(t, s)
		var batch []byte
		for i := range 100 {
			batch = append(batch, e.noopCall(int32(i), int32(i+1))...)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(batch); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		for i := range 100 {
			got, err := readReply(r, e)
			if err != nil || got.seq != int32(i+1) || got.noopRet != int32(i) {
				t.Fatalf("%+v reply %d: %+v %v", e, i, got, err)
			}
		}
	}
}

// A frame length is read as exactly four bytes even when they arrive one
// at a time.
func TestTrickledValidCallIsServed(t *testing.T) {
	s := startEngine(t, shortTimeouts)
	for _, e := range encodings {
		c := rawDial(t, s)
		for _, b := range e.noopCall(8, 1) {
			if _, err := c.Write([]byte{b}); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		got, err := readReply(bufio.NewReader(c), e)
		if err != nil || got.noopRet != 8 {
			t.Fatalf("%+v: %+v %v", e, got, err)
		}
	}
}
