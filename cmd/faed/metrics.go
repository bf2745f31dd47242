package main

import (
	"github.com/faed/faed/cache"
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
	put("fast_fails", prometheus.CounterValue, p.FastFails)
	put("marked_down", prometheus.CounterValue, p.MarkedDown)
}
