package main

import (
	"context"
	"encoding/binary"

	"github.com/apache/thrift/lib/go/thrift"
)

// seqID is the sequence id of every request; replies must echo it.
const seqID = 1

// wire is how requests are framed and encoded.
type wire struct {
	framed  bool
	compact bool
	keys    keyer // nil: key
}

func (w wire) protocol(t thrift.TTransport) thrift.TProtocol {
	if w.compact {
		return thrift.NewTCompactProtocolConf(t, nil)
	}
	return thrift.NewTBinaryProtocolConf(t, nil)
}

// request is one call encoded once, written raw for every send.
type request struct {
	method string
	void   bool
	bytes  []byte
}

// encode returns m as one complete message on the wire (strict binary or
// compact, with a 4-byte length prefix when framed).
func (w wire) encode(m msg) (request, error) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBuffer()
	p := w.protocol(buf)
	if err := p.WriteMessageBegin(ctx, m.method, thrift.CALL, seqID); err != nil {
		return request{}, err
	}
	if err := m.args.Write(ctx, p); err != nil {
		return request{}, err
	}
	if err := p.WriteMessageEnd(ctx); err != nil {
		return request{}, err
	}
	if err := p.Flush(ctx); err != nil {
		return request{}, err
	}
	body := buf.Bytes()
	out := make([]byte, 0, 4+len(body))
	if w.framed {
		out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	}
	return request{method: m.method, void: m.void, bytes: append(out, body...)}, nil
}

// requests pre-encodes everything worker n sends for c.
func (w wire) requests(c call, n int) ([]request, error) {
	keys := w.keys
	if keys == nil {
		keys = key
	}
	msgs := c.msgs(n, keys)
	out := make([]request, len(msgs))
	for i, m := range msgs {
		r, err := w.encode(m)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}
