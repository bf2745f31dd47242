package engine

import (
	"context"
	"syscall"
	"time"
)

// hangupAfter is how long a call runs before the watchdog starts checking
// whether its client is still there; quicker calls are not worth a syscall.
const hangupAfter = 50 * time.Millisecond

// hungUp reports whether the client closed its end while a call is running
// (php-fpm gives up after its socket timeout, 750ms by default). It peeks
// at the socket without blocking: end of stream or a reset means gone;
// pending bytes (a pipelined next call) or nothing yet mean still there.
// A client that half-closes its socket and waits for the reply counts as
// gone: Thrift clients do not do that.
func (t *transport) hungUp() bool {
	if t.raw == nil {
		return false
	}
	gone := false
	var b [1]byte
	_ = t.raw.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = (n == 0 && err == nil) || err == syscall.ECONNRESET
	})
	return gone
}

// cancelIfHungUp cancels the running call of a session whose client has
// gone, so that backend work for it stops.
func (e *Engine) cancelIfHungUp(s *session, call *callCtx, age time.Duration) {
	if age < hangupAfter || call.Err() != nil || !s.t.hungUp() {
		return
	}
	e.stats.HungUp.Add(1)
	call.cancel(context.Canceled)
}
