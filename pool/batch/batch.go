// Package batch groups concurrent calls to one server into one round trip.
// A caller that is alone sends its call itself, at no extra cost; calls that
// arrive while others are in flight queue up, and a few lanes each send
// whatever has queued as one batch (a redis pipeline, a memcached multi-get).
// With many concurrent sessions that turns a write and a read per call into
// one per batch, on faed's side and on the server's.
package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrClosed: the batcher was closed while the call waited.
var ErrClosed = errors.New("batcher closed")

// Call is one queued call; Send fills Resp or Err.
type Call[Q, R any] struct {
	Ctx  context.Context
	Req  Q
	Resp R
	Err  error
	done chan struct{}
}

// Config shapes a batcher.
type Config[Q, R any] struct {
	// Lanes is how many batches may be in flight at once.
	Lanes int
	// Max bounds one batch.
	Max int
	// Send answers every call of a batch (never with the calls' own
	// contexts: one caller giving up must not fail the others).
	Send func(batch []*Call[Q, R])
	// Direct answers a lone call on the caller's goroutine.
	Direct func(ctx context.Context, q Q) (R, error)
}

// Batcher runs calls directly or in batches.
type Batcher[Q, R any] struct {
	cfg    Config[Q, R]
	active atomic.Int64
	queue  chan *Call[Q, R]
	stop   chan struct{}
	lanes  sync.WaitGroup
}

// New starts the lanes.
func New[Q, R any](cfg Config[Q, R]) *Batcher[Q, R] {
	b := &Batcher[Q, R]{cfg: cfg, queue: make(chan *Call[Q, R], 4*cfg.Max), stop: make(chan struct{})}
	for range cfg.Lanes {
		b.lanes.Add(1)
		go b.lane()
	}
	return b
}

// Do answers q, directly when no other call is in progress, else in a
// batch. When ctx ends first Do returns its error; the call may still be
// sent (its outcome is then unknown to the caller).
func (b *Batcher[Q, R]) Do(ctx context.Context, q Q) (R, error) {
	defer b.active.Add(-1)
	if b.active.Add(1) == 1 {
		return b.cfg.Direct(ctx, q)
	}
	c := &Call[Q, R]{Ctx: ctx, Req: q, done: make(chan struct{})}
	var zero R
	select {
	case b.queue <- c:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.stop:
		return zero, ErrClosed
	}
	select {
	case <-c.done:
		return c.Resp, c.Err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (b *Batcher[Q, R]) lane() {
	defer b.lanes.Done()
	batch := make([]*Call[Q, R], 0, b.cfg.Max)
	for {
		select {
		case c := <-b.queue:
			batch = append(batch[:0], c)
		case <-b.stop:
			return
		}
	drain:
		for len(batch) < b.cfg.Max {
			select {
			case c := <-b.queue:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		b.send(batch)
	}
}

// send drops calls whose context already ended, then sends the rest.
func (b *Batcher[Q, R]) send(batch []*Call[Q, R]) {
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.Ctx.Err(); err != nil {
			c.Err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) > 0 {
		b.cfg.Send(live)
	}
	for _, c := range live {
		close(c.done)
	}
}

// Close stops the lanes; queued calls not yet taken fail with ErrClosed.
func (b *Batcher[Q, R]) Close() {
	close(b.stop)
	b.lanes.Wait()
}
