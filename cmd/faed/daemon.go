package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faed/faed/cache"
	"github.com/faed/faed/config"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idgen"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/logsink"
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

// daemon is every part of a running faed, wired once; a reload replaces
// the backend pools (current) and the engine's live settings.
type daemon struct {
	cfg        config.Config // as started; the config in effect is config()
	confPath   string        // the file cfg came from; empty on embedded defaults
	log        *slog.Logger
	started    time.Time
	engine     *engine.Engine
	admin      *engine.Admin
	ids        *idgen.Generator
	localCache *cache.Cache
	current    atomic.Pointer[backends]
	queryCache *cache.Cache
	queries    *querycache.Cache[*rpc.MysqlResult_]
	node       *peer.Node   // nil on a single node
	proxy      *proxy.Proxy // nil on a single node
	servant    *servant.Servant
	history    *history // the dashboard's samples
	stopping   atomic.Bool
	logStats   func() logsink.Stats // the log sink's counters; nil when main logs elsewhere (tests)
	logLevel   *slog.LevelVar       // the process logger's level, which a reload sets; nil in tests
	reloadMu   sync.Mutex           // one reload at a time
	reloads    atomic.Pointer[reloadStats]
}

// backends are the pools in use now, with the config in effect.
func (d *daemon) backends() *backends { return d.current.Load() }

// config is the configuration in effect: as started, with what reloads
// applied.
func (d *daemon) config() config.Config { return d.backends().cfg }

// newDaemon builds every part; when a step fails, what was built before
// it is closed again (pools, the id state, the cluster node).
func newDaemon(cfg config.Config, log *slog.Logger) (_ *daemon, err error) {
	redis.SetDriverLog(log)
	d := &daemon{cfg: cfg, log: log, started: time.Now()}
	d.reloads.Store(&reloadStats{LastSuccess: d.started})
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
	be, err := newBackends(cfg, log)
	if err != nil {
		return nil, err
	}
	d.current.Store(be)
	if d.queryCache, err = cache.New(cfg.QueryCache, nil); err != nil {
		return nil, fmt.Errorf("query_cache: %w", err)
	}
	d.queries = querycache.New(d.queryCache, servant.ResultCodec{})
	lc := d.localCache
	bp := be.parts()
	parts := servant.Parts{IDs: d.ids, Locks: locks, Cache: lc,
		Redis: bp.Redis, Memcache: bp.Memcache, MySQL: bp.MySQL, Mongo: bp.Mongo,
		QueryCache: d.queries, Locals: locals}
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
		newBackendCollector(backendSources{
			Redis:            func() []redis.ServerStats { return d.backends().redis.Stats() },
			Memcache:         func() []memcache.ServerStats { return d.backends().memcache.Stats() },
			MySQL:            func() []mysql.ServerStats { return d.backends().mysql.Stats() },
			Mongo:            func() []mongo.ServerStats { return d.backends().mongo.Stats() },
			OpenTransactions: func() int64 { return d.backends().mysql.OpenTransactions() },
			SharedMisses:     d.queries.Shared}),
		newReloadCollector(d),
		newLogCollector(d),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if d.node != nil {
		reg.MustRegister(newClusterCollector(d))
	}
	d.history = newHistory(d)
	d.admin = engine.NewAdmin(cfg.Admin, engine.AdminSources{
		Stats:    d.stats,
		History:  d.history.page,
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Ready:    d.ready,
		Config:   func() ([]byte, error) { return d.config().Redacted() },
		Reload:   func() (any, error) { return d.reload() },
		Handlers: map[string]http.Handler{"/trace": eng.TraceHandler()},
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

func (d *daemon) start() error { return d.startWith(nil) }

// startWith starts serving on sockets bound through b (nil: bound fresh);
// in a binary upgrade b hands over the old process's sockets.
func (d *daemon) startWith(b engine.Binder) error {
	if err := d.admin.StartWith(b); err != nil {
		return err
	}
	if err := d.engine.StartWith(b); err != nil {
		_ = d.admin.Shutdown(context.Background())
		return err
	}
	if d.node != nil {
		d.node.Start() // once serving: peers may call as soon as it registers
	}
	d.history.start()
	d.log.Info("faed started", "version", version, "build", buildSHA(), "worker_id", d.ids.Worker(), "pid", os.Getpid())
	return nil
}

// awaitRegistration waits, at most timeout, until a cluster node is in
// the member list: a successor in a binary upgrade registers before the
// old process leaves. A single node returns at once.
func (d *daemon) awaitRegistration(timeout time.Duration) {
	if d.node == nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for !d.node.Registered() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !d.node.Registered() {
		d.log.Warn("serving before registering in zookeeper", "waited", timeout)
	}
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
// built (newDaemon failed before them) are nil and skipped. A reload
// still running is waited for: it may be about to swap in new pools.
func (d *daemon) closeClients() {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if be := d.backends(); be != nil {
		be.close(d.log) // after the sessions: their transactions were rolled back
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
	PID        int                    `json:"pid"`
	Version    string                 `json:"version"`
	Build      string                 `json:"build"`
	Uptime     string                 `json:"uptime"`
	Goroutines int                    `json:"goroutines"`
	Engine     engine.Snapshot        `json:"engine"`
	Trace      engine.TraceStats      `json:"trace"`
	LocalCache cache.Stats            `json:"local_cache"`
	Redis      []redis.ServerStats    `json:"redis"`
	Memcache   []memcache.ServerStats `json:"memcache"`
	MySQL      mysqlStats             `json:"mysql"`
	Mongo      []mongo.ServerStats    `json:"mongo"`
	Cluster    *clusterStats          `json:"cluster,omitempty"`
	Log        *logsink.Stats         `json:"log,omitempty"`
	Reload     reloadStats            `json:"reload"`
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
	be := d.backends()
	var cs *clusterStats
	if d.node != nil {
		cs = &clusterStats{Node: d.node.Snapshot(), Proxy: d.proxy.Snapshot(), Servant: d.servant.ClusterStats()}
	}
	var ls *logsink.Stats
	if d.logStats != nil {
		st := d.logStats()
		ls = &st
	}
	return processStats{
		Log:        ls,
		Cluster:    cs,
		PID:        os.Getpid(),
		Version:    version,
		Build:      buildSHA(),
		Uptime:     time.Since(d.started).Truncate(time.Second).String(),
		Goroutines: runtime.NumGoroutine(),
		Engine:     d.engine.Stats().Snapshot(),
		Trace:      d.engine.TraceStats(),
		LocalCache: d.localCache.Stats(),
		Redis:      be.redis.Stats(),
		Memcache:   be.memcache.Stats(),
		MySQL: mysqlStats{
			Servers:          be.mysql.Stats(),
			OpenTransactions: be.mysql.OpenTransactions(),
			QueryCache:       d.queryCache.Stats(),
			SharedMisses:     d.queries.Shared(),
		},
		Mongo:  be.mongo.Stats(),
		Reload: *d.reloads.Load(),
	}
}
