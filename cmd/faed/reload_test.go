package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	goredis "github.com/redis/go-redis/v9"
)

// redisPool is a [redis.NAME] section on one server that dials only when
// a call finds no idle connection: no pipeline lanes, no idle minimum.
func redisPool(name, addr, extra string) string {
	return fmt.Sprintf("[redis.%s]\nservers = [%q]\nmin_idle = 0\npipeline_lanes = 0\n%s", name, addr, extra)
}

// rewrite replaces p's config file; server lines go in [server].
func (p *proc) rewrite(t *testing.T, server, extra string) {
	t.Helper()
	body := faedConf("127.0.0.1:0", p.unix, server, extra)
	if err := os.WriteFile(filepath.Join(p.dir, "faed.toml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// postReload asks p's admin endpoint to reload.
func postReload(t *testing.T, admin string) (int, reloadResult) {
	t.Helper()
	resp, err := http.Post("http://"+admin+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res reloadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("POST /reload: %d, body not a result: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, res
}

// reloadsOf is the reload part of admin's /stats.
func reloadsOf(t *testing.T, admin string) reloadStats {
	t.Helper()
	var st struct {
		Reload reloadStats `json:"reload"`
	}
	statsOf(t, admin, &st)
	return st.Reload
}

// sighupReload sends SIGHUP and waits until /stats counts one more
// reload, which it returns.
func sighupReload(t *testing.T, p *proc) reloadResult {
	t.Helper()
	before := reloadsOf(t, p.admin)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := reloadsOf(t, p.admin)
		if st.OK+st.Failed > before.OK+before.Failed {
			return *st.Last
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reload recorded within 30s of SIGHUP; stderr:\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connectionsReceived is a redis server's count of connections ever
// accepted, read through a connection of the test's own that stays open
// (so reading adds nothing after the first time).
type connCounter struct{ c *goredis.Client }

func newConnCounter(t *testing.T, addr string) *connCounter {
	c := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 1, MinIdleConns: 0, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	cc := &connCounter{c}
	cc.total(t) // the counter's own connection, before any baseline
	return cc
}

func (cc *connCounter) total(t *testing.T) int64 {
	t.Helper()
	info, err := cc.c.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_connections_received:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no total_connections_received in INFO stats:\n%s", info)
	return 0
}

// cutByDeadline: the call's deadline ended it (the socket deadline set
// from it, or the context).
func cutByDeadline(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "i/o timeout") || strings.Contains(err.Error(), "deadline"))
}

// A good file swaps in: a changed pool is rebuilt (its server sees new
// connections) while an unchanged one keeps its connection (its server
// sees none), a new pool works, a removed one is gone, call_timeout
// applies to new calls and keys that need a restart are reported. A bad
// file (syntax, unknown key, invalid value) changes nothing and /stats
// and /metrics say why. SIGHUP reloads as POST /reload does.
func TestReloadAppliesAGoodFileOnly(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18385, 18386}})
	r1, r2 := newConnCounter(t, sv.Redis[0]), newConnCounter(t, sv.Redis[1])
	p := startFaed(t, t.TempDir(), redisPool("a", sv.Redis[0], "")+redisPool("b", sv.Redis[1], ""))
	c := client(t, "tcp", p.addr)
	ctx := context.Background()
	rd := func(pool, cmd string, args ...string) (string, error) { return c.RdCall(ctx, rctx(1), cmd, pool, args) }
	mustRd := func(pool, cmd string, args ...string) string {
		t.Helper()
		v, err := rd(pool, cmd, args...)
		if err != nil {
			t.Fatalf("rd_call %s %v on pool %s: %v", cmd, args, pool, err)
		}
		return v
	}
	mustRd("a", "SET", "reload:a", "1")
	mustRd("b", "SET", "reload:b", "1")
	if _, err := rd("c", "SET", "reload:c", "1"); err == nil || !strings.Contains(err.Error(), "no such redis pool") {
		t.Fatalf("pool c before it is configured: %v", err)
	}
	a0, b0 := r1.total(t), r2.total(t)

	// Pool c runs BLPOP, and long enough that only call_timeout cuts it.
	const blocking = "allow_dangerous = true\nread_timeout = \"60s\"\n"
	// b changes, c is new, a stays; call_timeout is live, max_sessions and
	// worker_id need a restart.
	good := redisPool("a", sv.Redis[0], "") + redisPool("b", sv.Redis[1], "pool_size = 32\n") +
		redisPool("c", sv.Redis[1], blocking) + "[node]\nworker_id = 5\n"
	p.rewrite(t, "call_timeout = \"2s\"\nmax_sessions = 100\n", good)
	code, res := postReload(t, p.admin)
	if code != 200 || !res.OK || res.Error != "" {
		t.Fatalf("POST /reload of a good file: %d %+v", code, res)
	}
	if want := []string{"redis.b", "redis.c", "server"}; !slices.Equal(res.Changed, want) {
		t.Errorf("changed %v, want %v", res.Changed, want)
	}
	if want := []string{"node.worker_id", "server.max_sessions"}; !slices.Equal(res.NeedsRestart, want) {
		t.Errorf("needs restart %v, want %v", res.NeedsRestart, want)
	}
	if v := mustRd("a", "GET", "reload:a"); v != "1" {
		t.Fatalf("pool a after the reload: %q", v)
	}
	mustRd("b", "GET", "reload:b")
	mustRd("c", "SET", "reload:c", "1")
	if got := r1.total(t); got != a0 {
		t.Errorf("the unchanged pool's server got %d new connections, want 0", got-a0)
	}
	if got := r2.total(t); got < b0+2 {
		t.Errorf("the server of the rebuilt pool b and the new pool c got %d new connections, want 2 or more", got-b0)
	}
	if _, err := rd("c", "BLPOP", "reload:empty", "5"); !cutByDeadline(err) {
		t.Fatalf("a 5 s BLPOP under the new 2s call_timeout: %v", err)
	}
	if pong, err := c.Ping(ctx, rctx(1)); err != nil || !strings.Contains(pong, "myid:0,") {
		t.Fatalf("worker_id needs a restart, yet ping = %q %v", pong, err)
	}
	m := scrapeMetrics(t, p.admin)
	if m.get(t, "faed_config_last_reload_successful") != 1 || m.get(t, `faed_config_reloads_total{result="ok"}`) != 1 {
		t.Errorf("metrics after a good reload: %v", m)
	}

	bad := []struct{ name, server, extra, why string }{
		{"syntax", "", good + "[redis.d\n", "toml"},
		{"unknown key", "bogus = 1\n", good, "unknown key server.bogus"},
		{"invalid value", "call_timeout = \"0s\"\n", good, "call_timeout"},
		{"invalid pool", "", good + redisPool("d", sv.Redis[0], "pool_size = 0\n"), "pool_size"},
	}
	for i, tc := range bad {
		p.rewrite(t, tc.server, tc.extra)
		code, res := postReload(t, p.admin)
		if code != 400 || res.OK || !strings.Contains(res.Error, tc.why) {
			t.Errorf("%s: POST /reload = %d %+v, want 400 with %q", tc.name, code, res, tc.why)
		}
		st := reloadsOf(t, p.admin)
		if st.Last == nil || st.Last.OK || !strings.Contains(st.Last.Error, tc.why) || st.Failed != int64(i+1) || st.OK != 1 {
			t.Errorf("%s: /stats reload = %+v", tc.name, st)
		}
		m := scrapeMetrics(t, p.admin)
		if m.get(t, "faed_config_last_reload_successful") != 0 || m.get(t, `faed_config_reloads_total{result="error"}`) != float64(i+1) {
			t.Errorf("%s: metrics after a bad reload: successful %v, errors %v", tc.name,
				m["faed_config_last_reload_successful"], m[`faed_config_reloads_total{result="error"}`])
		}
		mustRd("c", "SET", "reload:c", "2") // the old config still serves
	}
	if _, err := rd("c", "BLPOP", "reload:empty", "5"); !cutByDeadline(err) {
		t.Fatalf("after the bad files, the running call_timeout is gone: %v", err)
	}
	if !strings.Contains(p.stderr.String(), "config reload failed") {
		t.Error("a failed reload was not logged")
	}

	// SIGHUP: b goes, call_timeout is generous again.
	p.rewrite(t, "call_timeout = \"30s\"\n", redisPool("a", sv.Redis[0], "")+redisPool("c", sv.Redis[1], blocking))
	if res := sighupReload(t, p); !res.OK || !slices.Equal(res.Changed, []string{"redis.b", "server"}) {
		t.Fatalf("SIGHUP reload: %+v", res)
	}
	if _, err := rd("b", "GET", "reload:b"); err == nil || !strings.Contains(err.Error(), "no such redis pool") {
		t.Fatalf("removed pool b: %v", err)
	}
	if v, err := rd("c", "BLPOP", "reload:empty", "1"); err != nil || v != "" {
		t.Fatalf("a 1 s BLPOP under a 30s call_timeout: %q %v", v, err)
	}

	// No redis at all: rd_call says redis is not configured.
	p.rewrite(t, "", "")
	if code, res := postReload(t, p.admin); code != 200 || !res.OK {
		t.Fatalf("reload without redis: %d %+v", code, res)
	}
	if _, err := rd("a", "GET", "reload:a"); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("rd_call with redis removed: %v", err)
	}
	if st := reloadsOf(t, p.admin); st.OK != 3 || st.Failed != int64(len(bad)) {
		t.Fatalf("reload counts %+v", st)
	}
}

// Calls running while the config is reloaded again and again, by SIGHUP
// and POST /reload, all succeed: a changed pool is closed only after the
// calls that began on it have returned.
func TestReloadUnderLoad(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18387, 18388}})
	conf := func(i int) (string, string) {
		return fmt.Sprintf("call_timeout = \"%dms\"\n", 700+i),
			redisPool("a", sv.Redis[0], "") + redisPool("b", sv.Redis[1], fmt.Sprintf("pool_size = %d\n", 32+i))
	}
	server, extra := conf(0)
	dir := t.TempDir()
	p := startFaed(t, dir, "")
	p.rewrite(t, server, extra)
	if code, res := postReload(t, p.admin); code != 200 || !res.OK {
		t.Fatalf("first reload: %d %+v", code, res)
	}

	var calls, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		c := client(t, "tcp", p.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pool := []string{"a", "b"}[i%2]
				key := fmt.Sprintf("load:%d:%d", w, i%10)
				_, err := c.RdCall(ctx, rctx(1), "SET", pool, []string{key, "v"})
				if err == nil {
					_, err = c.RdCall(ctx, rctx(1), "GET", pool, []string{key})
				}
				calls.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	const reloads = 6
	for i := 1; i <= reloads; i++ {
		before := calls.Load()
		for calls.Load() == before { // calls are running when the reload comes
			time.Sleep(time.Millisecond)
		}
		server, extra := conf(i)
		p.rewrite(t, server, extra)
		var res reloadResult
		if i%2 == 0 {
			_, res = postReload(t, p.admin)
		} else {
			res = sighupReload(t, p)
		}
		if !res.OK || !slices.Equal(res.Changed, []string{"redis.b", "server"}) {
			t.Fatalf("reload %d: %+v", i, res)
		}
	}
	before := calls.Load()
	for calls.Load() == before {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d calls failed across %d reloads; first: %v", n, calls.Load(), reloads, firstErr.Load())
	}
	if st := reloadsOf(t, p.admin); st.OK != reloads+1 || st.Failed != 0 {
		t.Fatalf("reload counts %+v", st)
	}
}

// A daemon running on a config it did not read from a file has nothing to
// reload, and says so (409).
func TestReloadWithoutAFile(t *testing.T) {
	d := startInProcess(t, 1, "")
	code, res := postReload(t, d.admin)
	if code != http.StatusConflict || res.OK || !strings.Contains(res.Error, "embedded defaults") {
		t.Fatalf("POST /reload without a file: %d %+v", code, res)
	}
	if st := reloadsOf(t, d.admin); st.Failed != 1 || st.Last == nil {
		t.Fatalf("reload stats %+v", st)
	}
}

// TestReloadChangesTheLogLevel: log.level is live. After a reload to warn
// the next reload's info line is not logged; after one back to info it
// is.
func TestReloadChangesTheLogLevel(t *testing.T) {
	p := startFaed(t, t.TempDir(), "")
	conf := filepath.Join(p.dir, "faed.toml")
	setLevel := func(from, to string, slow string) {
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Replace(string(b), "level = \""+from+"\"", "level = \""+to+"\"", 1)
		if !strings.Contains(body, "slow_call") {
			body = strings.Replace(body, "[server]\n", "[server]\nslow_call = \""+slow+"\"\n", 1)
		}
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reloaded := func() int { return strings.Count(p.stderr.String(), `msg="config reloaded"`) }
	setLevel("info", "warn", "300ms")
	if code, res := postReload(t, p.admin); code != 200 || !slices.Contains(res.Changed, "log.level") || slices.Contains(res.NeedsRestart, "log.level") {
		t.Fatalf("reload to warn: %d %+v", code, res)
	}
	if n := reloaded(); n != 0 {
		t.Fatalf("%d info lines logged at level warn", n)
	}
	setLevel("warn", "info", "400ms")
	if code, res := postReload(t, p.admin); code != 200 || !res.OK {
		t.Fatalf("reload to info: %d %+v", code, res)
	}
	// Log lines are written by the log's own goroutine: wait for it.
	waitUntil(t, 30*time.Second, func() bool { return reloaded() >= 1 })
	if n := reloaded(); n != 1 {
		t.Fatalf("%d reload lines logged back at level info, want 1", n)
	}
}
