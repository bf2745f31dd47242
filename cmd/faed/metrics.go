package main

import (
	"github.com/faed/faed/cache"
	"github.com/faed/faed/pool/memcache"
	"github.com/faed/faed/pool/mongo"
	"github.com/faed/faed/pool/mysql"
	"github.com/faed/faed/pool/redis"
	"github.com/prometheus/client_golang/prometheus"
)

// cacheCollector exposes a cache's counters at scrape time (the cache
// package itself knows nothing of Prometheus).
type cacheCollector struct {
	c     *cache.Cache
	descs map[string]*prometheus.Desc
}

func newCacheCollector(name string, c *cache.Cache) *cacheCollector {
	d := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc("faed_"+name+"_"+metric, help, nil, nil)
	}
	return &cacheCollector{c: c, descs: map[string]*prometheus.Desc{
		"hits":        d("hits_total", "Cache hits."),
		"misses":      d("misses_total", "Cache misses."),
		"sets":        d("sets_total", "Cache sets."),
		"evictions":   d("evictions_total", "Entries evicted to stay within the bounds."),
		"expirations": d("expirations_total", "Entries found expired."),
		"items":       d("items", "Entries held."),
		"bytes":       d("bytes", "Accounted bytes held."),
	}}
}

func (cc *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range cc.descs {
		ch <- d
	}
}

func (cc *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := cc.c.Stats()
	counter := func(k string, v int64) {
		ch <- prometheus.MustNewConstMetric(cc.descs[k], prometheus.CounterValue, float64(v))
	}
	gauge := func(k string, v int64) {
		ch <- prometheus.MustNewConstMetric(cc.descs[k], prometheus.GaugeValue, float64(v))
	}
	counter("hits", s.Hits)
	counter("misses", s.Misses)
	counter("sets", s.Sets)
	counter("evictions", s.Evictions)
	counter("expirations", s.Expirations)
	gauge("items", int64(s.Items))
	gauge("bytes", s.Bytes)
}

// logCollector exposes the log sink's counters at scrape time.
type logCollector struct {
	d                               *daemon
	written, dropped, errs, pending *prometheus.Desc
}

func newLogCollector(d *daemon) *logCollector {
	desc := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc("faed_log_"+metric, help, nil, nil)
	}
	return &logCollector{d: d,
		written: desc("lines_written_total", "Log lines written to the log destination."),
		dropped: desc("lines_dropped_total", "Log lines lost without a write: the log queue was full (the destination is slow or blocked)."),
		errs:    desc("write_errors_total", "Log lines the destination refused (e.g. a full disk)."),
		pending: desc("lines_queued", "Log lines waiting for the log writer."),
	}
}

func (lc *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lc.written
	ch <- lc.dropped
	ch <- lc.errs
	ch <- lc.pending
}

func (lc *logCollector) Collect(ch chan<- prometheus.Metric) {
	if lc.d.logStats == nil {
		return
	}
	s := lc.d.logStats()
	ch <- prometheus.MustNewConstMetric(lc.written, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(lc.dropped, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(lc.errs, prometheus.CounterValue, float64(s.WriteErrors))
	ch <- prometheus.MustNewConstMetric(lc.pending, prometheus.GaugeValue, float64(s.Queued))
}

// clusterCollector exposes the node's place in the cluster at scrape time.
type clusterCollector struct {
	d     *daemon
	descs map[string]*prometheus.Desc
}

func newClusterCollector(d *daemon) *clusterCollector {
	desc := func(metric, help string) *prometheus.Desc {
		return prometheus.NewDesc("faed_cluster_"+metric, help, nil, nil)
	}
	return &clusterCollector{d: d, descs: map[string]*prometheus.Desc{
		"members":       desc("members", "Members in this node's current view."),
		"connected":     desc("zookeeper_connected", "1 while the ZooKeeper session is live."),
		"worker":        desc("worker_id", "Leased worker id, -1 when none."),
		"registrations": desc("registrations_total", "Times this node registered (once per ZooKeeper session)."),
		"expired":       desc("sessions_expired_total", "ZooKeeper sessions that expired."),
		"forwarded":     desc("forwarded_calls_total", "Keyed calls forwarded to their owner."),
		"degraded":      desc("degraded_calls_total", "Cached reads run here without the cache because the owner was unreachable."),
		"evict_failed":  desc("evict_failed_total", "Writes whose cacheKey could not be evicted on its unreachable owner (a stale cached read is possible until it expires)."),
		"fast_fails":    desc("peer_fast_fails_total", "Forwarded calls refused at once: the owner was marked down."),
		"marked_down":   desc("peer_marked_down_total", "Times a peer was marked down after a failed call."),
	}}
}

func (cc *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range cc.descs {
		ch <- d
	}
}

func (cc *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	n, p, s := cc.d.node.Snapshot(), cc.d.proxy.Snapshot(), cc.d.servant.ClusterStats()
	put := func(k string, t prometheus.ValueType, v int64) {
		ch <- prometheus.MustNewConstMetric(cc.descs[k], t, float64(v))
	}
	connected := int64(0)
	if n.Connected {
		connected = 1
	}
	put("members", prometheus.GaugeValue, int64(len(n.Members)))
	put("connected", prometheus.GaugeValue, connected)
	put("worker", prometheus.GaugeValue, n.WorkerID)
	put("registrations", prometheus.CounterValue, n.Registrations)
	put("expired", prometheus.CounterValue, n.Expired)
	put("forwarded", prometheus.CounterValue, s.Forwarded)
	put("degraded", prometheus.CounterValue, s.Degraded)
	put("evict_failed", prometheus.CounterValue, s.EvictFailed)
	put("fast_fails", prometheus.CounterValue, p.FastFails)
	put("marked_down", prometheus.CounterValue, p.MarkedDown)
}

// backendSources are the stats of every backend pool, read at scrape time.
type backendSources struct {
	Redis            func() []redis.ServerStats
	Memcache         func() []memcache.ServerStats
	MySQL            func() []mysql.ServerStats
	Mongo            func() []mongo.ServerStats
	OpenTransactions func() int64 // mysql transactions open now
	SharedMisses     func() int64 // query cache misses answered by another caller's query
}

// backendSeries is one per-server metric; a kind reports the ones its pool
// library knows (go-redis and database/sql count pool waits, gomemcache
// counts nothing).
type backendSeries int

const (
	seriesCalls backendSeries = iota
	seriesErrors
	seriesOpen
	seriesInUse
	seriesIdle
	seriesWaits
	seriesWaitSeconds
	seriesTimeouts
	seriesHits
	seriesMisses
	seriesStaleClosed
	seriesPinned
	seriesBreaker
	numBackendSeries
)

// backendSeriesDefs names, explains and types every per-server series.
func backendSeriesDefs() [numBackendSeries]backendSeriesDef {
	return [numBackendSeries]backendSeriesDef{
		seriesCalls:       {"calls_total", "Calls sent to the server (mysql, mongo).", prometheus.CounterValue},
		seriesErrors:      {"errors_total", "Calls to the server that failed (mysql, mongo).", prometheus.CounterValue},
		seriesOpen:        {"open_connections", "Connections open to the server, in use and idle (redis, mysql).", prometheus.GaugeValue},
		seriesInUse:       {"in_use_connections", "Connections running a call now (redis, mysql).", prometheus.GaugeValue},
		seriesIdle:        {"idle_connections", "Connections open and idle (redis, mysql).", prometheus.GaugeValue},
		seriesWaits:       {"waits_total", "Calls that waited for a connection because the pool was at its size (redis, mysql).", prometheus.CounterValue},
		seriesWaitSeconds: {"wait_seconds_total", "Time calls spent waiting for a connection (redis).", prometheus.CounterValue},
		seriesTimeouts:    {"pool_timeouts_total", "Calls that gave up waiting for a connection: pool_timeout passed (redis).", prometheus.CounterValue},
		seriesHits:        {"pool_hits_total", "Calls that found an idle connection (redis).", prometheus.CounterValue},
		seriesMisses:      {"pool_misses_total", "Calls that found no idle connection and dialled or waited (redis).", prometheus.CounterValue},
		seriesStaleClosed: {"stale_connections_closed_total", "Idle connections closed as stale (redis).", prometheus.CounterValue},
		seriesPinned:      {"pinned_connections", "Connections held by an open transaction (mysql).", prometheus.GaugeValue},
		seriesBreaker: {"breaker_state", "The server's circuit breaker: 0 closed (calls go through), 1 half-open " +
			"(one probe call decides), 2 open (calls fail at once), -1 unknown.", prometheus.GaugeValue},
	}
}

type backendSeriesDef struct {
	name, help string
	typ        prometheus.ValueType
}

// breakerValue is a breaker.State string as faed_backend_breaker_state.
func breakerValue(state string) float64 {
	switch state {
	case "closed":
		return 0
	case "half-open":
		return 1
	case "open":
		return 2
	}
	return -1
}

// backendServer is one server of any kind: its labels and the series its
// kind reports.
type backendServer struct {
	kind, pool, addr string
	values           []backendSample
}

type backendSample struct {
	series backendSeries
	value  float64
}

// backendCollector exposes every backend server's pool and breaker at
// scrape time, labelled by kind (redis, memcache, mysql, mongo), pool (the
// configured name: a redis or memcache pool, a mysql or mongo server) and
// addr (the server's address).
type backendCollector struct {
	src          backendSources
	series       [numBackendSeries]*prometheus.Desc
	types        [numBackendSeries]prometheus.ValueType
	openTx, flew *prometheus.Desc
}

func newBackendCollector(src backendSources) *backendCollector {
	bc := &backendCollector{src: src,
		openTx: prometheus.NewDesc("faed_mysql_open_transactions", "MySQL transactions open now.", nil, nil),
		flew: prometheus.NewDesc("faed_query_cache_shared_misses_total",
			"Query cache misses answered by the query another caller was running.", nil, nil),
	}
	for i, def := range backendSeriesDefs() {
		bc.series[i] = prometheus.NewDesc("faed_backend_"+def.name, def.help, []string{"kind", "pool", "addr"}, nil)
		bc.types[i] = def.typ
	}
	return bc
}

func (bc *backendCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range bc.series {
		ch <- d
	}
	ch <- bc.openTx
	ch <- bc.flew
}

func (bc *backendCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range bc.servers() {
		for _, v := range s.values {
			ch <- prometheus.MustNewConstMetric(bc.series[v.series], bc.types[v.series], v.value, s.kind, s.pool, s.addr)
		}
	}
	ch <- prometheus.MustNewConstMetric(bc.openTx, prometheus.GaugeValue, float64(bc.src.OpenTransactions()))
	ch <- prometheus.MustNewConstMetric(bc.flew, prometheus.CounterValue, float64(bc.src.SharedMisses()))
}

// servers lists every server of every kind with the series its pool
// library knows.
func (bc *backendCollector) servers() []backendServer {
	var out []backendServer
	for _, s := range bc.src.Redis() {
		out = append(out, backendServer{kind: "redis", pool: s.Pool, addr: s.Addr, values: []backendSample{
			{seriesOpen, float64(s.Conns)}, {seriesInUse, float64(s.InUse)}, {seriesIdle, float64(s.Idle)},
			{seriesWaits, float64(s.Waits)}, {seriesWaitSeconds, s.WaitDuration.Seconds()},
			{seriesTimeouts, float64(s.Timeouts)}, {seriesHits, float64(s.Hits)}, {seriesMisses, float64(s.Misses)},
			{seriesStaleClosed, float64(s.StaleClosed)}, {seriesBreaker, breakerValue(s.Breaker)},
		}})
	}
	for _, s := range bc.src.Memcache() {
		out = append(out, backendServer{kind: "memcache", pool: s.Pool, addr: s.Addr, values: []backendSample{
			{seriesBreaker, breakerValue(s.Breaker)},
		}})
	}
	for _, s := range bc.src.MySQL() {
		out = append(out, backendServer{kind: "mysql", pool: s.Name, addr: s.Addr, values: []backendSample{
			{seriesCalls, float64(s.Calls)}, {seriesErrors, float64(s.Errors)},
			{seriesOpen, float64(s.Open)}, {seriesInUse, float64(s.InUse)}, {seriesIdle, float64(s.Idle)},
			{seriesWaits, float64(s.WaitCount)}, {seriesPinned, float64(s.Pinned)}, {seriesBreaker, breakerValue(s.Breaker)},
		}})
	}
	for _, s := range bc.src.Mongo() {
		out = append(out, backendServer{kind: "mongo", pool: s.Name, addr: s.Addr, values: []backendSample{
			{seriesCalls, float64(s.Calls)}, {seriesErrors, float64(s.Errors)}, {seriesBreaker, breakerValue(s.Breaker)},
		}})
	}
	return out
}
