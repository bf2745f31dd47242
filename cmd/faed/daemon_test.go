package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faed/faed/config"
	"github.com/faed/faed/idl/fun/rpc"
)

// inProcess is a daemon built by newDaemon in the test process, serving on
// ports the kernel picked.
type inProcess struct {
	d     *daemon
	addr  string
	admin string
	log   *logBuffer
}

// startInProcess builds and starts a daemon from a TOML config of its own
// (loaded as main loads one) and stops it when the test ends.
func startInProcess(t *testing.T, worker int, extra string) *inProcess {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "faed.toml")
	body := fmt.Sprintf("[server]\nlisten = \"127.0.0.1:0\"\nunix = %q\ndrain_timeout = \"2s\"\n[admin]\nlisten = \"127.0.0.1:0\"\n"+
		"[node]\nworker_id = %d\n[id]\nstate_file = %q\n%s",
		filepath.Join(dir, "faed.sock"), worker, filepath.Join(dir, "id.state"), extra)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	p := &inProcess{log: &logBuffer{}}
	d, err := newDaemon(cfg, slog.New(slog.NewTextHandler(p.log, nil)))
	if err != nil {
		t.Fatalf("newDaemon: %v", err)
	}
	if err := d.start(); err != nil {
		t.Fatalf("start: %v\n%s", err, p.log)
	}
	p.d, p.addr, p.admin = d, d.engine.Addr().String(), d.admin.Addr().String()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop stops the daemon once; a later call does nothing.
func (p *inProcess) stop(t *testing.T) error {
	t.Helper()
	if p.d == nil {
		return nil
	}
	d := p.d
	p.d = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.stop(ctx)
}

// Two complete daemons in one process share nothing: no default
// Prometheus registry or HTTP mux, no package-level cache, id generator or
// counter. Each serves its own calls from its own cache and counts them on
// its own /metrics, under load at once (run with -race), and each stops
// cleanly while the other keeps serving.
func TestTwoDaemonsInOneProcess(t *testing.T) {
	a, b := startInProcess(t, 1, ""), startInProcess(t, 2, "")
	if a.addr == b.addr || a.admin == b.admin {
		t.Fatalf("both daemons on %s / %s", a.addr, a.admin)
	}
	ctx := context.Background()
	ca, cb := client(t, "tcp", a.addr), client(t, "tcp", b.addr)
	for _, x := range []struct {
		c    *rpc.FunServantClient
		myid string
	}{{ca, "myid:1,"}, {cb, "myid:2,"}} {
		if pong, err := x.c.Ping(ctx, rctx(1)); err != nil || !strings.Contains(pong, x.myid) {
			t.Fatalf("ping = %q, %v; want %s", pong, err, x.myid)
		}
	}

	// The same key in each daemon's local cache holds that daemon's value.
	if _, err := ca.LcSet(ctx, rctx(1), "k", []byte("a")); err != nil {
		t.Fatal(err)
	}
	var miss *rpc.TCacheMissed
	if _, err := cb.LcGet(ctx, rctx(1), "k"); !errors.As(err, &miss) {
		t.Fatalf("b sees a's lc_set: %v", err)
	}
	if _, err := cb.LcSet(ctx, rctx(1), "k", []byte("b")); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*rpc.FunServantClient]string{ca: "a", cb: "b"} {
		if v, err := c.LcGet(ctx, rctx(1), "k"); err != nil || string(v) != want {
			t.Fatalf("lc_get = %q, %v; want %q", v, err, want)
		}
	}

	// Both under load at once: a on 3 connections, b on 1; ids carry each
	// daemon's worker id.
	conns := func(addr string, n int) []*rpc.FunServantClient {
		var cs []*rpc.FunServantClient
		for range n {
			cs = append(cs, client(t, "tcp", addr))
		}
		return cs
	}
	load := func(cs []*rpc.FunServantClient, sets int, worker int64) []error {
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() {
				for j := range sets {
					key := fmt.Sprintf("load-%d-%d", i, j)
					_, err := c.LcSet(ctx, rctx(1), key, []byte(key))
					if err == nil {
						var id int64
						if id, err = c.IDNext(ctx, rctx(1)); err == nil && id>>12&31 != worker {
							err = fmt.Errorf("id %d from worker %d", id, id>>12&31)
						}
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		return errs
	}
	var wg sync.WaitGroup
	var errsA, errsB []error
	loadA, loadB := conns(a.addr, 3), conns(b.addr, 1)
	wg.Go(func() { errsA = load(loadA, 100, 1) })
	wg.Go(func() { errsB = load(loadB, 100, 2) })
	for range 5 { // scrapes while both serve
		scrape(t, a.admin)
		scrape(t, b.admin)
	}
	wg.Wait()
	if err := errors.Join(append(errsA, errsB...)...); err != nil {
		t.Fatal(err)
	}

	// Each /metrics counts its own daemon's calls only: lc_set 1+300 on a,
	// 1+100 on b; lc_get 2 on each.
	for _, x := range []struct {
		p          *inProcess
		sets, gets float64
	}{{a, 301, 1}, {b, 101, 2}} {
		m := scrapeMetrics(t, x.p.admin)
		if got := m.get(t, `faed_calls_total{method="lc_set"}`); got != x.sets {
			t.Errorf("%s: lc_set calls %v, want %v", x.p.addr, got, x.sets)
		}
		if got := m.get(t, `faed_calls_total{method="lc_get"}`); got != x.gets {
			t.Errorf("%s: lc_get calls %v, want %v", x.p.addr, got, x.gets)
		}
		if got := m.get(t, "faed_local_cache_sets_total"); got != x.sets {
			t.Errorf("%s: local cache sets %v, want %v", x.p.addr, got, x.sets)
		}
		if got := m.get(t, "faed_local_cache_items"); got != x.sets { // every key set once here
			t.Errorf("%s: local cache items %v, want %v", x.p.addr, got, x.sets)
		}
	}

	// a stops cleanly; b still serves, then stops cleanly too.
	if err := a.stop(t); err != nil {
		t.Fatalf("stop a: %v\n%s", err, a.log)
	}
	if x, err := client(t, "tcp", b.addr).Noop(ctx, 3); err != nil || x != 3 {
		t.Fatalf("b after a stopped: %d, %v", x, err)
	}
	scrape(t, b.admin)
	if err := b.stop(t); err != nil {
		t.Fatalf("stop b: %v\n%s", err, b.log)
	}
}
