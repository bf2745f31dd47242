package engine

import (
	"errors"

	"github.com/apache/thrift/lib/go/thrift"
)

// Wire encodings recognised from a connection's first bytes.
const (
	binaryStrict = 0x80 // first byte of a strict binary message header
	compactID    = 0x82 // first byte of a compact message header
)

// errUnknownEncoding: the first bytes match no encoding faed speaks.
var errUnknownEncoding = errors.New("first bytes are not a thrift message faed speaks")

// wireFormat is what a connection speaks, fixed by its first message.
type wireFormat struct {
	framed  bool
	compact bool
}

// detect reads the first five bytes of a connection:
//
//	0x80 ...           buffered, strict binary
//	0x82 ...           buffered, compact
//	len4 0x80 ...      framed, strict binary
//	len4 0x82 ...      framed, compact
//	len4 0x00 ...      framed, non-strict binary (name length's top byte)
//	len4 'n' ...       buffered, non-strict binary (len4 is the name length)
//
// A non-strict method name never starts with 0x00, 0x80 or 0x82, so the
// cases cannot overlap. Garbage falls into the last case and is rejected by
// the protocol's size checks on the "name length".
func detect(b []byte) (wireFormat, error) {
	switch {
	case b[0] == binaryStrict:
		return wireFormat{}, nil
	case b[0] == compactID:
		return wireFormat{compact: true}, nil
	case b[4] == binaryStrict || b[4] == 0x00:
		return wireFormat{framed: true}, nil
	case b[4] == compactID:
		return wireFormat{framed: true, compact: true}, nil
	case b[0] == 0 && b[4] >= 0x20 && b[4] < 0x7f:
		return wireFormat{}, nil
	}
	return wireFormat{}, errUnknownEncoding
}

// protocolFor builds the session's protocol over its transport. One
// protocol serves input and output: replies use the caller's encoding.
func protocolFor(f wireFormat, t *transport, conf *thrift.TConfiguration) thrift.TProtocol {
	t.framed = f.framed
	if f.compact {
		return thrift.NewTCompactProtocolConf(t, conf)
	}
	return thrift.NewTBinaryProtocolConf(t, conf)
}
