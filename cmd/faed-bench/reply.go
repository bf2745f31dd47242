package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/thrift/lib/go/thrift"
)

var (
	// errException: the server answered with a TApplicationException
	// (EXCEPTION message) instead of a result.
	errException = errors.New("exception reply")
	// errDeclared: the result carries one of the method's declared
	// exceptions (e.g. TCacheMissed) instead of a return value.
	errDeclared = errors.New("declared exception")
	// errBadReply: the reply decodes but is not the answer to the call sent.
	errBadReply = errors.New("bad reply")
)

// maxFrame bounds the frame a framed reply may announce, so garbage cannot
// make the bench allocate gigabytes.
const maxFrame = 16 << 20

// replyReader decodes one reply after another from a connection: enough to
// find each reply's end and check that it answers the call sent. It is made
// once per worker and reset onto every new connection, so short
// connections cost no buffers.
type replyReader struct {
	framed bool
	br     *bufio.Reader    // on the connection
	hdr    [4]byte          // framed: the frame length, here so it is not allocated per read
	frame  []byte           // framed: the current frame, reused
	fr     bytes.Reader     // framed: reads frame
	proto  thrift.TProtocol // decodes from br, or from fr when framed
}

func newReplyReader(w wire) *replyReader {
	rr := &replyReader{framed: w.framed, br: bufio.NewReaderSize(nil, 16<<10)}
	var src io.Reader = rr.br
	if w.framed {
		src = &rr.fr
	}
	rr.proto = w.protocol(&thrift.StreamTransport{Reader: src})
	return rr
}

// reset points the reader at a new connection, dropping buffered bytes.
func (rr *replyReader) reset(r io.Reader) { rr.br.Reset(r) }

// read consumes one reply and checks that it answers req: a REPLY to the
// same method with the same seqid, carrying a result (unless void). An
// exception reply or a declared exception is returned as an error after
// the whole message has been consumed, so the connection stays usable.
func (rr *replyReader) read(req request) error {
	if rr.framed {
		if err := rr.readFrame(); err != nil {
			return err
		}
	}
	if err := rr.message(req); err != nil {
		return err
	}
	if rr.framed && rr.fr.Len() != 0 {
		return fmt.Errorf("%w: %d bytes left in the frame", errBadReply, rr.fr.Len())
	}
	return nil
}

func (rr *replyReader) readFrame() error {
	if _, err := io.ReadFull(rr.br, rr.hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(rr.hdr[:])
	if n == 0 || n > maxFrame {
		return fmt.Errorf("%w: frame of %d bytes", errBadReply, n)
	}
	if cap(rr.frame) < int(n) {
		rr.frame = make([]byte, n)
	}
	rr.frame = rr.frame[:n]
	if _, err := io.ReadFull(rr.br, rr.frame); err != nil {
		return err
	}
	rr.fr.Reset(rr.frame)
	return nil
}

func (rr *replyReader) message(req request) error {
	ctx := context.Background()
	name, typ, seq, err := rr.proto.ReadMessageBegin(ctx)
	if err != nil {
		return err
	}
	if typ == thrift.EXCEPTION {
		x := thrift.NewTApplicationException(thrift.UNKNOWN_APPLICATION_EXCEPTION, "")
		if err := x.Read(ctx, rr.proto); err != nil {
			return err
		}
		if err := rr.proto.ReadMessageEnd(ctx); err != nil {
			return err
		}
		return fmt.Errorf("%w to %s: %v", errException, name, x)
	}
	switch {
	case typ != thrift.REPLY:
		return fmt.Errorf("%w: message type %d", errBadReply, typ)
	case seq != seqID:
		return fmt.Errorf("%w: seqid %d, sent %d", errBadReply, seq, seqID)
	case name != req.method:
		return fmt.Errorf("%w: reply to %q, sent %q", errBadReply, name, req.method)
	}
	field, err := rr.result()
	if err != nil {
		return err
	}
	if err := rr.proto.ReadMessageEnd(ctx); err != nil {
		return err
	}
	switch {
	case field > 0:
		return fmt.Errorf("%w %d from %s", errDeclared, field, name)
	case field < 0 && !req.void:
		return fmt.Errorf("%w: %s returned no result", errBadReply, name)
	}
	return nil
}

// result skips a result struct and returns the id of the field it held: 0
// for a return value, a declared exception's id, or -1 when empty.
func (rr *replyReader) result() (int16, error) {
	ctx := context.Background()
	p := rr.proto
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return 0, err
	}
	field := int16(-1)
	for {
		_, typ, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return 0, err
		}
		if typ == thrift.STOP {
			break
		}
		if field <= 0 {
			field = id
		}
		if err := p.Skip(ctx, typ); err != nil {
			return 0, err
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return 0, err
		}
	}
	return field, p.ReadStructEnd(ctx)
}
