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
	cfg   Config // as built: what NeedsRestart lists is read from here
	log   *slog.Logger
	conf  *thrift.TConfiguration
	fns   map[string]thrift.TProcessorFunction
	stats *Stats
	pool  *bufPool
	slots chan struct{}

	// Live settings, swapped by Reconfigure; see reconfigure.go.
	reconfMu sync.Mutex
	current  atomic.Pointer[Config]
	limits   atomic.Pointer[clientLimits] // nil: no rate limit
	calls    atomic.Pointer[callGen]

	// tracedFns is fns with the call recorder (trace.go), dispatched on
	// only while tracing is active.
	tracedFns map[string]thrift.TProcessorFunction
	tracer    *tracer

	baseCtx    context.Context // cancelled at the end of Shutdown, or when it cuts sessions off
	cancel     context.CancelFunc
	closing    atomic.Bool
	drainNs    atomic.Int64 // unix ns when Shutdown began
	drainOnce  sync.Once
	handedOver atomic.Bool            // the sockets belong to a successor too
	passer     atomic.Pointer[Passer] // set: idle sessions go to the successor
	unixFile   fileID                 // the unix socket's file as bound
	watchOnce  sync.Once
	watchStop  chan struct{}
	watchDone  chan struct{}

	room    room         // picks idle sessions to close at max_sessions
	waiters atomic.Int64 // connections waiting for a slot (admit)
	// acceptHold, set only by tests, keeps the accept loops from taking
	// connections until a stop begins: new clients queue in the kernel.
	acceptHold atomic.Pointer[chan struct{}]

	mu        sync.Mutex
	listeners []net.Listener
	sessions  map[*session]struct{}
	live      sync.WaitGroup // one per session
	accepting sync.WaitGroup // one per accept loop
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
		stats:     newStats(methods),
		pool:      newBufPool(),
		slots:     make(chan struct{}, cfg.MaxSessions),
		baseCtx:   ctx,
		cancel:    cancel,
		watchStop: make(chan struct{}),
		watchDone: make(chan struct{}),
		sessions:  map[*session]struct{}{},
	}
	e.room.minIdle = roomIdle
	e.tracer = newTracer(cfg.Trace)
	e.current.Store(&cfg)
	e.limits.Store(newClientLimits(cfg.RateLimit, cfg.RateBurst))
	e.calls.Store(newCallGen())
	e.fns = chain(proc, e.track, e.recoverer, e.limitRate)
	e.tracedFns = chain(proc, e.track, e.trace, e.recoverer, e.limitRate)
	return e, nil
}

// Stats returns the live counters.
func (e *Engine) Stats() *Stats { return e.stats }

// Binder binds one listener. key names it among the process's sockets
// (the unix socket's path, or a role and the configured address: two
// listeners configured on port 0 must not be taken for one); bind is the
// caller's own way (a fresh socket). A Binder may hand back a socket
// inherited from the process before it instead (a binary upgrade).
type Binder func(network, key string, bind func() (net.Listener, error)) (net.Listener, error)

// Start binds the configured listeners and serves them in the background.
// Either all listeners are bound or none is left open.
func (e *Engine) Start() error { return e.StartWith(nil) }

// StartWith is Start with the sockets bound through b (nil: bound fresh).
func (e *Engine) StartWith(b Binder) error {
	if b == nil {
		b = func(_, _ string, bind func() (net.Listener, error)) (net.Listener, error) { return bind() }
	}
	var ls []net.Listener
	fail := func(err error) error {
		for _, l := range ls {
			l.Close()
		}
		return err
	}
	if e.cfg.Listen != "" {
		l, err := b("tcp", "rpc "+e.cfg.Listen, func() (net.Listener, error) {
			// No TCP keep-alive on client connections: four setsockopt calls
			// per accepted connection (php-fpm makes thousands a second), and
			// the idle timeout already ends sessions whose client went away.
			lc := net.ListenConfig{KeepAlive: -1}
			return lc.Listen(context.Background(), "tcp", e.cfg.Listen)
		})
		if err != nil {
			return fail(fmt.Errorf("listen %s: %w", e.cfg.Listen, err))
		}
		ls = append(ls, l)
	}
	if e.cfg.Unix != "" {
		l, err := b("unix", e.cfg.Unix, func() (net.Listener, error) { return listenUnix(e.cfg.Unix, e.cfg.UnixMode) })
		if err != nil {
			return fail(err)
		}
		if ul, ok := l.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false) // the file goes only in a plain stop: see Shutdown
		}
		if e.unixFile, err = fileIDOf(e.cfg.Unix); err != nil {
			return fail(fmt.Errorf("unix socket %s: %w", e.cfg.Unix, err))
		}
		ls = append(ls, l)
	}
	e.serveListeners(ls)
	return nil
}

// serveListeners starts an accept loop per listener, and the watchdog.
func (e *Engine) serveListeners(ls []net.Listener) {
	e.watchOnce.Do(func() { go e.watch() })
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
	s := &session{e: e, t: newTransport(conn, e.pool, e.cfg.MaxMessageBytes), client: client{addr: conn.RemoteAddr()}}
	s.phase.Store(phaseBusy) // waitCall moves it to idle
	s.since.Store(time.Now().UnixNano())
	e.mu.Lock()
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	e.live.Add(1)
	e.stats.Accepted.Add(1)
	e.stats.Sessions.Add(1)
	go func() {
		defer e.endSession(s)
		s.serve()
	}()
}

func (e *Engine) endSession(s *session) {
	s.t.Close()
	s.t.release()
	e.mu.Lock()
	delete(e.sessions, s)
	given := s.slotGiven // to a new connection: see evict
	e.mu.Unlock()
	e.stats.Sessions.Add(-1)
	if !given {
		<-e.slots
	}
	e.live.Done()
}

func (e *Engine) drainStart() time.Time { return time.Unix(0, e.drainNs.Load()) }

// grace is how long idle sessions may still send a call during a stop.
func (e *Engine) grace() time.Duration { return min(drainGrace, e.settings().DrainTimeout) }

// HandOver says the listening sockets now belong to a successor process
// too (a binary upgrade): Shutdown then only closes this process's
// descriptors, and connections waiting in the kernel's queue are left to
// the successor.
func (e *Engine) HandOver() { e.handedOver.Store(true) }

// Shutdown stops accepting, lets idle sessions send one last call within a
// short grace, lets busy ones finish their call, and waits for all of them
// until ctx ends; then it cancels and closes what is left. Calling it twice
// is safe.
//
// Connections the kernel has already accepted are served, never reset:
// unless the sockets were handed over, new connections are turned away
// first (quiesce), the connections already queued are accepted until the
// queue is empty, and only then are the sockets closed.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.drainOnce.Do(func() {
		e.drainNs.Store(time.Now().UnixNano())
		e.closing.Store(true) // after drainNs: the watchdog reads them in this order
	})
	e.watchOnce.Do(func() { go e.watch() })
	e.mu.Lock()
	ls := e.listeners
	e.listeners = nil
	e.mu.Unlock()
	if !e.handedOver.Load() {
		for _, l := range ls {
			if err := quiesce(l, e.unixFile); err != nil {
				// Some kernels refuse socket filters: the last accept (see
				// lastAccepts) still leaves no queued connection behind,
				// save one arriving in the same instant.
				e.log.Debug("stop: new connections not turned away before the last accept", "addr", l.Addr().String(), "error", err)
			}
		}
		// The accept loops take what is queued and end at the deadline.
		for _, l := range ls {
			if d, ok := l.(interface{ SetDeadline(time.Time) error }); ok {
				_ = d.SetDeadline(time.Now().Add(acceptDrain))
			}
		}
		e.releaseAccepts()
		e.accepting.Wait()
	}
	e.releaseAccepts()
	for _, l := range ls {
		l.Close()
	}
	e.accepting.Wait()

	done := make(chan struct{})
	go func() { e.live.Wait(); close(done) }()
	var left int
	select {
	case <-done:
	case <-ctx.Done():
		left = e.cutOff()
		<-done
	}
	e.cancel()
	e.stopWatch()
	if left > 0 {
		return fmt.Errorf("%w: closed %d sessions still busy", ErrDrainTimeout, left)
	}
	return nil
}

// cutOff cancels every running call and closes every session; it returns
// how many sessions were busy with a call (an idle one loses nothing).
func (e *Engine) cutOff() int {
	e.cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	busy := 0
	for s := range e.sessions {
		if call := s.call.Load(); call != nil {
			call.cancel(context.Canceled)
		}
		if s.phase.Load() != phaseIdle {
			busy++
		}
		s.t.Close()
	}
	return busy
}

func (e *Engine) stopWatch() {
	select {
	case <-e.watchStop:
	default:
		close(e.watchStop)
	}
	<-e.watchDone
}

// ErrDrainTimeout: a graceful stop had to cut sessions off.
var ErrDrainTimeout = errors.New("drain deadline reached")
