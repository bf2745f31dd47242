package servant

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// ID layout (compat): ts<<22 | tag<<17 | worker<<12 | seq, ts in ms since
// idEpochMs.
const (
	idEpochMs  = 1388834974657
	idSeqBits  = 12
	idWorkBits = 5
	idTagBits  = 5
	idMaxSeq   = 1<<idSeqBits - 1
	idMaxTag   = 1<<idTagBits - 1
	idMaxWork  = 1<<idWorkBits - 1
	// MaxClockBack is the longest wait for a clock that stepped back.
	MaxClockBack = 100 * time.Millisecond
)

// Errors of the ID generator.
var (
	// ErrClockBack: the clock is behind the last issued id by more than
	// the allowed wait; no id is issued rather than risk a duplicate.
	ErrClockBack = errors.New("clock moved backwards")
	// ErrBadTag: tags are 0–31.
	ErrBadTag = errors.New("tag out of range 0-31")
	// ErrIDState: the high-water mark could not be saved.
	ErrIDState = errors.New("id state file")
)

// IDConfig configures the ID generator.
type IDConfig struct {
	// MaxClockBack is how long id_next waits for a clock that stepped back
	// before it fails; at most MaxClockBack (100ms).
	MaxClockBack time.Duration `toml:"max_clock_back"`
	// StateFile keeps a high-water mark of issued timestamps so a restart
	// with the clock behind never reissues ids. Empty disables it.
	StateFile string `toml:"state_file"`
	// Reserve is how far ahead of the last issued timestamp the state file
	// is written; a restart sooner than this after a stop waits (bounded by
	// MaxClockBack) for the clock to pass the mark.
	Reserve time.Duration `toml:"reserve"`
}

// DefaultIDConfig waits up to 100ms for the clock and keeps no state file.
func DefaultIDConfig() IDConfig {
	return IDConfig{MaxClockBack: MaxClockBack, Reserve: 100 * time.Millisecond}
}

// Validate checks the bounds SPEC sets.
func (c IDConfig) Validate() error {
	switch {
	case c.MaxClockBack < 0 || c.MaxClockBack > MaxClockBack:
		return fmt.Errorf("max_clock_back must be within 0-%v", MaxClockBack)
	case c.StateFile != "" && c.Reserve < time.Millisecond:
		return errors.New("reserve must be >= 1ms when state_file is set")
	}
	return nil
}

// Clock is the generator's time source: the system clock in faed, a
// stepped one in tests (a clock that jumps back is the case to survive).
type Clock interface {
	Now() time.Time
	Sleep(time.Duration)
}

type systemClock struct{}

func (systemClock) Now() time.Time        { return time.Now() }
func (systemClock) Sleep(d time.Duration) { time.Sleep(d) }

// WorkerLease hands out a worker id that may lapse (peer.Node leases it
// from ZooKeeper).
type WorkerLease interface {
	Worker() (int, error)
}

// IDGen issues unique, increasing 64-bit ids for one worker.
type IDGen struct {
	lease   WorkerLease // nil: the configured worker
	worker  int64
	maxBack time.Duration
	clock   Clock
	state   *idState // nil without a state file

	mu     sync.Mutex
	lastMs int64 // ms since idEpochMs of the last id
	seq    int64
}

// NewIDGen builds a generator for worker (0–31). With a state file it
// starts above every timestamp a previous run may have issued. A nil clock
// is the system clock.
func NewIDGen(cfg IDConfig, worker int, clock Clock) (*IDGen, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if worker < 0 || worker > idMaxWork {
		return nil, fmt.Errorf("worker id %d out of range 0-%d", worker, idMaxWork)
	}
	if clock == nil {
		clock = systemClock{}
	}
	g := &IDGen{worker: int64(worker), maxBack: cfg.MaxClockBack, clock: clock, lastMs: -1}
	if cfg.StateFile != "" {
		st, mark, err := openIDState(cfg.StateFile, cfg.Reserve)
		if err != nil {
			return nil, err
		}
		g.state, g.lastMs, g.seq = st, mark, idMaxSeq // next id needs a later ms
	}
	return g, nil
}

// UseLease takes the worker id from lease from now on, before ids are
// issued.
func (g *IDGen) UseLease(l WorkerLease) { g.lease = l }

// Worker is the worker id baked into every id; -1 while a lease is lapsed.
func (g *IDGen) Worker() int {
	w, err := g.currentWorker()
	if err != nil {
		return -1
	}
	return int(w)
}

// currentWorker is the configured worker, or the lease's while one is used.
func (g *IDGen) currentWorker() (int64, error) {
	if g.lease == nil {
		return g.worker, nil
	}
	w, err := g.lease.Worker()
	return int64(w), err
}

// Next issues an id with tag (0–31).
func (g *IDGen) Next(tag int) (int64, error) {
	if tag < 0 || tag > idMaxTag {
		return 0, fmt.Errorf("%w: %d", ErrBadTag, tag)
	}
	worker, err := g.currentWorker()
	if err != nil {
		return 0, err
	}
	ms, seq, err := g.reserve()
	if err != nil {
		return 0, err
	}
	return ms<<22 | int64(tag)<<17 | worker<<12 | seq, nil
}

// reserve takes the next (ms, seq) pair. When the clock is behind the last
// id it waits, without holding the lock, up to maxBack in total; it never
// issues ids ahead of the clock, so a step back shows as a wait or an error.
func (g *IDGen) reserve() (ms, seq int64, err error) {
	var waited time.Duration
	for {
		now := g.nowMs()
		g.mu.Lock()
		if now < g.lastMs {
			// A reading taken before a long wait for the lock is stale, not
			// a clock step: only a reading under the lock may say "behind".
			now = g.nowMs()
		}
		switch {
		case now > g.lastMs:
			if err := g.state.cover(now); err != nil {
				g.mu.Unlock()
				return 0, 0, err
			}
			g.lastMs, g.seq = now, 0
			g.mu.Unlock()
			return now, 0, nil
		case now == g.lastMs && g.seq < idMaxSeq:
			g.seq++
			ms, seq = g.lastMs, g.seq
			g.mu.Unlock()
			return ms, seq, nil
		}
		behind := time.Duration(g.lastMs-now+1) * time.Millisecond
		g.mu.Unlock()
		if behind <= time.Millisecond {
			runtime.Gosched() // sequence full: the next ms is under 1ms away
			continue
		}
		if waited+behind > g.maxBack {
			return 0, 0, fmt.Errorf("%w: %v behind the last id (waits at most %v)", ErrClockBack, behind, g.maxBack)
		}
		g.clock.Sleep(behind)
		waited += behind
	}
}

func (g *IDGen) nowMs() int64 { return g.clock.Now().UnixMilli() - idEpochMs }

// Close saves the final high-water mark.
func (g *IDGen) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.close(g.lastMs)
}

// DecodeID splits an id into [unix-ms, tag, worker, seq].
func DecodeID(id int64) []int64 {
	return []int64{
		id>>22 + idEpochMs,
		id >> 17 & idMaxTag,
		id >> 12 & idMaxWork,
		id & idMaxSeq,
	}
}
