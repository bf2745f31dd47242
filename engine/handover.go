package engine

import (
	"errors"
	"net"
	"time"
)

// phaseHandOver: an idle session woken to be passed to the successor
// process (see HandOverSessions); it is served here after all if bytes of
// a call had already arrived.
const phaseHandOver int32 = phaseExpired + 1

// errPassed ends a session whose connection now belongs to the successor.
var errPassed = errors.New("connection passed to the new process")

// Passer gives a client connection to the successor process, which serves
// it from its next call on; false when it could not (the session is then
// closed as in any stop).
type Passer func(net.Conn) bool

// HandOverSessions is HandOver plus the client connections: from now on
// every session that is idle and holds nothing (no transaction or other
// per-connection value, no byte of a call read) is given to the successor
// through pass instead of being closed, so a persistent client keeps its
// connection through a binary upgrade and never meets a closed socket.
// Sessions busy with a call are passed once their call is answered.
func (e *Engine) HandOverSessions(pass Passer) {
	e.HandOver()
	e.passer.Store(&pass)
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.sessions {
		if s.phase.CompareAndSwap(phaseIdle, phaseHandOver) {
			_ = s.t.conn.SetReadDeadline(pastDeadline)
		}
	}
}

// Adopt serves a client connection passed from the process before this
// one, as if it had just been accepted.
func (e *Engine) Adopt(conn net.Conn) {
	if e.closing.Load() || !e.acquireSlot() {
		e.stats.Refused.Add(1)
		conn.Close()
		return
	}
	e.stats.Adopted.Add(1)
	e.startSession(conn)
}

// tryPass gives the session's connection to the successor when there is
// one and the session holds nothing; the session then ends without
// closing the client's socket (the successor has it).
func (s *session) tryPass() bool {
	p := s.e.passer.Load()
	if p == nil || s.t.buffered() > 0 || len(s.locals.m) > 0 {
		return false
	}
	if !s.phase.CompareAndSwap(phaseIdle, phaseExpired) && !s.phase.CompareAndSwap(phaseHandOver, phaseExpired) {
		return false
	}
	if !(*p)(s.t.conn) {
		return false // closed as in any stop
	}
	s.e.stats.Passed.Add(1)
	return true
}

// resume takes back a session woken for the hand-over that had a call's
// bytes arriving: it is served here.
func (s *session) resume() bool {
	if !s.phase.CompareAndSwap(phaseHandOver, phaseBusy) {
		return false
	}
	s.since.Store(time.Now().UnixNano())
	_ = s.t.conn.SetReadDeadline(time.Time{})
	return true
}

// keepWaiting puts a session woken for the hand-over that cannot be passed
// (it holds a transaction) back to waiting for its client's next call.
func (s *session) keepWaiting() bool {
	if !s.phase.CompareAndSwap(phaseHandOver, phaseIdle) {
		return false
	}
	_ = s.t.conn.SetReadDeadline(time.Time{})
	return true
}
