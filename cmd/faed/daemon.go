package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/faed/faed/cache"
	"github.com/faed/faed/config"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idgen"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/lock"
	"github.com/faed/faed/peer"
	"github.com/faed/faed/pool/memcache"
	"github.com/faed/faed/pool/mongo"
	"github.com/faed/faed/pool/mysql"
	"github.com/faed/faed/pool/redis"
	"github.com/faed/faed/proxy"
	"github.com/faed/faed/querycache"
	"github.com/faed/faed/servant"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// daemon is every part of a running faed, wired once.
type daemon struct {
	cfg        config.Config
	log        *slog.Logger
	started    time.Time
	engine     *engine.Engine
	admin      *engine.Admin
	ids        *idgen.Generator
	localCache *cache.Cache
	redis      *redis.Pools
	memcache   *memcache.Pools
	mysql      *mysql.Pools
	queryCache *cache.Cache
	queries    *querycache.Cache[*rpc.MysqlResult_]
	mongo      *mongo.Pools
	node       *peer.Node   // nil on a single node
	proxy      *proxy.Proxy // nil on a single node
	servant    *servant.Servant
	history    *history // the dashboard's samples
	stopping   atomic.Bool
}

// newDaemon builds every part; when a step fails, what was built before
// it is closed again (pools, the id state, the cluster node).
func newDaemon(cfg config.Config, log *slog.Logger) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, log: log, started: time.Now()}
	defer func() {
		if err != nil {
			d.closeParts()
		}
	}()
	if d.ids, err = idgen.New(cfg.ID, cfg.Node.WorkerID, nil); err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	locks, err := lock.New(cfg.Lock, nil)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if d.localCache, err = cache.New(cfg.LocalCache, nil); err != nil {
		return nil, fmt.Errorf("local_cache: %w", err)
	}
	if d.redis, err = redis.New(cfg.Redis); err != nil {
		return nil, err
	}
	if d.memcache, err = memcache.New(cfg.Memcache); err != nil {
		return nil, err
	}
	if d.mysql, err = mysql.New(cfg.MySQL, log); err != nil {
		return nil, err
	}
	if d.queryCache, err = cache.New(cfg.QueryCache, nil); err != nil {
		return nil, fmt.Errorf("query_cache: %w", err)
	}
	d.queries = querycache.New(d.queryCache, servant.ResultCodec{})
	if d.mongo, err = mongo.New(cfg.Mongo); err != nil {
		return nil, err
	}
	lc := d.localCache
	parts := servant.Parts{IDs: d.ids, Locks: locks, Cache: lc,
		Redis:      part[servant.RedisPools](d.redis, len(cfg.Redis) > 0),
		Memcache:   part[servant.MemcachePools](d.memcache, len(cfg.Memcache) > 0),
		MySQL:      part[servant.MySQLPools](mysqlPools{d.mysql}, len(cfg.MySQL.Servers) > 0),
		QueryCache: d.queries, Locals: locals,
		Mongo: part[servant.MongoPools](mongoPools{d.mongo}, len(cfg.Mongo.Servers) > 0)}
	if cfg.Cluster.Enabled() {
		if err := d.joinCluster(&parts, locks); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	sv := servant.New(servant.Info{
		Version:  version,
		Build:    buildSHA(),
		WorkerID: cfg.Node.WorkerID,
		Started:  d.started,
	}, parts, nil)
	d.servant = sv
	eng, err := engine.New(cfg.Server, rpc.NewFunServantProcessor(sv), log)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	d.engine = eng

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		eng.Collector(),
		newCacheCollector("local_cache", lc),
		newCacheCollector("query_cache", d.queryCache),
		newBackendCollector(backendSources{Redis: d.redis.Stats, Memcache: d.memcache.Stats, MySQL: d.mysql.Stats,
			Mongo: d.mongo.Stats, OpenTransactions: d.mysql.OpenTransactions, SharedMisses: d.queries.Shared}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if d.node != nil {
		reg.MustRegister(newClusterCollector(d))
	}
	d.history = newHistory(d)
	d.admin = engine.NewAdmin(cfg.Admin, engine.AdminSources{
		Stats:   d.stats,
		History: d.history.page,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Ready:   d.ready,
		Config:  cfg.Redacted,
	}, log)
	return d, nil
}

// joinCluster builds the ZooKeeper node and the proxy and hands them to
// the servant. The node connects in start, once faed serves.
func (d *daemon) joinCluster(parts *servant.Parts, locks *lock.Table) error {
	cc := d.cfg.Cluster
	self := cc.Advertise
	if self == "" {
		self = d.cfg.Server.Listen
	}
	node, err := peer.New(cc.Config, self, peer.Info{Version: version, Started: d.started, Admin: d.cfg.Admin.Listen},
		d.cfg.Node.WorkerID, peer.Hooks{ZKSessionLost: locks.Clear}, d.log)
	if err != nil {
		return err
	}
	px, err := proxy.New(cc.Forward, node, d.log)
	if err != nil {
		node.Close()
		return err
	}
	d.node, d.proxy = node, px
	if cc.LeaseWorkerID {
		d.ids.UseLease(node)
	}
	parts.Cluster, parts.Coordinator, parts.RouteLocalCache = px, node, cc.CacheMode
	return nil
}

func (d *daemon) start() error {
	if err := d.admin.Start(); err != nil {
		return err
	}
	if err := d.engine.Start(); err != nil {
		_ = d.admin.Shutdown(context.Background())
		return err
	}
	if d.node != nil {
		d.node.Start() // once serving: peers may call as soon as it registers
	}
	d.history.start()
	d.log.Info("faed started", "version", version, "build", buildSHA(), "worker_id", d.ids.Worker())
	return nil
}

// stop leaves the cluster first (peers stop sending keys here), drains
// client sessions, then the admin endpoint, closes the ZooKeeper session
// (releasing the worker id) and saves the id generator's high-water mark.
//
// Only what loses something is returned: calls cut off by the drain
// deadline, or a high-water mark not saved (a restart could reissue ids).
// A stop without ZooKeeper is still graceful (the member node is ephemeral
// and goes with the session), and a backend client that closes badly has
// nothing left to lose; both are warnings.
func (d *daemon) stop(ctx context.Context) error {
	d.stopping.Store(true)
	if d.node != nil {
		d.warnStop("leaving the cluster (the member node goes when the zookeeper session ends)", d.node.Deregister())
	}
	errEngine := d.engine.Shutdown(ctx)
	d.warnStop("admin shutdown", d.admin.Shutdown(ctx))
	d.history.stop()
	errIDs := d.ids.Close() // after the last call: records the final mark
	d.closeClients()
	return errors.Join(errEngine, errIDs)
}

// closeParts closes what newDaemon built, for a daemon that never
// started.
func (d *daemon) closeParts() {
	if d.ids != nil {
		d.warnStop("saving the id mark", d.ids.Close())
	}
	d.closeClients()
}

// closeClients closes the backend pools and the cluster node; parts not
// built (newDaemon failed before them) are nil and skipped.
func (d *daemon) closeClients() {
	if d.redis != nil {
		d.warnStop("closing redis pools", d.redis.Close())
	}
	if d.memcache != nil {
		d.memcache.Close()
	}
	if d.mysql != nil {
		d.warnStop("closing mysql pools", d.mysql.Close()) // after the sessions: their transactions are rolled back
	}
	if d.mongo != nil {
		d.warnStop("closing mongodb pools", d.mongo.Close())
	}
	if d.node != nil {
		d.proxy.Close()
		d.node.Close()
	}
}

func (d *daemon) warnStop(step string, err error) {
	if err != nil {
		d.log.Warn("stop: "+step, "error", err)
	}
}

var (
	errStopping  = errors.New("stopping")
	errNotMember = errors.New("not yet registered in zookeeper")
)

// ready: serving, not stopping, and in a cluster registered once (a later
// ZooKeeper outage does not make a node unready: it keeps serving).
func (d *daemon) ready() error {
	if d.stopping.Load() {
		return errStopping
	}
	if d.node != nil && !d.node.Registered() {
		return errNotMember
	}
	return nil
}

// processStats is what /stats serves.
type processStats struct {
	Version    string                 `json:"version"`
	Build      string                 `json:"build"`
	Uptime     string                 `json:"uptime"`
	Goroutines int                    `json:"goroutines"`
	Engine     engine.Snapshot        `json:"engine"`
	LocalCache cache.Stats            `json:"local_cache"`
	Redis      []redis.ServerStats    `json:"redis"`
	Memcache   []memcache.ServerStats `json:"memcache"`
	MySQL      mysqlStats             `json:"mysql"`
	Mongo      []mongo.ServerStats    `json:"mongo"`
	Cluster    *clusterStats          `json:"cluster,omitempty"`
}

type clusterStats struct {
	Node    peer.StatsSnapshot      `json:"node"`
	Proxy   proxy.StatsSnapshot     `json:"proxy"`
	Servant servant.ClusterSnapshot `json:"keyed_calls"`
}

type mysqlStats struct {
	Servers          []mysql.ServerStats `json:"servers"`
	OpenTransactions int64               `json:"open_transactions"`
	QueryCache       cache.Stats         `json:"query_cache"`
	SharedMisses     int64               `json:"shared_misses"`
}

func (d *daemon) stats() any {
	var cs *clusterStats
	if d.node != nil {
		cs = &clusterStats{Node: d.node.Snapshot(), Proxy: d.proxy.Snapshot(), Servant: d.servant.ClusterStats()}
	}
	return processStats{
		Cluster:    cs,
		Version:    version,
		Build:      buildSHA(),
		Uptime:     time.Since(d.started).Truncate(time.Second).String(),
		Goroutines: runtime.NumGoroutine(),
		Engine:     d.engine.Stats().Snapshot(),
		LocalCache: d.localCache.Stats(),
		Redis:      d.redis.Stats(),
		Memcache:   d.memcache.Stats(),
		MySQL: mysqlStats{
			Servers:          d.mysql.Stats(),
			OpenTransactions: d.mysql.OpenTransactions(),
			QueryCache:       d.queryCache.Stats(),
			SharedMisses:     d.queries.Shared(),
		},
		Mongo: d.mongo.Stats(),
	}
}
