package servant

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
)

// Info is what ping reports about this process.
type Info struct {
	// Version is the release, e.g. "0.1.0".
	Version string
	// Build is the git sha the binary was built from.
	Build string
	// WorkerID is this node's id-generator worker id.
	WorkerID int
	// Started is when the process started; ping reports uptime from it.
	Started time.Time
}

// Parts are the servant's building blocks, built and owned by the caller
// (cmd/faed). A nil part answers its calls with an error naming it.
type Parts struct {
	// IDs issues ids (idgen.Generator).
	IDs IDs
	// Locks is the node's lock table (lock.Table).
	Locks LockTable
	// Cache backs lc_*.
	Cache LocalCache
	// Redis backs rd_call.
	Redis RedisPools
	// Memcache backs mc_* and cb_*.
	Memcache MemcachePools
	// MySQL backs my_*; QueryCache caches their results by cacheKey.
	MySQL      MySQLPools
	QueryCache QueryCache
	// Mongo backs mg_*.
	Mongo MongoPools
	// Locals finds the values of a call's client connection (transactions
	// pin a backend connection there); nil means no transactions.
	Locals func(ctx context.Context) ConnLocals
	// Cluster forwards keyed calls to their owner; nil on a single node.
	Cluster Cluster
	// Coordinator is the ZooKeeper session; nil means zk_* are not
	// configured and locks need no session.
	Coordinator Coordinator
	// RouteLocalCache sends lc_* to the key's owner, so every node sees
	// one cache (cluster cache mode).
	RouteLocalCache bool
}

// Servant serves every FunServant method. Parts that are not configured
// answer with an error naming their config section.
type Servant struct {
	info     Info
	now      func() time.Time
	ids      IDs
	locks    LockTable
	cache    LocalCache
	backends atomic.Pointer[Backends]

	queryCache QueryCache
	locals     func(ctx context.Context) ConnLocals

	cluster Cluster
	coord   Coordinator
	routeLC bool
	cstats  ClusterStats
}

var _ rpc.FunServant = (*Servant)(nil)

// Backends are the parts a config reload may replace; as in Parts, a nil
// one is not configured.
type Backends struct {
	Redis    RedisPools
	Memcache MemcachePools
	MySQL    MySQLPools
	Mongo    MongoPools
}

// New builds a Servant. now may be nil (time.Now).
func New(info Info, parts Parts, now func() time.Time) *Servant {
	if now == nil {
		now = time.Now
	}
	s := &Servant{info: info, now: now, ids: parts.IDs, locks: parts.Locks, cache: parts.Cache,
		queryCache: parts.QueryCache, locals: parts.Locals,
		cluster: parts.Cluster, coord: parts.Coordinator, routeLC: parts.RouteLocalCache}
	s.SetBackends(Backends{Redis: parts.Redis, Memcache: parts.Memcache, MySQL: parts.MySQL, Mongo: parts.Mongo})
	return s
}

// SetBackends swaps in b for the calls that begin from now on; calls
// already running finish on the backends they began with (each call picks
// them up once, when it needs the first).
func (s *Servant) SetBackends(b Backends) { s.backends.Store(&b) }

func (s *Servant) backend() *Backends { return s.backends.Load() }
