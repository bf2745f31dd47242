package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/peer"
)

// ErrUnreachable: the owner could not be called (down, refused, timed
// out, or the connection broke mid-call).
var ErrUnreachable = errors.New("peer unreachable")

// Views is where the membership comes from (a *peer.Node).
type Views interface {
	View() *peer.View
}

// Proxy routes keys to owners and forwards calls to them.
type Proxy struct {
	cfg   peer.ForwardConfig
	views Views
	log   *slog.Logger
	ring  atomic.Pointer[viewRing]

	mu    sync.Mutex
	peers map[string]*remote

	stats Stats
	stop  chan struct{}
	done  chan struct{}
}

type viewRing struct {
	view *peer.View
	ring *Ring
}

// New starts a proxy over views; Close stops its health checks.
func New(cfg peer.ForwardConfig, views Views, log *slog.Logger) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, views: views, log: log, peers: map[string]*remote{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.checkLoop()
	return p, nil
}

// Owner is the address of the node owning key, and whether that is this
// node. With no members known (ZooKeeper never reached) every key is local.
func (p *Proxy) Owner(key string) (addr string, local bool) {
	v := p.views.View()
	vr := p.ring.Load()
	if vr == nil || vr.view != v {
		vr = &viewRing{view: v, ring: NewRing(v.Addrs())}
		p.ring.Store(vr)
	}
	addr = vr.ring.Owner(key)
	return addr, addr == "" || addr == v.Self
}

// Call runs call on a pooled client of the peer at addr. Errors that mean
// the peer could not be reached wrap ErrUnreachable (and mark the peer
// down); anything else is the peer's own answer, returned as is.
func (p *Proxy) Call(ctx context.Context, addr string, call func(ctx context.Context, c rpc.FunServant) error) error {
	r := p.remote(addr)
	if until := r.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		p.stats.FastFails.Add(1)
		return fmt.Errorf("%w: %s is marked down", ErrUnreachable, addr)
	}
	timeout := p.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return fmt.Errorf("%w: %s: no time left for the call", ErrUnreachable, addr)
	}
	c, reused, err := r.get(p.cfg.DialTimeout)
	if err != nil {
		p.markDown(r, err)
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, addr, err)
	}
	_ = c.sock.SetSocketTimeout(timeout)
	p.stats.Forwarded.Add(1)
	err = call(ctx, c.client)
	if err != nil && reused && closedByPeer(err) {
		// The peer closed this idle connection (its idle timeout, or a
		// restart) before reading the call: nothing ran, so try a new one.
		c.close()
		if c, err = r.dial(p.cfg.DialTimeout); err == nil {
			_ = c.sock.SetSocketTimeout(timeout)
			err = call(ctx, c.client)
		}
	}
	if err != nil && brokenConn(err) {
		if c != nil { // nil when the redial after a stale connection failed
			c.close()
		}
		p.markDown(r, err)
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, addr, err)
	}
	r.put(c, p.cfg.MaxIdle)
	r.downUntil.Store(0)
	return err
}

// brokenConn: the error came from the connection, not from the peer's
// answer, so the connection cannot be reused.
func brokenConn(err error) bool {
	var te thrift.TTransportException
	var pe thrift.TProtocolException
	var ne net.Error
	return errors.As(err, &te) || errors.As(err, &pe) || errors.As(err, &ne)
}

// closedByPeer: the connection was found closed by the other side.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (p *Proxy) markDown(r *remote, err error) {
	if r.downUntil.Swap(time.Now().Add(p.cfg.DownFor).UnixNano()) == 0 {
		p.log.Warn("peer marked down", "peer", r.addr, "error", err)
	}
	p.stats.MarkedDown.Add(1)
	r.drain()
}

func (p *Proxy) remote(addr string) *remote {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.peers[addr]
	if !ok {
		r = &remote{addr: addr}
		p.peers[addr] = r
	}
	return r
}

// checkLoop pings peers marked down (a success brings them back before
// down_for ends), forgets peers that left the view and closes connections
// idle for longer than idleMax.
func (p *Proxy) checkLoop() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		live := map[string]bool{}
		for _, a := range p.views.View().Addrs() {
			live[a] = true
		}
		p.mu.Lock()
		var down []*remote
		for a, r := range p.peers {
			switch {
			case !live[a]:
				r.drain()
				delete(p.peers, a)
			case r.downUntil.Load() != 0:
				down = append(down, r)
			}
		}
		p.mu.Unlock()
		for _, r := range down {
			p.probe(r)
		}
		for _, r := range p.all() {
			r.dropIdle(idleMax)
		}
	}
}

// idleMax is how long an unused connection to a peer is kept: well under
// the peer's idle timeout, so the peer rarely closes one under a call.
const idleMax = 30 * time.Second

func (p *Proxy) all() []*remote {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*remote, 0, len(p.peers))
	for _, r := range p.peers {
		out = append(out, r)
	}
	return out
}

func (p *Proxy) probe(r *remote) {
	c, err := r.dial(p.cfg.DialTimeout)
	if err == nil {
		_ = c.sock.SetSocketTimeout(p.cfg.Timeout)
		_, err = c.client.Ping(context.Background(), &rpc.Context{Rid: 1, Reason: "faed.health", Sticky: thrift.BoolPtr(true)})
	}
	if err != nil {
		if c != nil {
			c.close()
		}
		r.downUntil.Store(time.Now().Add(p.cfg.DownFor).UnixNano())
		return
	}
	r.downUntil.Store(0)
	p.log.Info("peer back up", "peer", r.addr)
	r.put(c, p.cfg.MaxIdle)
}

// Close stops the health checks and closes idle connections.
func (p *Proxy) Close() {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.peers {
		r.drain()
	}
}

// Stats count forwarding.
type Stats struct {
	Forwarded  atomic.Int64
	FastFails  atomic.Int64
	MarkedDown atomic.Int64
}

// PeerState is one peer as /stats shows it.
type PeerState struct {
	Addr string `json:"addr"`
	Down bool   `json:"down"`
	Idle int    `json:"idle_conns"`
}

// StatsSnapshot is Stats as plain numbers.
type StatsSnapshot struct {
	Forwarded  int64       `json:"forwarded"`
	FastFails  int64       `json:"fast_fails"`
	MarkedDown int64       `json:"marked_down"`
	Peers      []PeerState `json:"peers"`
}

// Snapshot reads the stats.
func (p *Proxy) Snapshot() StatsSnapshot {
	s := StatsSnapshot{Forwarded: p.stats.Forwarded.Load(), FastFails: p.stats.FastFails.Load(),
		MarkedDown: p.stats.MarkedDown.Load()}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UnixNano()
	for a, r := range p.peers {
		r.mu.Lock()
		idle := len(r.idle)
		r.mu.Unlock()
		s.Peers = append(s.Peers, PeerState{Addr: a, Down: r.downUntil.Load() > now, Idle: idle})
	}
	return s
}
