package engine

import (
	"context"
	"time"
)

// watchTick is how often the watchdog enforces timeouts; they may fire up
// to one tick late.
const watchTick = 25 * time.Millisecond

// Session phases, as seen by the watchdog.
const (
	phaseIdle    int32 = iota // waiting for the first byte of a call
	phaseBusy                 // reading, running or answering a call
	phaseExpired              // the watchdog ended the session
)

// pastDeadline wakes a blocked read or write at once.
var pastDeadline = time.Unix(1, 0)

// watch is the engine's single timer for every session: it expires idle
// sessions after idle_timeout (or the drain grace while stopping), busy
// ones after read+call+write timeouts, and cancels calls past call_timeout
// or whose client hung up.
// Per-call timers would cost more than the calls they guard.
func (e *Engine) watch() {
	defer close(e.watchDone)
	tick := time.NewTicker(watchTick)
	defer tick.Stop()
	for {
		select {
		case <-e.watchStop:
			return
		case now := <-tick.C:
			e.sweep(now)
		}
	}
}

func (e *Engine) sweep(now time.Time) {
	c := e.settings()
	idleLimit := c.IdleTimeout
	var idleFrom time.Time // idle age counts from here at the earliest
	if e.closing.Load() {
		idleLimit, idleFrom = e.grace(), e.drainStart()
		if now.Sub(idleFrom) >= max(drainIdleMax, e.grace()) {
			idleLimit = 0
		}
	}
	busyLimit := c.ReadTimeout + c.CallTimeout + c.WriteTimeout
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.sessions {
		if call := s.call.Load(); call != nil && call.expired(now) {
			call.cancel(context.DeadlineExceeded)
		}
		since := time.Unix(0, s.since.Load())
		age := now.Sub(since)
		switch s.phase.Load() {
		case phaseIdle:
			if now.Sub(later(since, idleFrom)) >= idleLimit && s.phase.CompareAndSwap(phaseIdle, phaseExpired) {
				_ = s.t.conn.SetReadDeadline(pastDeadline)
			}
		case phaseBusy:
			if call := s.call.Load(); call != nil {
				e.cancelIfHungUp(s, call, age)
			}
			if age >= busyLimit && s.phase.CompareAndSwap(phaseBusy, phaseExpired) {
				_ = s.t.conn.SetDeadline(pastDeadline)
			}
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
