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
