package main

import (
	"cmp"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/faed/faed/cache"
	"github.com/faed/faed/engine"
)

// The dashboard's history: one sample a second for the last 15 minutes.
const (
	historyInterval = time.Second
	historySamples  = 15 * 60
)

// sample is one second of the daemon, as the dashboard draws it: the
// engine's rates and latency, the runtime, the caches and every backend
// server, read from the same sources as /stats.
type sample struct {
	T int64 `json:"t"` // unix milliseconds at the end of the interval
	engine.EngineSample
	Goroutines    int            `json:"goroutines"`
	HeapBytes     uint64         `json:"heap_bytes"`            // live and not yet swept heap objects
	GCs           uint32         `json:"gcs"`                   // collections in the interval
	GCPauseUs     float64        `json:"gc_pause_us"`           // stop-the-world pauses in the interval, added up
	GCLastPauseUs float64        `json:"gc_last_pause_us"`      // the latest pause, whenever it was
	LocalCacheHit *float64       `json:"local_cache_hit_ratio"` // hits/lookups in the interval; null without lookups
	QueryCacheHit *float64       `json:"query_cache_hit_ratio"`
	Backends      []serverSample `json:"backends,omitempty"`
}

// serverSample is one backend server's pool and breaker. Conns is nil for
// kinds whose client does not report its connections (memcache, mongodb).
type serverSample struct {
	Kind    string       `json:"kind"`
	Pool    string       `json:"pool"`
	Addr    string       `json:"addr"`
	Breaker string       `json:"breaker"`
	Conns   *connsSample `json:"conns,omitempty"`
}

type connsSample struct {
	Open  int `json:"open"`
	InUse int `json:"in_use"`
	Idle  int `json:"idle"`
}

// historyPage is what /history serves: the samples asked for, the number
// to ask from next time, and what is not a series (the cluster's members
// now).
type historyPage struct {
	Version    string          `json:"version"`
	Build      string          `json:"build"`
	Started    int64           `json:"started"` // unix milliseconds
	IntervalMs int64           `json:"interval_ms"`
	Capacity   int             `json:"capacity"`
	Next       uint64          `json:"next"`
	Samples    []sample        `json:"samples"`
	Members    []clusterMember `json:"members,omitempty"`
}

// clusterMember is a live faed of the cluster; Admin is where its
// dashboard is, empty when it registered no usable admin address.
type clusterMember struct {
	Addr  string `json:"addr"`
	Admin string `json:"admin"`
	Self  bool   `json:"self,omitempty"`
}

// history samples the daemon every historyInterval into a ring, from
// start until stop.
type history struct {
	d       *daemon
	ring    *engine.History[sample]
	sampler *engine.Sampler

	// the previous sample's cumulative counters, for the per-interval ones
	numGC                  uint32
	pauseNs                uint64
	localStats, queryStats cache.Stats
	stopOnce               sync.Once
	stopc, done            chan struct{}
}

func newHistory(d *daemon) *history {
	return &history{d: d, ring: engine.NewHistory[sample](historySamples)}
}

// start takes a first reading (the baseline of the first sample) and
// samples in the background.
func (h *history) start() {
	now := time.Now()
	h.sampler = h.d.engine.Stats().NewSampler(now)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.numGC, h.pauseNs = ms.NumGC, ms.PauseTotalNs
	h.localStats, h.queryStats = h.d.localCache.Stats(), h.d.queryCache.Stats()
	h.stopc, h.done = make(chan struct{}), make(chan struct{})
	go h.run()
}

func (h *history) run() {
	defer close(h.done)
	tick := time.NewTicker(historyInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.stopc:
			return
		case now := <-tick.C:
			h.ring.Add(h.sample(now))
		}
	}
}

// stop ends the sampling and waits for it; a history never started (the
// daemon failed to start) has nothing to stop.
func (h *history) stop() {
	if h.stopc == nil {
		return
	}
	h.stopOnce.Do(func() { close(h.stopc) })
	<-h.done
}

func (h *history) sample(now time.Time) sample {
	d := h.d
	s := sample{T: now.UnixMilli(), EngineSample: h.sampler.Sample(now), Goroutines: runtime.NumGoroutine()}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.HeapBytes, s.GCs, s.GCPauseUs = ms.HeapAlloc, ms.NumGC-h.numGC, float64(ms.PauseTotalNs-h.pauseNs)/1e3
	if ms.NumGC > 0 {
		s.GCLastPauseUs = float64(ms.PauseNs[(ms.NumGC+255)%256]) / 1e3
	}
	h.numGC, h.pauseNs = ms.NumGC, ms.PauseTotalNs
	local, query := d.localCache.Stats(), d.queryCache.Stats()
	s.LocalCacheHit, s.QueryCacheHit = hitRatio(h.localStats, local), hitRatio(h.queryStats, query)
	h.localStats, h.queryStats = local, query
	s.Backends = serverSamples(d)
	return s
}

// hitRatio is the share of lookups between two reads that hit, or nil
// when there were none.
func hitRatio(prev, now cache.Stats) *float64 {
	hits, lookups := now.Hits-prev.Hits, now.Hits-prev.Hits+now.Misses-prev.Misses
	if lookups <= 0 {
		return nil
	}
	r := float64(hits) / float64(lookups)
	return &r
}

// serverSamples lists every backend server, by kind, pool and address.
func serverSamples(d *daemon) []serverSample {
	var out []serverSample
	be := d.backends()
	for _, s := range be.redis.Stats() {
		out = append(out, serverSample{Kind: "redis", Pool: s.Pool, Addr: s.Addr, Breaker: s.Breaker,
			Conns: &connsSample{Open: int(s.Conns), InUse: int(s.InUse), Idle: int(s.Idle)}})
	}
	for _, s := range be.memcache.Stats() {
		out = append(out, serverSample{Kind: "memcache", Pool: s.Pool, Addr: s.Addr, Breaker: s.Breaker})
	}
	for _, s := range be.mysql.Stats() {
		out = append(out, serverSample{Kind: "mysql", Pool: s.Name, Addr: s.Addr, Breaker: s.Breaker,
			Conns: &connsSample{Open: s.Open, InUse: s.InUse, Idle: s.Idle}})
	}
	for _, s := range be.mongo.Stats() {
		out = append(out, serverSample{Kind: "mongo", Pool: s.Name, Addr: s.Addr, Breaker: s.Breaker})
	}
	slices.SortStableFunc(out, func(a, b serverSample) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Pool, b.Pool), cmp.Compare(a.Addr, b.Addr))
	})
	return out
}

// page is /history?since=N.
func (h *history) page(since uint64) any {
	d := h.d
	samples, next := h.ring.Since(since)
	if samples == nil {
		samples = []sample{}
	}
	p := historyPage{Version: version, Build: buildSHA(), Started: d.started.UnixMilli(),
		IntervalMs: historyInterval.Milliseconds(), Capacity: historySamples, Next: next, Samples: samples}
	if d.node != nil {
		v := d.node.View()
		for _, m := range v.Members {
			p.Members = append(p.Members, clusterMember{Addr: m.Addr, Admin: dashboardAddr(m.Info.Admin, m.Addr), Self: m.Addr == v.Self})
		}
	}
	return p
}

// dashboardAddr is where a member's dashboard is reached from its
// registered admin listen address: a wildcard or empty host is the
// member's own host (the one peers call it on); no address, or port 0
// (the port it really bound is not registered), gives "".
func dashboardAddr(admin, member string) string {
	host, port, err := net.SplitHostPort(admin)
	if err != nil || port == "" || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if host, _, err = net.SplitHostPort(member); err != nil {
			return ""
		}
	}
	return net.JoinHostPort(host, port)
}
