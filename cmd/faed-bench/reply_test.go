package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// encodeMsg writes one message as a server would (strict binary or compact,
// framed when w says so).
func encodeMsg(t testing.TB, w wire, name string, typ thrift.TMessageType, seq int32, body thrift.TStruct) []byte {
	t.Helper()
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := w.protocol(buf)
	if err := p.WriteMessageBegin(ctx, name, typ, seq); err != nil {
		t.Fatal(err)
	}
	if err := body.Write(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMessageEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.framed {
		return buf.Bytes()
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(buf.Len())), buf.Bytes()...)
}

func noopReply(t testing.TB, w wire) []byte {
	x := int32(42)
	return encodeMsg(t, w, "noop", thrift.REPLY, seqID, &rpc.FunServantNoopResult{Success: &x})
}

var (
	noopReq   = request{method: "noop"}
	unlockReq = request{method: "unlock", void: true}
)

func TestReplyChecks(t *testing.T) {
	x := int32(42)
	cases := []struct {
		name  string
		req   request
		reply func(w wire) []byte
		want  error
	}{
		{"result", noopReq, func(w wire) []byte { return noopReply(t, w) }, nil},
		{"void", unlockReq, func(w wire) []byte {
			return encodeMsg(t, w, "unlock", thrift.REPLY, seqID, &rpc.FunServantUnlockResult{})
		}, nil},
		{"no result", noopReq, func(w wire) []byte {
			return encodeMsg(t, w, "noop", thrift.REPLY, seqID, &rpc.FunServantNoopResult{})
		}, errBadReply},
		{"wrong seqid", noopReq, func(w wire) []byte {
			return encodeMsg(t, w, "noop", thrift.REPLY, seqID+1, &rpc.FunServantNoopResult{Success: &x})
		}, errBadReply},
		{"wrong method", noopReq, func(w wire) []byte {
			return encodeMsg(t, w, "ping", thrift.REPLY, seqID, &rpc.FunServantNoopResult{Success: &x})
		}, errBadReply},
		{"call, not reply", noopReq, func(w wire) []byte {
			return encodeMsg(t, w, "noop", thrift.CALL, seqID, &rpc.FunServantNoopArgs{X: 1})
		}, errBadReply},
		{"exception", noopReq, func(w wire) []byte {
			return encodeMsg(t, w, "noop", thrift.EXCEPTION, seqID,
				thrift.NewTApplicationException(thrift.INTERNAL_ERROR, "noop: not built"))
		}, errException},
		{"declared exception", request{method: "lc_get"}, func(w wire) []byte {
			return encodeMsg(t, w, "lc_get", thrift.REPLY, seqID, &rpc.FunServantLcGetResult{Miss: &rpc.TCacheMissed{}})
		}, errDeclared},
		{"truncated", noopReq, func(w wire) []byte {
			b := noopReply(t, w)
			return b[:len(b)-2]
		}, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		for _, w := range wires {
			t.Run(tc.name+"/"+w.String(), func(t *testing.T) {
				rr := newReplyReader(w)
				rr.reset(bytes.NewReader(tc.reply(w)))
				err := rr.read(tc.req)
				if tc.want == io.ErrUnexpectedEOF {
					if err == nil || errKind(err) != "eof" {
						t.Fatalf("got %v (kind %s), want an eof", err, errKind(err))
					}
					return
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
	}
}

// After an exception reply, whole messages were consumed: the next reply on
// the same connection reads fine.
func TestReplyAfterException(t *testing.T) {
	for _, w := range wires {
		var stream []byte
		stream = append(stream, encodeMsg(t, w, "noop", thrift.EXCEPTION, seqID, thrift.NewTApplicationException(thrift.INTERNAL_ERROR, "boom"))...)
		stream = append(stream, encodeMsg(t, w, "lc_get", thrift.REPLY, seqID, &rpc.FunServantLcGetResult{Miss: &rpc.TCacheMissed{}})...)
		stream = append(stream, noopReply(t, w)...)
		rr := newReplyReader(w)
		rr.reset(bytes.NewReader(stream))
		if err := rr.read(noopReq); !errors.Is(err, errException) {
			t.Fatalf("%v: first read %v", w, err)
		}
		if err := rr.read(request{method: "lc_get"}); !errors.Is(err, errDeclared) {
			t.Fatalf("%v: second read %v", w, err)
		}
		if err := rr.read(noopReq); err != nil {
			t.Fatalf("%v: third read %v", w, err)
		}
	}
}

func TestFramedReplyChecks(t *testing.T) {
	w := wire{framed: true}
	good := noopReply(t, w)
	trailing := append(binary.BigEndian.AppendUint32(nil, uint32(len(good)-4+3)), append(good[4:], 1, 2, 3)...)
	huge := binary.BigEndian.AppendUint32(nil, maxFrame+1)
	for name, b := range map[string][]byte{"trailing bytes": trailing, "huge frame": huge, "empty frame": {0, 0, 0, 0}} {
		rr := newReplyReader(w)
		rr.reset(bytes.NewReader(b))
		if err := rr.read(noopReq); !errors.Is(err, errBadReply) {
			t.Errorf("%s: got %v, want a bad reply", name, err)
		}
	}
}

// Old servers write non-strict binary headers; the bench accepts them.
func TestReplyNonStrictBinary(t *testing.T) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := thrift.NewTBinaryProtocol(buf, false, false)
	x := int32(42)
	_ = p.WriteMessageBegin(ctx, "noop", thrift.REPLY, seqID)
	_ = (&rpc.FunServantNoopResult{Success: &x}).Write(ctx, p)
	_ = p.WriteMessageEnd(ctx)
	if buf.Bytes()[0] == 0x80 {
		t.Fatal("wrote a strict header")
	}
	rr := newReplyReader(wire{})
	rr.reset(bytes.NewReader(buf.Bytes()))
	if err := rr.read(noopReq); err != nil {
		t.Fatal(err)
	}
}

// loopReader returns b over and over, like a server answering forever.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.b[l.off:])
		n += c
		l.off = (l.off + c) % len(l.b)
	}
	return n, nil
}

func BenchmarkReplyRead(b *testing.B) {
	for _, w := range wires {
		b.Run(w.String(), func(b *testing.B) {
			rr := newReplyReader(w)
			rr.reset(&loopReader{b: noopReply(b, w)})
			b.ReportAllocs()
			for b.Loop() {
				if err := rr.read(noopReq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
