package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
)

// Engine accepts Thrift clients on its listeners and serves their calls with
// a processor. Build it with New, then Start; Shutdown stops it gracefully.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	conf   *thrift.TConfiguration
	fns    map[string]thrift.TProcessorFunction
	stats  *Stats
	pool   *bufPool
	limits *clientLimits
	slots  chan struct{}

	baseCtx context.Context
	cancel  context.CancelFunc
	closing atomic.Bool

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*transport]struct{}
	sessions  sync.WaitGroup
	accepting sync.WaitGroup
}

// New validates cfg and wraps every method of proc in the call middleware.
func New(cfg Config, proc thrift.TProcessor, log *slog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	methods := make([]string, 0, len(proc.ProcessorMap()))
	for name := range proc.ProcessorMap() {
		methods = append(methods, name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg: cfg,
		log: log,
		conf: &thrift.TConfiguration{
			MaxMessageSize:     cfg.MaxMessageBytes,
			MaxFrameSize:       cfg.MaxMessageBytes,
			MaxContainerSize:   cfg.MaxContainerSize,
			TBinaryStrictRead:  thrift.BoolPtr(false),
			TBinaryStrictWrite: thrift.BoolPtr(true),
		},
		stats:   newStats(methods),
		pool:    newBufPool(),
		limits:  newClientLimits(cfg.RateLimit, cfg.RateBurst),
		slots:   make(chan struct{}, cfg.MaxSessions),
		baseCtx: ctx,
		cancel:  cancel,
		conns:   map[*transport]struct{}{},
	}
	e.fns = chain(proc, e.observe, e.recoverer, e.limitRate, e.withDeadline)
	return e, nil
}

// Stats returns the live counters.
func (e *Engine) Stats() *Stats { return e.stats }

// Start binds the configured listeners and serves them in the background.
// Either all listeners are bound or none is left open.
func (e *Engine) Start() error {
	var ls []net.Listener
	if e.cfg.Listen != "" {
		l, err := net.Listen("tcp", e.cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", e.cfg.Listen, err)
		}
		ls = append(ls, l)
	}
	if e.cfg.Unix != "" {
		l, err := listenUnix(e.cfg.Unix, e.cfg.UnixMode)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return err
		}
		ls = append(ls, l)
	}
	e.Serve(ls...)
	return nil
}

// Serve serves already-bound listeners (e.g. inherited on upgrade).
func (e *Engine) Serve(ls ...net.Listener) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range ls {
		e.listeners = append(e.listeners, l)
		e.accepting.Add(1)
		go e.acceptLoop(l)
		e.log.Info("listening", "network", l.Addr().Network(), "addr", l.Addr().String())
	}
}

// Addr is the bound TCP address, or nil without a TCP listener.
func (e *Engine) Addr() net.Addr { return e.addrOf("tcp") }

// UnixAddr is the bound unix socket address, or nil.
func (e *Engine) UnixAddr() net.Addr { return e.addrOf("unix") }

func (e *Engine) addrOf(network string) net.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.listeners {
		if l.Addr().Network() == network {
			return l.Addr()
		}
	}
	return nil
}

// startSession registers conn and serves it on its own goroutine.
func (e *Engine) startSession(conn net.Conn) {
	t := newTransport(conn, e.pool, e.cfg.MaxMessageBytes)
	e.mu.Lock()
	e.conns[t] = struct{}{}
	e.mu.Unlock()
	e.sessions.Add(1)
	e.stats.Accepted.Add(1)
	e.stats.Sessions.Add(1)
	s := &session{e: e, t: t, client: client{addr: conn.RemoteAddr()}}
	go func() {
		defer e.endSession(t)
		s.serve()
	}()
}

func (e *Engine) endSession(t *transport) {
	t.Close()
	t.release()
	e.mu.Lock()
	delete(e.conns, t)
	e.mu.Unlock()
	e.stats.Sessions.Add(-1)
	<-e.slots
	e.sessions.Done()
}

// grace is how long idle sessions may still send a call during a stop.
func (e *Engine) grace() time.Duration { return min(drainGrace, e.cfg.DrainTimeout) }

// Shutdown stops accepting, lets idle sessions send one last call within a
// short grace, lets busy ones finish their call, and waits for all of them
// until ctx ends; then it closes what is left. Calling it twice is safe.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.closing.Store(true)
	e.mu.Lock()
	for _, l := range e.listeners {
		l.Close()
	}
	e.listeners = nil
	deadline := time.Now().Add(e.grace())
	for t := range e.conns {
		_ = t.conn.SetReadDeadline(deadline)
	}
	e.mu.Unlock()
	e.accepting.Wait()

	done := make(chan struct{})
	go func() { e.sessions.Wait(); close(done) }()
	select {
	case <-done:
		e.cancel()
		return nil
	case <-ctx.Done():
	}
	e.cancel()
	e.mu.Lock()
	left := len(e.conns)
	for t := range e.conns {
		t.Close()
	}
	e.mu.Unlock()
	<-done
	if left > 0 {
		return fmt.Errorf("%w: closed %d sessions still busy", ErrDrainTimeout, left)
	}
	return nil
}

// ErrDrainTimeout: a graceful stop had to cut sessions off.
var ErrDrainTimeout = errors.New("drain deadline reached")
