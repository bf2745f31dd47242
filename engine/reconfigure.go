package engine

import (
	"context"
	"sync"
	"sync/atomic"
)

// NeedsRestart names, by their toml keys, the settings of next that differ
// from c and that a running engine cannot change: the listeners (bound
// once), max_sessions (the session slots are allocated once), the
// sampled tracing and the protocol limits (every open session's transport and decoder already
// hold them). Every other setting takes effect through Reconfigure.
func (c Config) NeedsRestart(next Config) []string {
	var keys []string
	add := func(differs bool, key string) {
		if differs {
			keys = append(keys, key)
		}
	}
	add(c.Listen != next.Listen, "listen")
	add(c.Unix != next.Unix, "unix")
	add(c.UnixMode != next.UnixMode, "unix_mode")
	add(c.MaxSessions != next.MaxSessions, "max_sessions")
	add(c.MaxMessageBytes != next.MaxMessageBytes, "max_message_bytes")
	add(c.MaxContainerSize != next.MaxContainerSize, "max_container_size")
	add(c.Trace != next.Trace, "trace") // built into the method tables; POST /trace arms tracing live
	return keys
}

// Fixed is c with the settings NeedsRestart lists taken from running: the
// configuration a running engine has after Reconfigure(c).
func (c Config) Fixed(running Config) Config {
	c.Listen, c.Unix, c.UnixMode = running.Listen, running.Unix, running.UnixMode
	c.MaxSessions, c.MaxMessageBytes, c.MaxContainerSize = running.MaxSessions, running.MaxMessageBytes, running.MaxContainerSize
	c.Trace = running.Trace
	return c
}

// Reconfigure validates cfg and applies its live settings to calls and
// sessions from now on: timeouts, slow_call, accept_wait, drain_timeout
// and the rate limit (a changed rate or burst starts every client with a
// full bucket). Calls already running keep the deadline they began with;
// the watchdog's bound on a busy session (read + call + write timeouts)
// uses the new values at once. The settings NeedsRestart names keep their
// running values.
func (e *Engine) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.reconfMu.Lock()
	defer e.reconfMu.Unlock()
	old := e.settings()
	next := cfg.Fixed(e.cfg)
	if next.RateLimit != old.RateLimit || next.RateBurst != old.RateBurst {
		e.limits.Store(newClientLimits(next.RateLimit, next.RateBurst))
	}
	e.current.Store(&next)
	return nil
}

// Settings is the configuration in effect now.
func (e *Engine) Settings() Config { return *e.settings() }

func (e *Engine) settings() *Config { return e.current.Load() }

// WaitCalls waits until every call that was running when it was called
// has returned, or ctx ends. Calls that begin meanwhile are not waited
// for. After swapping what calls use (a backend pool), the old one is
// unused once WaitCalls returns nil, provided a call picks it up only
// after it has begun (the call middleware enters a generation first).
func (e *Engine) WaitCalls(ctx context.Context) error {
	old := e.calls.Swap(newCallGen())
	return old.wait(ctx)
}

// callGen counts the calls that began while it was the engine's current
// generation; once retired, it signals when the last of them returns.
type callGen struct {
	running atomic.Int64
	retired atomic.Bool
	once    sync.Once
	idle    chan struct{} // closed once retired with no call running
}

func newCallGen() *callGen { return &callGen{idle: make(chan struct{})} }

// enterCall counts a call in the current generation; the caller must call
// leave on what it returns.
func (e *Engine) enterCall() *callGen {
	g := e.calls.Load()
	g.running.Add(1)
	return g
}

func (g *callGen) leave() {
	if g.running.Add(-1) == 0 && g.retired.Load() {
		g.once.Do(func() { close(g.idle) })
	}
}

// wait retires g and waits for its calls. A call that loaded g just before
// it was retired and counts itself after the check below began after the
// retirement, so it already sees whatever was swapped in before.
func (g *callGen) wait(ctx context.Context) error {
	g.retired.Store(true)
	if g.running.Load() == 0 {
		g.once.Do(func() { close(g.idle) })
	}
	select {
	case <-g.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
