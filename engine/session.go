package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
)

// drainGrace is how long an idle session may still send one more call once
// a graceful stop began, counted from its last call (or from the stop's
// start, whichever is later); a call already on the wire is served, not
// dropped. drainIdleMax ends every idle session, however recently used:
// persistent clients that never pause long enough.
const (
	drainGrace   = 100 * time.Millisecond
	drainIdleMax = time.Second
)

// errExpired: the watchdog ended the session while it was waking up.
var errExpired = errors.New("session expired")

// errEvicted: the session was closed idle to make room for a new one.
var errEvicted = errors.New("session closed to make room")

type sessionKey struct{}

// sessionOf returns the session a call's context belongs to, or nil.
func sessionOf(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// clientOf returns the calling client carried by a call's context.
func clientOf(ctx context.Context) *client {
	if s := sessionOf(ctx); s != nil {
		return &s.client
	}
	return nil
}

// session serves one client connection: calls in order, one at a time.
// phase, since and call are shared with the watchdog.
type session struct {
	e      *Engine
	t      *transport
	client client
	locals Locals // handlers' per-connection values

	phase atomic.Int32            // phaseIdle, phaseBusy, phaseExpired, phaseHandOver or phaseEvicted
	since atomic.Int64            // unix ns when the phase began
	call  atomic.Pointer[callCtx] // the running call, if any

	slotGiven bool // under e.mu: closed to make room, its slot is a new session's
}

func (s *session) serve() {
	e, t := s.e, s.t
	ctx := context.WithValue(context.Background(), sessionKey{}, s)
	defer s.locals.closeAll() // after the recover below: runs even after a panic
	defer func() {
		if v := recover(); v != nil { // a thrift decoder bug on hostile input
			e.stats.Panics.Add(1)
			e.log.Error("session panicked", "client", &s.client, "panic", v)
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
		e.log.Debug("closing session", "client", &s.client, "error", err)
		return
	}
	proto := protocolFor(format, t, e.conf)
	for {
		ok := s.serveOne(ctx, proto)
		// A call that could not be decoded has had its error reply. In
		// framed mode the frame says where the next call starts, so the
		// session goes on past the rest of this one; a buffered stream is
		// out of step and ends.
		if ok || t.framed {
			ok = t.endMessage() == nil
		}
		if !ok {
			return
		}
		// While the engine stops, a session may go on: a PHP request
		// making its second call on the connection is served. The
		// watchdog closes it once it is idle (see sweep).
		if err := s.waitCall(); err != nil {
			return
		}
	}
}

// busySince is when the current call's first byte arrived (now, outside a
// session).
func (s *session) busySince() time.Time {
	if s == nil {
		return time.Now()
	}
	return time.Unix(0, s.since.Load())
}

// setCall publishes the running call to the watchdog.
func (s *session) setCall(c *callCtx) {
	if s != nil {
		s.call.Store(c)
	}
}

// waitCall waits for the next call's first byte. The watchdog bounds the
// wait by idle_timeout and the call that follows by read, call and write
// timeouts; a phase change it made first ends the session.
func (s *session) waitCall() error {
	s.since.Store(time.Now().UnixNano())
	if !s.phase.CompareAndSwap(phaseBusy, phaseIdle) {
		return errExpired
	}
	for {
		if s.tryPass() { // a binary upgrade: the successor serves the next call
			return errPassed
		}
		err := s.t.waitReadable()
		if err == nil {
			break
		}
		if s.tryPass() {
			return errPassed
		}
		if s.keepWaiting() {
			continue // woken for the hand-over, but it holds a transaction
		}
		if s.phase.Load() == phaseEvicted {
			return errEvicted // counted as evicted, not as a timeout
		}
		s.closeReason(err)
		return err
	}
	s.since.Store(time.Now().UnixNano())
	if !s.phase.CompareAndSwap(phaseIdle, phaseBusy) && !s.resume() {
		return errExpired
	}
	return nil
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
	fn, found := e.processors()[name]
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
		e.log.Debug("session timed out", "client", &s.client)
	default:
		e.stats.ProtocolErrors.Add(1)
		e.log.Debug("closing session", "client", &s.client, "error", err)
	}
}
