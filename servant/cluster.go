package servant

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/faed/faed/idl/fun/rpc"
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
