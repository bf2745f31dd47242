package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// scrape returns the text of admin's /metrics.
func scrape(t *testing.T, admin string) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// metrics is one scrape: series (name and labels as exposed, labels in
// name order) to value.
type metrics map[string]float64

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$`)

func scrapeMetrics(t *testing.T, admin string) metrics {
	t.Helper()
	m := metrics{}
	for _, line := range strings.Split(scrape(t, admin), "\n") {
		s := sampleLine.FindStringSubmatch(line)
		if s == nil {
			continue
		}
		v, err := strconv.ParseFloat(s[2], 64)
		if err != nil {
			t.Fatalf("bad sample %q: %v", line, err)
		}
		m[s[1]] = v
	}
	return m
}

// get is one series' value; the test fails when it is not exposed.
func (m metrics) get(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := m[series]
	if !ok {
		t.Fatalf("/metrics lacks %s", series)
	}
	return v
}

// backend is a faed_backend_ series of one server.
func backend(name, kind, pool, addr string) string {
	return fmt.Sprintf(`faed_backend_%s{addr=%q,kind=%q,pool=%q}`, name, addr, kind, pool)
}

// Every backend kind's servers are on /metrics with their pool's numbers
// (the same /stats serves) and their breaker state, and the numbers move
// with the calls made.
func TestMetricsCoverEveryBackend(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18381}, Memcached: []int{18314}, MySQL: 18309, Mongo: 18019})
	extra := fmt.Sprintf("[redis.default]\nservers = [%q]\n[memcache.default]\nservers = [%q]\n", sv.Redis[0], sv.Memcached[0])
	p := startFaed(t, t.TempDir(), extra+mysqlConf(sv.MySQL)+mongoConf(sv.Mongo))
	c := client(t, "tcp", p.addr)
	ctx := context.Background()
	mongoAddr := strings.TrimSuffix(strings.TrimPrefix(sv.Mongo, "mongodb://"), "/")

	for i := range 5 {
		if _, err := c.RdCall(ctx, rctx(1), "SET", "default", []string{fmt.Sprint("k", i), "v"}); err != nil {
			t.Fatalf("rd_call: %v", err)
		}
		if _, err := c.McSet(ctx, rctx(1), "default", fmt.Sprint("k", i), &rpc.TMemcacheData{Data: []byte("v")}, 0); err != nil {
			t.Fatalf("mc_set: %v", err)
		}
	}
	mysqlQuery := func() error {
		_, err := c.MyQuery(ctx, rctx(1), "Global", "t", 0, "SELECT 1", nil, "")
		return err
	}
	if err := mysqlQuery(); err != nil {
		t.Fatal(err)
	}
	tbl := fmt.Sprint("metrics", p.addr[strings.LastIndex(p.addr, ":")+1:])
	doc, _ := bson.Marshal(bson.M{"_id": "a"})
	if _, err := c.MgInsert(ctx, rctx(1), "default", tbl, 0, doc); err != nil {
		t.Fatal(err)
	}

	t.Run("each server with its pool's numbers", func(t *testing.T) {
		m := scrapeMetrics(t, p.admin)
		rd := func(name string) float64 { return m.get(t, backend(name, "redis", "default", sv.Redis[0])) }
		if rd("open_connections") < 1 || rd("open_connections") != rd("in_use_connections")+rd("idle_connections") {
			t.Errorf("redis connections: open %v, in use %v, idle %v", rd("open_connections"), rd("in_use_connections"), rd("idle_connections"))
		}
		if rd("pool_hits_total")+rd("pool_misses_total") < 1 {
			t.Errorf("redis pool handed out no connection: hits %v misses %v", rd("pool_hits_total"), rd("pool_misses_total"))
		}
		for _, name := range []string{"waits_total", "wait_seconds_total", "pool_timeouts_total", "stale_connections_closed_total"} {
			rd(name) // exposed; a pool never full has nothing to count
		}
		my := func(name string) float64 { return m.get(t, backend(name, "mysql", "Global", sv.MySQL)) }
		if my("open_connections") < 1 || my("open_connections") != my("in_use_connections")+my("idle_connections") {
			t.Errorf("mysql connections: open %v, in use %v, idle %v", my("open_connections"), my("in_use_connections"), my("idle_connections"))
		}
		calls := statsCalls(t, p) // no call runs between the two reads
		if my("calls_total") != float64(calls["mysql/Global"]) || my("calls_total") < 1 {
			t.Errorf("mysql Global calls: /metrics %v, /stats %d", my("calls_total"), calls["mysql/Global"])
		}
		my("waits_total")
		my("errors_total")
		my("pinned_connections")
		for _, kind := range []struct{ kind, pool, addr string }{
			{"redis", "default", sv.Redis[0]}, {"memcache", "default", sv.Memcached[0]},
			{"mysql", "Global", sv.MySQL}, {"mysql", "UserShard1", sv.MySQL}, {"mongo", "default", mongoAddr},
		} {
			if v := m.get(t, backend("breaker_state", kind.kind, kind.pool, kind.addr)); v != 0 {
				t.Errorf("%s %s breaker state %v, want 0 (closed)", kind.kind, kind.pool, v)
			}
		}
		if v := m.get(t, backend("calls_total", "mongo", "default", mongoAddr)); v != float64(calls["mongo/default"]) || v < 1 {
			t.Errorf("mongo calls: /metrics %v, /stats %d", v, calls["mongo/default"])
		}
		m.get(t, "faed_mysql_open_transactions")
		m.get(t, "faed_query_cache_shared_misses_total")
	})

	t.Run("calls and errors are counted per server", func(t *testing.T) {
		before := scrapeMetrics(t, p.admin)
		for range 3 {
			if err := mysqlQuery(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.MyQuery(ctx, rctx(1), "Global", "t", 0, "SELEC oops", nil, ""); err == nil {
			t.Fatal("a syntax error succeeded")
		}
		if _, err := c.MgInsert(ctx, rctx(1), "default", tbl, 0, doc); err == nil {
			t.Fatal("a duplicate _id was inserted")
		}
		after := scrapeMetrics(t, p.admin)
		delta := func(name, kind, pool, addr string) float64 {
			s := backend(name, kind, pool, addr)
			return after.get(t, s) - before.get(t, s)
		}
		for _, d := range []struct {
			series, kind, pool, addr string
			want                     float64
		}{
			{"calls_total", "mysql", "Global", sv.MySQL, 4},
			{"errors_total", "mysql", "Global", sv.MySQL, 1},
			{"calls_total", "mysql", "UserShard1", sv.MySQL, 0},
			{"calls_total", "mongo", "default", mongoAddr, 1},
			{"errors_total", "mongo", "default", mongoAddr, 1},
		} {
			if got := delta(d.series, d.kind, d.pool, d.addr); got != d.want {
				t.Errorf("%s %s %s grew by %v, want %v", d.kind, d.pool, d.series, got, d.want)
			}
		}
	})

	t.Run("an open transaction pins a connection", func(t *testing.T) {
		tx := client(t, "tcp", p.addr)
		run := func(sql string) {
			t.Helper()
			if _, err := tx.MyQuery(ctx, rctx(1), "Global", "t", 0, sql, nil, ""); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		run("BEGIN")
		m := scrapeMetrics(t, p.admin)
		if v := m.get(t, "faed_mysql_open_transactions"); v != 1 {
			t.Errorf("open transactions %v inside one", v)
		}
		if v := m.get(t, backend("pinned_connections", "mysql", "Global", sv.MySQL)); v != 1 {
			t.Errorf("pinned connections %v inside a transaction", v)
		}
		if v := m.get(t, backend("in_use_connections", "mysql", "Global", sv.MySQL)); v < 1 {
			t.Errorf("in-use connections %v inside a transaction", v)
		}
		run("COMMIT")
		m = scrapeMetrics(t, p.admin)
		if v := m.get(t, "faed_mysql_open_transactions"); v != 0 {
			t.Errorf("open transactions %v after COMMIT", v)
		}
		if v := m.get(t, backend("pinned_connections", "mysql", "Global", sv.MySQL)); v != 0 {
			t.Errorf("pinned connections %v after COMMIT", v)
		}
	})
}

// A server that stops answering opens its breaker, and /metrics says so
// for that server only.
func TestMetricsBreakerState(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{Redis: []int{18383}, Memcached: []int{18316, 18317}})
	// A long cooldown keeps the breaker open while the test scrapes.
	extra := fmt.Sprintf("[redis.default]\nservers = [%q]\n[redis.default.breaker]\nfailures = 3\ncooldown = \"60s\"\n"+
		"[memcache.a]\nservers = [%q]\n[memcache.a.breaker]\nfailures = 3\ncooldown = \"60s\"\n[memcache.b]\nservers = [%q]\n",
		sv.Redis[0], sv.Memcached[0], sv.Memcached[1])
	p := startFaed(t, t.TempDir(), extra)
	c := client(t, "tcp", p.addr)
	ctx := context.Background()
	state := func(m metrics, kind, pool, addr string) float64 {
		t.Helper()
		return m.get(t, backend("breaker_state", kind, pool, addr))
	}
	m := scrapeMetrics(t, p.admin)
	if state(m, "redis", "default", sv.Redis[0]) != 0 || state(m, "memcache", "a", sv.Memcached[0]) != 0 {
		t.Fatal("a breaker is not closed before any call")
	}
	stack.Stop(t, "redis1")
	stack.Stop(t, "memcached1")
	for i := range 5 { // failures = 3: the breakers open on the third
		if _, err := c.RdCall(ctx, rctx(1), "GET", "default", []string{fmt.Sprint("k", i)}); err == nil {
			t.Fatal("rd_call succeeded with redis stopped")
		}
		if _, err := c.McSet(ctx, rctx(1), "a", fmt.Sprint("k", i), &rpc.TMemcacheData{Data: []byte("v")}, 0); err == nil {
			t.Fatal("mc_set succeeded with memcached stopped")
		}
	}
	if _, err := c.McSet(ctx, rctx(1), "b", "k", &rpc.TMemcacheData{Data: []byte("v")}, 0); err != nil {
		t.Fatalf("mc_set on the server still up: %v", err)
	}
	m = scrapeMetrics(t, p.admin)
	if v := state(m, "redis", "default", sv.Redis[0]); v != 2 {
		t.Errorf("redis breaker state %v with the server stopped, want 2 (open)", v)
	}
	if v := state(m, "memcache", "a", sv.Memcached[0]); v != 2 {
		t.Errorf("memcache breaker state %v with the server stopped, want 2 (open)", v)
	}
	if v := state(m, "memcache", "b", sv.Memcached[1]); v != 0 {
		t.Errorf("memcache breaker state %v of the server still up, want 0 (closed)", v)
	}
}

// statsCalls is /stats' calls of mysql and mongo servers, by "kind/name".
func statsCalls(t *testing.T, p *proc) map[string]int64 {
	t.Helper()
	type server struct {
		Name  string `json:"name"`
		Calls int64  `json:"calls"`
	}
	var st struct {
		MySQL struct {
			Servers []server `json:"servers"`
		} `json:"mysql"`
		Mongo []server `json:"mongo"`
	}
	statsOf(t, p.admin, &st)
	out := map[string]int64{}
	for _, s := range st.MySQL.Servers {
		out["mysql/"+s.Name] = s.Calls
	}
	for _, s := range st.Mongo {
		out["mongo/"+s.Name] = s.Calls
	}
	return out
}
