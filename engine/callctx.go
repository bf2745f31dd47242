package engine

import (
	"context"
	"sync"
	"time"
)

// callCtx is one call's context. It reports an exact Deadline (backend
// clients use it for their own socket deadlines), but unlike
// context.WithTimeout it arms no timer and makes no channel up front: the
// engine's watchdog cancels calls that outlive their deadline, and Done's
// channel is made only for the calls that ask for it. That keeps the common
// fast call free of timer and lock traffic.
type callCtx struct {
	parent   context.Context // the session's context (it carries the session); never cancelled
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{}
	err   error
	after map[*afterFunc]struct{}
}

type afterFunc struct{ f func() }

var _ context.Context = (*callCtx)(nil)

func newCallCtx(parent context.Context, deadline time.Time) *callCtx {
	return &callCtx{parent: parent, deadline: deadline}
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *callCtx) Value(key any) any { return c.parent.Value(key) }

// Done returns a channel closed when the call is cancelled or expires.
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err reports DeadlineExceeded as soon as the deadline has passed, even
// before the watchdog gets to this call.
func (c *callCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err == nil && !time.Now().Before(c.deadline) {
		c.cancel(context.DeadlineExceeded)
		return context.DeadlineExceeded
	}
	return err
}

// AfterFunc lets context.WithCancel and friends, applied to a callCtx by a
// backend client, hook cancellation without a goroutine per derived context.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	if c.after == nil {
		c.after = map[*afterFunc]struct{}{}
	}
	c.after[a] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.after[a]
		delete(c.after, a)
		return ok
	}
}

// cancel ends the call with err; only the first cancel counts.
func (c *callCtx) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	for a := range c.after {
		go a.f()
	}
	c.after = nil
}

// expired reports whether the call is past its deadline at now.
func (c *callCtx) expired(now time.Time) bool { return !now.Before(c.deadline) }
