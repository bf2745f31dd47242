package engine

import (
	"testing"
	"time"
)

// The sessions closed to make room are the idle ones that hold nothing and
// have been idle at least the minimum, longest idle first; when there are
// none, the earliest time one could qualify bounds the next look.
func TestRoomCandidates(t *testing.T) {
	now := time.Unix(1000, 0)
	e := &Engine{sessions: map[*session]struct{}{}}
	add := func(phase int32, idleFor time.Duration, locals bool) *session {
		s := &session{}
		s.phase.Store(phase)
		s.since.Store(now.Add(-idleFor).UnixNano())
		s.locals.held.Store(locals)
		e.sessions[s] = struct{}{}
		return s
	}
	mid := add(phaseIdle, 3*time.Second, false)
	add(phaseBusy, time.Hour, false)    // busy with a long call
	add(phaseIdle, time.Hour, true)     // holds a transaction
	add(phaseExpired, time.Hour, false) // already ending
	young := add(phaseIdle, 400*time.Millisecond, false)
	oldest := add(phaseIdle, 10*time.Second, false)
	newest := add(phaseIdle, time.Second, false)

	cs, _ := e.roomCandidates(now, time.Second)
	want := []*session{oldest, mid, newest}
	if len(cs) != len(want) {
		t.Fatalf("%d candidates, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		if c.s != want[i] {
			t.Fatalf("candidate %d is not the %d-th longest idle", i, i+1)
		}
	}

	for _, s := range want {
		delete(e.sessions, s)
	}
	cs, next := e.roomCandidates(now, time.Second)
	if len(cs) != 0 {
		t.Fatalf("%d candidates, want none", len(cs))
	}
	if at := time.Unix(0, young.since.Load()).Add(time.Second); !next.Equal(at) {
		t.Fatalf("next look at %v, want %v (when the young idle session qualifies)", next, at)
	}
	delete(e.sessions, young)
	if _, next := e.roomCandidates(now, time.Second); !next.Equal(now.Add(time.Second)) {
		t.Fatalf("next look at %v, want a minimum from now", next)
	}
}
