// Package redis is faed's pooled redis client: named pools of servers, the
// compat key placement, per-server breakers, and rd_call's reply rules.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/faed/faed/internal/calltrace"
	"github.com/faed/faed/pool"
	"github.com/faed/faed/pool/batch"
	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/ring"
	goredis "github.com/redis/go-redis/v9"
)

// Errors of rd_call.
var (
	// ErrNoKey: keysAndArgs is empty, so there is no key to place.
	ErrNoKey = errors.New("keysAndArgs is empty: the first element is the key")
	// ErrKeyNotExists: GET of a missing key (compat).
	ErrKeyNotExists = errors.New("key not exists")
	// ErrDangerous: a command refused unless the pool allows it.
	ErrDangerous = errors.New("command refused (allow_dangerous is off)")
	// ErrUnknownPool: no pool of that name is configured.
	ErrUnknownPool = errors.New("no such redis pool")
	// ErrUnknown: the connection failed after the command was sent: it
	// may or may not have run. Never retried.
	ErrUnknown = errors.New("outcome unknown")
	// ErrNotSent: the server could not be reached (a refused or timed-out
	// connect, an open breaker, no free connection): the command did not
	// run and may be tried again.
	ErrNotSent = errors.New("nothing was sent")
)

// compatVNodes is the older daemon's virtual nodes per server.
const compatVNodes = 32

// Pools are every configured redis pool, by name.
type Pools struct {
	pools map[string]*serverPool
	dial  dialFunc
}

// dialFunc opens one connection to addr; tests count the attempts.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

type serverPool struct {
	name    string
	cfg     Config
	ring    *ring.Ring
	servers []*server
}

type server struct {
	addr    string
	client  *goredis.Client
	breaker *breaker.Breaker
	pipe    *batch.Batcher[[]any, any] // nil when pipeline_lanes is 0
}

// New connects lazily: no server needs to be up to start.
func New(cfgs map[string]Config) (*Pools, error) {
	return build(cfgs, (&net.Dialer{}).DialContext)
}

func build(cfgs map[string]Config, dial dialFunc) (*Pools, error) {
	ps := &Pools{pools: map[string]*serverPool{}, dial: dial}
	for name, cfg := range cfgs {
		p, err := newPool(name, cfg, dial)
		if err != nil {
			_ = ps.Close()
			return nil, err
		}
		ps.pools[name] = p
	}
	return ps, nil
}

func newPool(name string, cfg Config, dial dialFunc) (*serverPool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redis pool %q: %w", name, err)
	}
	addrs := cfg.servers()
	p := &serverPool{name: name, cfg: cfg, ring: ring.New(addrs, compatVNodes)}
	for _, addr := range addrs {
		s := &server{
			addr:    addr,
			client:  newClient(addr, cfg, dial),
			breaker: breaker.New(cfg.Breaker, "redis "+addr, isServerFailure),
		}
		if cfg.PipelineLanes > 0 {
			s.pipe = newPipeline(s.client, s.breaker, cfg.PipelineLanes)
		}
		p.servers = append(p.servers, s)
	}
	return p, nil
}

// Rebuild builds the pools of cfgs for a config reload. A pool whose
// config is unchanged is taken over from ps as it is: the same clients,
// connections and breakers. retired holds the pools of ps not taken over
// (changed or removed); ps keeps serving until the caller swaps next in,
// and then only retired may be closed, once no call uses it: closing ps
// would close the pools next shares with it.
func (ps *Pools) Rebuild(cfgs map[string]Config) (next, retired *Pools, err error) {
	pools, gone, err := pool.Reuse(ps.pools, cfgs,
		func(old *serverPool, cfg Config) bool { return reflect.DeepEqual(old.cfg, cfg) },
		func(name string, cfg Config) (*serverPool, error) { return newPool(name, cfg, ps.dial) },
		closePool)
	if err != nil {
		return nil, nil, err
	}
	return &Pools{pools: pools, dial: ps.dial}, &Pools{pools: gone, dial: ps.dial}, nil
}

func closePool(p *serverPool) { _ = p.close() }

// Abandon closes the pools of ps (a Rebuild of old) that old does not
// share: for a rebuild that is not swapped in after all.
func (ps *Pools) Abandon(old *Pools) { pool.Abandon(ps.pools, old.pools, closePool) }

// newClient makes one connect attempt per dial: go-redis otherwise tries
// five times, 100ms apart, so a refused connect (known at once on a dead
// server) took 400ms, and a call queued behind such a dial waited out its
// deadline. A failed connect is marked as such (see notSent).
func newClient(addr string, cfg Config, dial dialFunc) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr: addr,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, &notSent{err}
			}
			return c, nil
		},
		DialerRetries:         1, // attempts, not retries
		DialTimeout:           cfg.DialTimeout,
		Password:              cfg.Password,
		Protocol:              2, // RESP2: replies map onto rd_call's string rules
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              cfg.PoolSize,
		PoolTimeout:           cfg.PoolTimeout,
		MinIdleConns:          cfg.MinIdle,
		MaxRetries:            -1, // a write is never sent twice
		DisableIdentity:       true,
	})
}

// isServerFailure: the server did not answer. Redis error replies and nil
// replies are answers, and a caller that hung up (its context cancelled)
// says nothing about the server; a deadline that passed does.
func isServerFailure(err error) bool {
	var re goredis.Error
	return !errors.Is(err, goredis.Nil) && !errors.As(err, &re) && !errors.Is(err, context.Canceled)
}

// Call runs cmd on the server owning keysAndArgs[0] in pool and renders
// the reply as rd_call returns it.
func (ps *Pools) Call(ctx context.Context, poolName, cmd string, keysAndArgs []string) (string, error) {
	p, ok := ps.pools[poolName]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownPool, poolName)
	}
	if len(keysAndArgs) == 0 {
		return "", ErrNoKey
	}
	if cmd == "" || (!p.cfg.AllowDangerous && isDangerous(cmd)) {
		return "", fmt.Errorf("%w: %q", ErrDangerous, cmd)
	}
	s := p.servers[p.ring.Owner(keysAndArgs[0])]
	calltrace.Backend(ctx, "redis", s.addr)
	args := make([]any, 0, len(keysAndArgs)+1)
	args = append(args, cmd)
	for _, a := range keysAndArgs {
		args = append(args, a)
	}
	reply, err := s.do(ctx, cmd, args)
	switch {
	case errors.Is(err, goredis.Nil) && strings.EqualFold(cmd, "GET"):
		return "", ErrKeyNotExists
	case errors.Is(err, goredis.Nil):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("redis %s: %w", s.addr, describe(err))
	}
	return toWire(reply)
}

// do sends one command through the server's pipeline, or on its own
// connection when pipelining is off or the command blocks.
func (s *server) do(ctx context.Context, cmd string, args []any) (any, error) {
	if s.pipe != nil && !isBlocking(cmd) {
		return s.pipe.Do(ctx, args)
	}
	return direct(ctx, s.client, s.breaker, args)
}

// notSent is a failed connect: no command went out on it.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

// describe says whether the command may have run: not when the server was
// never reached (ErrNotSent, with the cause in plain words), maybe when
// the connection failed or the deadline passed after it was taken
// (ErrUnknown). Redis error replies are answers and pass as they are.
func describe(err error) error {
	var ns *notSent
	var re goredis.Error
	switch {
	case errors.Is(err, ErrNotSent):
		return err
	case errors.As(err, &ns):
		return fmt.Errorf("unavailable (%s; %w)", connectFailure(ns.err), ErrNotSent)
	case errors.Is(err, breaker.ErrOpen):
		return fmt.Errorf("%w (%w)", err, ErrNotSent)
	case errors.Is(err, goredis.ErrPoolTimeout), errors.Is(err, goredis.ErrPoolExhausted):
		return fmt.Errorf("no free connection (%w; %w)", err, ErrNotSent)
	case errors.As(err, &re), errors.Is(err, batch.ErrClosed):
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnknown, err)
}

// connectFailure names why a connect failed: "connection refused" rather
// than "dial tcp 127.0.0.1:6379: connect: connection refused".
func connectFailure(err error) string {
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "connect timed out"
	}
	return err.Error()
}

// Close closes every connection.
func (ps *Pools) Close() error {
	var errs []error
	for _, p := range ps.pools {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

func (p *serverPool) close() error {
	var errs []error
	for _, s := range p.servers {
		if s.pipe != nil {
			s.pipe.Close()
		}
		errs = append(errs, s.client.Close())
	}
	return errors.Join(errs...)
}

// ServerStats is one server's state for /stats and /metrics: its breaker
// and go-redis's pool counters.
type ServerStats struct {
	Pool         string        `json:"pool"`
	Addr         string        `json:"addr"`
	Breaker      string        `json:"breaker"`
	Conns        uint32        `json:"conns"` // open, in use and idle
	InUse        uint32        `json:"in_use"`
	Idle         uint32        `json:"idle"`
	Hits         uint32        `json:"pool_hits"`   // an idle connection was there
	Misses       uint32        `json:"pool_misses"` // none was: dialled or waited
	Waits        uint32        `json:"pool_waits"`  // waited for a connection: the pool was full
	WaitDuration time.Duration `json:"pool_wait_duration"`
	Timeouts     uint32        `json:"pool_timeouts"` // gave up waiting after pool_timeout
	StaleClosed  uint32        `json:"stale_closed"`  // idle connections closed as stale
}

// Stats lists every server, sorted by pool and address.
func (ps *Pools) Stats() []ServerStats {
	var out []ServerStats
	for name, p := range ps.pools {
		for _, s := range p.servers {
			st := s.client.PoolStats()
			out = append(out, ServerStats{Pool: name, Addr: s.addr, Breaker: s.breaker.State(),
				Conns: st.TotalConns, InUse: st.TotalConns - min(st.IdleConns, st.TotalConns), Idle: st.IdleConns,
				Hits: st.Hits, Misses: st.Misses, Waits: st.WaitCount, WaitDuration: time.Duration(st.WaitDurationNs),
				Timeouts: st.Timeouts, StaleClosed: st.StaleConns})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Pool < out[j].Pool || (out[i].Pool == out[j].Pool && out[i].Addr < out[j].Addr)
	})
	return out
}

// SetDriverLog sends go-redis's own log lines (e.g. "failed to dial after
// 1 attempts") to log at debug level instead of straight to stderr, past
// faed's non-blocking log: faed reports those failures itself. go-redis
// keeps one logger per process, so the last call wins.
func SetDriverLog(log *slog.Logger) {
	if log != nil {
		goredis.SetLogger(driverLog{log})
	}
}

type driverLog struct{ log *slog.Logger }

func (l driverLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug("redis driver", "detail", fmt.Sprintf(format, v...))
}
