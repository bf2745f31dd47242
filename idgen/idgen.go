// Package idgen issues unique, increasing 64-bit ids (snowflake layout:
// timestamp, tag, worker, sequence) for one worker, and keeps the
// high-water mark of issued timestamps in a state file so a restart with
// the clock behind never reissues one.
package idgen

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// ID layout (compat): ts<<22 | tag<<17 | worker<<12 | seq, ts in ms since
// epochMs (2014-01-04).
const (
	epochMs    = 1388834974657
	seqBits    = 12
	workerBits = 5
	tagBits    = 5
	maxSeq     = 1<<seqBits - 1
	maxTag     = 1<<tagBits - 1
	maxWorker  = 1<<workerBits - 1
	// MaxClockBack is the longest wait for a clock that stepped back.
	MaxClockBack = 100 * time.Millisecond
)

// Errors of the id generator.
var (
	// ErrClockBack: the clock is behind the last issued id by more than
	// the allowed wait; no id is issued rather than risk a duplicate.
	ErrClockBack = errors.New("clock moved backwards")
	// ErrBadTag: tags are 0–31.
	ErrBadTag = errors.New("tag out of range 0-31")
	// ErrState: the high-water mark could not be saved.
	ErrState = errors.New("id state file")
)

// Config configures the id generator.
type Config struct {
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

// DefaultConfig waits up to 100ms for the clock and keeps no state file.
func DefaultConfig() Config {
	return Config{MaxClockBack: MaxClockBack, Reserve: 100 * time.Millisecond}
}

// Validate checks the bounds: a clock wait of at most MaxClockBack, and a
// reserve of at least 1ms with a state file.
func (c Config) Validate() error {
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

// Generator issues unique, increasing 64-bit ids for one worker.
type Generator struct {
	lease   WorkerLease // nil: the configured worker
	worker  int64
	maxBack time.Duration
	clock   Clock
	state   *state // nil without a state file

	mu     sync.Mutex
	lastMs int64 // ms since epochMs of the last id
	seq    int64
	half   Half // which sequence numbers this process issues
}

// Half is the part of each millisecond's sequence numbers a generator
// issues. During a binary upgrade two processes share one worker id for a
// moment: the old one issues the even numbers, the new one the odd ones,
// so they can never issue the same id.
type Half int

// The halves.
const (
	Whole Half = iota // every sequence number: one process alone
	Even              // 0, 2, 4, …: the old process during an upgrade
	Odd               // 1, 3, 5, …: the new process until the old one is gone
)

func (h Half) first() int64 {
	if h == Odd {
		return 1
	}
	return 0
}

func (h Half) step() int64 {
	if h == Whole {
		return 1
	}
	return 2
}

// New builds a generator for worker (0–31). With a state file it
// starts above every timestamp a previous run may have issued. A nil clock
// is the system clock.
func New(cfg Config, worker int, clock Clock) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if worker < 0 || worker > maxWorker {
		return nil, fmt.Errorf("worker id %d out of range 0-%d", worker, maxWorker)
	}
	if clock == nil {
		clock = systemClock{}
	}
	g := &Generator{worker: int64(worker), maxBack: cfg.MaxClockBack, clock: clock, lastMs: -1}
	if cfg.StateFile != "" {
		st, mark, err := openState(cfg.StateFile, cfg.Reserve)
		if err != nil {
			return nil, err
		}
		g.state, g.lastMs, g.seq = st, mark, maxSeq // next id needs a later ms
	}
	return g, nil
}

// UseLease takes the worker id from lease from now on, before ids are
// issued.
func (g *Generator) UseLease(l WorkerLease) { g.lease = l }

// Worker is the worker id baked into every id; -1 while a lease is lapsed.
func (g *Generator) Worker() int {
	w, err := g.currentWorker()
	if err != nil {
		return -1
	}
	return int(w)
}

// currentWorker is the configured worker, or the lease's while one is used.
func (g *Generator) currentWorker() (int64, error) {
	if g.lease == nil {
		return g.worker, nil
	}
	w, err := g.lease.Worker()
	return int64(w), err
}

// Next issues an id with tag (0–31).
func (g *Generator) Next(tag int) (int64, error) {
	if tag < 0 || tag > maxTag {
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
func (g *Generator) reserve() (ms, seq int64, err error) {
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
			g.lastMs, g.seq = now, g.half.first()
			seq := g.seq
			g.mu.Unlock()
			return now, seq, nil
		case now == g.lastMs && g.seq+g.half.step() <= maxSeq:
			g.seq += g.half.step()
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

func (g *Generator) nowMs() int64 { return g.clock.Now().UnixMilli() - epochMs }

// Split switches to issuing half h of the sequence numbers, from the next
// millisecond on (so ids already issued in this one cannot be met again).
//
// Even is for the old process just before it starts its successor: the
// exact high-water mark is saved, so the successor (which opens the state
// file and starts after the mark, with Odd) waits no longer than needed.
// Whole is for the process left alone: the successor once the old one has
// exited (the mark is saved again, as the old one may have written its own
// last), or the old one when the successor failed to start.
func (g *Generator) Split(h Half) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.half = h
	g.lastMs, g.seq = max(g.lastMs, g.nowMs()), maxSeq
	if h == Odd {
		return nil
	}
	return g.state.close(g.lastMs)
}

// Close saves the final high-water mark; a process that has handed over
// (Even) leaves the file to its successor, whose mark is the later one.
func (g *Generator) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.half == Even {
		return nil
	}
	return g.state.close(g.lastMs)
}

// Decode splits an id into [unix-ms, tag, worker, seq].
func Decode(id int64) []int64 {
	return []int64{
		id>>22 + epochMs,
		id >> 17 & maxTag,
		id >> 12 & maxWorker,
		id & maxSeq,
	}
}
