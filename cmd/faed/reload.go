package main

import (
	"context"
	"fmt"
	"time"

	"github.com/faed/faed/config"
	"github.com/faed/faed/engine"
	"github.com/prometheus/client_golang/prometheus"
)

// reloadResult is one reload's outcome, as POST /reload answers it and
// /stats shows the last one.
type reloadResult struct {
	Time  time.Time `json:"time"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
	// Changed are the live sections applied (config.Reload.Changed).
	Changed []string `json:"changed"`
	// NeedsRestart are the keys of the file not applied: they take effect
	// on a restart only (config.Reload.NeedsRestart).
	NeedsRestart []string `json:"needs_restart"`
}

// reloadStats is the reload part of /stats.
type reloadStats struct {
	Last *reloadResult `json:"last,omitempty"` // nil until the first reload
	OK   int64         `json:"ok"`
	// Failed reloads left the running config as it was.
	Failed int64 `json:"failed"`
	// LastSuccess is when the config in effect was loaded: the start, or
	// the last reload that succeeded.
	LastSuccess time.Time `json:"last_success"`
}

// reload re-reads the file faed was started with, validates it as
// `faed -check` does (config.Load) and applies it: the engine's live
// settings for new calls, the backend pools whose sections changed
// rebuilt (the others keep their connections), the caches untouched. The
// retired pools are closed once the calls that began before the swap
// have returned. A file that does not load changes nothing. Reloads are
// serialized; each is logged and recorded for /stats and /metrics.
func (d *daemon) reload() (reloadResult, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	res := reloadResult{Time: time.Now()}
	plan, err := d.applyReload()
	res.Changed, res.NeedsRestart = plan.Changed, plan.NeedsRestart
	st := *d.reloads.Load()
	st.Last = &res
	if err != nil {
		res.Error = err.Error()
		st.Failed++
		d.log.Error("config reload failed: the running config stays", "file", d.confPath, "error", err)
	} else {
		res.OK = true
		st.OK++
		st.LastSuccess = res.Time
		d.log.Info("config reloaded", "file", d.confPath, "changed", res.Changed, "needs_restart", res.NeedsRestart)
		if len(res.NeedsRestart) > 0 {
			d.log.Warn("config reload: these settings take effect only on a restart", "needs_restart", res.NeedsRestart)
		}
	}
	d.reloads.Store(&st)
	return res, err
}

func (d *daemon) applyReload() (config.Reload, error) {
	if d.confPath == "" {
		return config.Reload{}, fmt.Errorf("%w: faed runs on its embedded defaults; start it with -conf FILE to reload", engine.ErrNoReload)
	}
	if d.stopping.Load() {
		return config.Reload{}, errStopping
	}
	cfg, err := config.Load(d.confPath)
	if err != nil {
		return config.Reload{}, err
	}
	cur := d.backends()
	plan := config.PlanReload(cur.cfg, cfg)
	next, retired, err := cur.rebuild(plan.Next, plan.Changed, d.log)
	if err != nil {
		return plan, fmt.Errorf("building the new pools: %w", err)
	}
	if err := d.engine.Reconfigure(plan.Next.Server); err != nil {
		next.abandon(cur)
		return plan, err
	}
	d.servant.SetBackends(next.parts())
	d.current.Store(next)
	if lv, err := plan.Next.Log.SlogLevel(); err == nil && d.logLevel != nil {
		d.logLevel.Set(lv)
	}
	d.retire(retired, plan.Next.Server)
	return plan, nil
}

// retire closes the pools a reload replaced once every call that may
// still use them has returned: the calls that began before the swap.
func (d *daemon) retire(retired *backends, srv engine.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), srv.DrainTimeout+srv.CallTimeout)
	defer cancel()
	if err := d.engine.WaitCalls(ctx); err != nil {
		d.log.Warn("config reload: closing the replaced pools with calls still running on them", "error", err)
	}
	retired.close(d.log)
}

// reloadCollector exposes the reloads at scrape time.
type reloadCollector struct {
	d                  *daemon
	ok, success, total *prometheus.Desc
}

func newReloadCollector(d *daemon) *reloadCollector {
	return &reloadCollector{d: d,
		ok: prometheus.NewDesc("faed_config_last_reload_successful",
			"1 if the last config reload succeeded (or none was tried), 0 if it failed and the previous config still runs.", nil, nil),
		success: prometheus.NewDesc("faed_config_last_reload_success_timestamp_seconds",
			"When the config in effect was loaded: the start, or the last reload that succeeded.", nil, nil),
		total: prometheus.NewDesc("faed_config_reloads_total", "Config reloads tried, by result (ok or error).", []string{"result"}, nil),
	}
}

func (rc *reloadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rc.ok
	ch <- rc.success
	ch <- rc.total
}

func (rc *reloadCollector) Collect(ch chan<- prometheus.Metric) {
	st := rc.d.reloads.Load()
	ok := 1.0
	if st.Last != nil && !st.Last.OK {
		ok = 0
	}
	ch <- prometheus.MustNewConstMetric(rc.ok, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(rc.success, prometheus.GaugeValue, float64(st.LastSuccess.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(rc.total, prometheus.CounterValue, float64(st.OK), "ok")
	ch <- prometheus.MustNewConstMetric(rc.total, prometheus.CounterValue, float64(st.Failed), "error")
}
