package engine

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Accept back-off after errors such as EMFILE: the loop survives and
// retries, doubling the pause up to maxAcceptBackoff.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// acceptDrain is how long a stopping engine keeps accepting what is already
// queued once new connections are turned away; well under drainGrace, so
// a connection accepted then still gets its call served.
const acceptDrain = 25 * time.Millisecond

func (e *Engine) acceptLoop(l net.Listener) {
	defer e.accepting.Done()
	var backoff time.Duration
	for {
		e.holdAccepts()
		conn, err := l.Accept()
		if err != nil {
			if e.closing.Load() || errors.Is(err, net.ErrClosed) {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					e.lastAccepts(l) // the stop's drain ended: see Shutdown
				}
				return
			}
			e.stats.AcceptErrors.Add(1)
			backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
			e.log.Warn("accept failed", "addr", l.Addr().String(), "error", err, "retry_in", backoff)
			if !e.sleep(backoff) {
				return
			}
			continue
		}
		backoff = 0
		e.admit(conn)
	}
}

// maxSlotWaiters bounds the connections over max_sessions that wait for a
// slot, each on its own goroutine; past it an excess connection is closed
// at once. The accept loop itself never waits, so the kernel's queue keeps
// draining and every new client is served or turned away quickly.
const maxSlotWaiters = 64

// admit serves conn in a free slot, or in one made by closing an idle
// session (makeRoom). Failing both it waits for a slot in the background,
// at most accept_wait, and is refused when none frees or too many wait.
// A stop waits for the waiters as for an accept loop.
func (e *Engine) admit(conn net.Conn) {
	if e.takeSlot() {
		e.startSession(conn)
		return
	}
	wait := e.settings().AcceptWait
	if wait <= 0 {
		e.refuse(conn)
		return
	}
	if e.waiters.Add(1) > maxSlotWaiters {
		e.waiters.Add(-1)
		e.refuse(conn)
		return
	}
	e.accepting.Add(1) // the caller holds one: never from zero
	go func() {
		defer e.accepting.Done()
		ok := e.waitSlot(wait)
		e.waiters.Add(-1)
		if !ok {
			e.refuse(conn)
			return
		}
		e.startSession(conn)
	}()
}

// acquireSlot takes a session slot as admit does, waiting for one on the
// caller's goroutine.
func (e *Engine) acquireSlot() bool {
	if e.takeSlot() {
		return true
	}
	wait := e.settings().AcceptWait
	return wait > 0 && e.waitSlot(wait)
}

// takeSlot takes a free slot, or the slot of an idle session it closes.
func (e *Engine) takeSlot() bool {
	select {
	case e.slots <- struct{}{}:
		return true
	default:
	}
	return e.makeRoom()
}

// waitSlot waits up to wait for a slot to free.
func (e *Engine) waitSlot(wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case e.slots <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-e.baseCtx.Done():
		return false
	}
}

// refuse closes a connection no slot could be found for.
func (e *Engine) refuse(conn net.Conn) {
	e.stats.Refused.Add(1)
	conn.Close()
}

// holdAccepts waits while a test holds the accept loops (see acceptHold).
func (e *Engine) holdAccepts() {
	if h := e.acceptHold.Load(); h != nil {
		<-*h
	}
}

// releaseAccepts ends a hold: a stop takes what waits in the kernel's queue.
func (e *Engine) releaseAccepts() {
	if h := e.acceptHold.Swap(nil); h != nil {
		close(*h)
	}
}

// sleep pauses for d unless the engine stops first.
func (e *Engine) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-e.baseCtx.Done():
		return false
	}
}

// listenUnix binds a unix socket, replacing a stale socket file left by a
// dead process but never one a live process still serves.
func listenUnix(path string, mode uint32) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("unix socket %s: file exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("unix socket %s: %w", path, syscall.EADDRINUSE)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("unix socket %s: remove stale file: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	if err := os.Chmod(path, os.FileMode(mode)); err != nil {
		l.Close()
		return nil, fmt.Errorf("unix socket %s: chmod: %w", path, err)
	}
	return l, nil
}

// lastAccepts takes the connections still queued on a quiesced listener
// and closes it in one go, so the gap in which a new connection could join
// the queue (and be reset by the close) is a few instructions wide. The
// connections taken are served like any other.
func (e *Engine) lastAccepts(l net.Listener) {
	conns := acceptQueued(l)
	l.Close()
	for _, c := range conns {
		e.admit(c)
	}
}
