package engine

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// phaseEvicted: an idle session closed to make room for a new connection;
// its slot already belongs to that connection's session.
const phaseEvicted int32 = phaseHandOver + 1

// roomIdle is how long a session must have been idle before it may be
// closed to make room: a PHP request pausing between two calls on its
// connection is not cut off.
const roomIdle = time.Second

// roomBatch is how many candidates one look over the session table keeps,
// so a flood of new connections does not walk the table once each.
const roomBatch = 64

// room picks the idle sessions closed to make room at max_sessions.
// Its lock is taken before the engine's.
type room struct {
	mu       sync.Mutex
	queue    []candidate // longest idle first; checked again before closing
	notUntil time.Time   // no session can qualify before this
	minIdle  time.Duration
}

// candidate is a session seen idle since the given unix ns; it qualifies
// only while it is still in that same idle spell.
type candidate struct {
	s     *session
	since int64
}

// makeRoom closes the longest-idle session that holds nothing (no
// transaction or other Locals value) and has been idle at least
// roomIdle, and gives its slot to the caller: true if it did. A busy
// session is never closed.
func (e *Engine) makeRoom() bool {
	r := &e.room
	r.mu.Lock()
	defer r.mu.Unlock()
	looked := false
	for {
		if len(r.queue) == 0 {
			now := time.Now()
			if looked || now.Before(r.notUntil) {
				return false
			}
			r.queue, r.notUntil = e.roomCandidates(now, r.minIdle)
			looked = true
			continue
		}
		c := r.queue[0]
		r.queue = r.queue[1:]
		if e.evict(c) {
			return true
		}
	}
}

// roomCandidates lists up to roomBatch sessions that may be closed to make
// room, longest idle first, and the earliest time another could qualify:
// a session idle now but not long enough qualifies at since+minIdle, any
// other only after its next call, minIdle from now at the soonest. Locals
// change only during a call, so one held while idle stays held.
func (e *Engine) roomCandidates(now time.Time, minIdle time.Duration) ([]candidate, time.Time) {
	next := now.Add(minIdle)
	var cs []candidate
	e.mu.Lock()
	for s := range e.sessions {
		if s.phase.Load() != phaseIdle || s.locals.held.Load() {
			continue
		}
		since := s.since.Load()
		if at := time.Unix(0, since).Add(minIdle); at.After(now) {
			if at.Before(next) {
				next = at
			}
			continue
		}
		cs = append(cs, candidate{s, since})
	}
	e.mu.Unlock()
	if len(cs) > roomBatch {
		next = now // the rest qualify already: look again once these are used
	}
	slices.SortFunc(cs, func(a, b candidate) int { return cmp.Compare(a.since, b.since) })
	return cs[:min(len(cs), roomBatch)], next
}

// evict closes c's session the way the watchdog expires an idle one, if it
// is still registered and in the idle spell it was picked in, and keeps
// its slot for the caller (endSession does not give it back). Under e.mu,
// so endSession sees the slot as given or the session as gone.
func (e *Engine) evict(c candidate) bool {
	s := c.s
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, live := e.sessions[s]; !live || s.since.Load() != c.since || s.locals.held.Load() {
		return false
	}
	if !s.phase.CompareAndSwap(phaseIdle, phaseEvicted) {
		return false
	}
	s.slotGiven = true
	_ = s.t.conn.SetReadDeadline(pastDeadline)
	e.stats.Evicted.Add(1)
	return true
}
