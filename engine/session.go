package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
)

// drainGrace is how long an idle session may still send one more call once
// a graceful stop began; a call already on the wire is served, not dropped.
const drainGrace = 100 * time.Millisecond

type clientKey struct{}

// clientOf returns the calling client carried by a call's context.
func clientOf(ctx context.Context) *client {
	c, _ := ctx.Value(clientKey{}).(*client)
	return c
}

// session serves one client connection: calls in order, one at a time.
type session struct {
	e      *Engine
	t      *transport
	client client
}

func (s *session) serve() {
	e, t := s.e, s.t
	ctx := context.WithValue(e.baseCtx, clientKey{}, &s.client)
	defer func() {
		if v := recover(); v != nil { // a thrift decoder bug on hostile input
			e.stats.Panics.Add(1)
			e.log.Error("session panicked", "client", s.client.String(), "panic", v)
		}
	}()
	if err := s.waitCall(); err != nil {
		return
	}
	hdr, err := t.peek(5)
	if err != nil {
		s.closeReason(err)
		return
	}
	format, err := detect(hdr)
	if err != nil {
		e.stats.ProtocolErrors.Add(1)
		e.log.Debug("closing session", "client", s.client.String(), "error", err)
		return
	}
	proto := protocolFor(format, t, e.conf)
	for {
		ok := s.serveOne(ctx, proto)
		if ok {
			ok = t.endMessage() == nil
		}
		if !ok || e.closing.Load() {
			return
		}
		if err := s.waitCall(); err != nil {
			return
		}
	}
}

// waitCall waits up to idle_timeout for the next call's first byte, then
// gives the whole call (read, run, reply) its own deadline.
func (s *session) waitCall() error {
	e, t := s.e, s.t
	if err := t.conn.SetReadDeadline(time.Now().Add(e.cfg.IdleTimeout)); err != nil {
		return err
	}
	if e.closing.Load() {
		_ = t.conn.SetReadDeadline(time.Now().Add(e.grace()))
	}
	if err := t.waitReadable(); err != nil {
		s.closeReason(err)
		return err
	}
	c := e.cfg
	return t.conn.SetDeadline(time.Now().Add(c.ReadTimeout + c.CallTimeout + c.WriteTimeout))
}

// serveOne reads one message and dispatches it; false ends the session.
func (s *session) serveOne(ctx context.Context, proto thrift.TProtocol) bool {
	e, t := s.e, s.t
	if err := t.beginMessage(); err != nil {
		s.closeReason(err)
		return false
	}
	name, typ, seqID, err := proto.ReadMessageBegin(ctx)
	if err != nil {
		s.closeReason(err)
		return false
	}
	if typ != thrift.CALL && typ != thrift.ONEWAY {
		e.stats.ProtocolErrors.Add(1)
		_, _ = replyException(ctx, proto, name, seqID, thrift.INVALID_MESSAGE_TYPE_EXCEPTION, "message type is not CALL or ONEWAY")
		return false
	}
	fn, found := e.fns[name]
	if !found {
		e.stats.UnknownMethods.Add(1)
		if err := skipArgs(ctx, proto); err != nil {
			s.closeReason(err)
			return false
		}
		ok, _ := replyException(ctx, proto, name, seqID, thrift.UNKNOWN_METHOD, "Unknown function "+name)
		return ok
	}
	ok, err := fn.Process(ctx, seqID, proto, proto)
	if !ok {
		s.closeReason(err)
	}
	return ok
}

// closeReason counts why a session ends; a client closing is not an error.
func (s *session) closeReason(err error) {
	e := s.e
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), e.closing.Load():
	case errors.Is(err, os.ErrDeadlineExceeded):
		e.stats.Timeouts.Add(1)
		e.log.Debug("session timed out", "client", s.client.String())
	default:
		e.stats.ProtocolErrors.Add(1)
		e.log.Debug("closing session", "client", s.client.String(), "error", err)
	}
}
