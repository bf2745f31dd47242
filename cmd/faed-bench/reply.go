package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/thrift/lib/go/thrift"
)

// errException: the server answered with an exception instead of a result.
var errException = errors.New("exception reply")

// replyReader decodes replies just enough to find their end and check them.
type replyReader struct {
	framed bool
	br     *bufio.Reader
	proto  thrift.TProtocol
}

func newReplyReader(r io.Reader, w wire) *replyReader {
	br := bufio.NewReaderSize(r, 16<<10)
	return &replyReader{framed: w.framed, br: br, proto: w.protocol(thrift.NewStreamTransportR(br))}
}

// read consumes one reply; a declared exception in the result struct is
// not told apart from a result (lc_get misses count as replies).
func (rr *replyReader) read() error {
	ctx := context.Background()
	if rr.framed {
		var hdr [4]byte
		if _, err := io.ReadFull(rr.br, hdr[:]); err != nil {
			return err
		}
	}
	_, typ, seq, err := rr.proto.ReadMessageBegin(ctx)
	if err != nil {
		return err
	}
	if typ == thrift.EXCEPTION {
		x := thrift.NewTApplicationException(0, "")
		if err := x.Read(ctx, rr.proto); err != nil {
			return err
		}
		_ = rr.proto.ReadMessageEnd(ctx)
		return fmt.Errorf("%w: %v", errException, x)
	}
	if typ != thrift.REPLY || seq != 1 {
		return fmt.Errorf("unexpected message type %d seq %d", typ, seq)
	}
	if err := rr.proto.Skip(ctx, thrift.STRUCT); err != nil {
		return err
	}
	return rr.proto.ReadMessageEnd(ctx)
}
