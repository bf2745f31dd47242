package servant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/proxy"
)

// ErrNoZKSession: new locks need a live ZooKeeper session, so that two nodes
// with different views never both grant one.
var ErrNoZKSession = errors.New("zookeeper session lost; new locks are refused until it is back")

// Cluster routes keyed calls to the node that owns the key (proxy.Proxy).
type Cluster interface {
	// Owner is the address of the node owning key, and whether it is this
	// node.
	Owner(key string) (addr string, local bool)
	// Call runs call on a client of the peer at addr; errors meaning the
	// peer could not be reached wrap proxy.ErrUnreachable.
	Call(ctx context.Context, addr string, call func(ctx context.Context, c rpc.FunServant) error) error
}

// Coordinator is the ZooKeeper side (peer.Node): the session that locks
// depend on, fencing tokens, and zk_*.
type Coordinator interface {
	Connected() bool
	Fence() (int64, error)
	Create(path string, data []byte) error
	Children(path string) ([]string, error)
	Delete(path string) error
}

// ClusterStats count how keyed calls were served.
type ClusterStats struct {
	Forwarded atomic.Int64 // sent to the owner
	Degraded  atomic.Int64 // owner unreachable: a cached read ran here without the cache
	// EvictFailed: a write's cacheKey could not be evicted on its
	// unreachable owner.
	EvictFailed atomic.Int64
}

// ClusterSnapshot is ClusterStats as plain numbers.
type ClusterSnapshot struct {
	Forwarded   int64 `json:"forwarded"`
	Degraded    int64 `json:"degraded"`
	EvictFailed int64 `json:"evict_failed"`
}

// ClusterStats reads the counters.
func (s *Servant) ClusterStats() ClusterSnapshot {
	return ClusterSnapshot{Forwarded: s.cstats.Forwarded.Load(), Degraded: s.cstats.Degraded.Load(),
		EvictFailed: s.cstats.EvictFailed.Load()}
}

// route is where a keyed call runs: "" for here. A call that arrives
// sticky was forwarded by a peer and always runs here, so a call is
// forwarded at most once even when two nodes' views disagree.
func (s *Servant) route(c *rpc.Context, key string) string {
	if s.cluster == nil || c.GetSticky() {
		return ""
	}
	if addr, local := s.cluster.Owner(key); !local {
		return addr
	}
	return ""
}

// forward runs fn on the owner at addr with the caller's Context marked
// sticky.
func forward[T any](ctx context.Context, s *Servant, addr string, c *rpc.Context, fn func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (T, error)) (T, error) {
	var out T
	sc := *c
	sc.Sticky = thrift.BoolPtr(true)
	s.cstats.Forwarded.Add(1)
	err := s.cluster.Call(ctx, addr, func(ctx context.Context, cl rpc.FunServant) (err error) {
		out, err = fn(ctx, cl, &sc)
		return err
	})
	return out, peerError(addr, err)
}

// forwardErr is forward for methods that return nothing.
func forwardErr(ctx context.Context, s *Servant, addr string, c *rpc.Context, fn func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) error) error {
	_, err := forward(ctx, s, addr, c, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (struct{}, error) {
		return struct{}{}, fn(ctx, cl, c)
	})
	return err
}

// peerError passes the owner's answer on. Declared exceptions go as they
// are; the owner's INTERNAL_ERROR loses its "Internal error processing m: "
// prefix (this node's processor adds it again) and names the owner.
func peerError(addr string, err error) error {
	var ae thrift.TApplicationException
	switch {
	case err == nil, errors.Is(err, proxy.ErrUnreachable):
		return err
	case errors.As(err, &ae) && ae.TypeId() == thrift.INTERNAL_ERROR:
		msg := ae.Error()
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "Internal error processing ") {
			msg = msg[i+2:]
		}
		return fmt.Errorf("%s (on owner %s)", msg, addr)
	}
	return err
}

// unreachable says the owner could not be called.
func unreachable(err error) bool { return errors.Is(err, proxy.ErrUnreachable) }
