package engine

import "time"

// MaxSlotWaiters is maxSlotWaiters, for tests that fill the waiters.
const MaxSlotWaiters = maxSlotWaiters

// SetRoomIdle sets how long a session must have been idle before e may
// close it to make room (roomIdle in production).
func SetRoomIdle(e *Engine, d time.Duration) {
	e.room.mu.Lock()
	defer e.room.mu.Unlock()
	e.room.minIdle = d
	e.room.queue, e.room.notUntil = nil, time.Time{}
}

// HoldAccepts keeps e's accept loops from taking connections, from the one
// after the connection each is accepting now, until Shutdown begins: new
// clients wait in the kernel's queue meanwhile.
func HoldAccepts(e *Engine) {
	h := make(chan struct{})
	e.acceptHold.Store(&h)
}

// IdleSessions counts e's sessions waiting for their client's next call.
func IdleSessions(e *Engine) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for s := range e.sessions {
		if s.phase.Load() == phaseIdle {
			n++
		}
	}
	return n
}
