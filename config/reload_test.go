package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faed/faed/config"
)

func parse(t *testing.T, body string) config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(body), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const reloadBase = `
[server]
listen = "127.0.0.1:9001"
call_timeout = "700ms"
[redis.a]
servers = ["127.0.0.1:6379"]
[redis.b]
servers = ["127.0.0.1:6380"]
[memcache.m]
servers = ["127.0.0.1:11211"]
[mysql.servers.Global]
addr = "127.0.0.1:3306"
[mysql]
global_pools = ["Global"]
[cluster]
zk_servers = []
`

func TestPlanReload(t *testing.T) {
	running := parse(t, reloadBase)
	cases := []struct {
		name         string
		body         string
		changed      []string
		needsRestart []string
	}{
		{name: "same file", body: reloadBase},
		{name: "timeouts and a pool", changed: []string{"redis.b", "server"},
			body: `
[server]
listen = "127.0.0.1:9001"
call_timeout = "300ms"
slow_call = "1s"
[redis.a]
servers = ["127.0.0.1:6379"]
[redis.b]
servers = ["127.0.0.1:6381"]
[memcache.m]
servers = ["127.0.0.1:11211"]
[mysql.servers.Global]
addr = "127.0.0.1:3306"
[mysql]
global_pools = ["Global"]
`},
		{name: "pools added and removed, mysql off", changed: []string{"memcache.m", "mysql", "redis.a", "redis.c"},
			body: `
[server]
listen = "127.0.0.1:9001"
call_timeout = "700ms"
[redis.b]
servers = ["127.0.0.1:6380"]
[redis.c]
servers = ["127.0.0.1:6382"]
`},
		{name: "log level live, its format not", changed: []string{"log.level"}, needsRestart: []string{"log.format"},
			body: reloadBase + `
[log]
level = "debug"
format = "json"
`},
		{name: "only restart keys", changed: nil,
			needsRestart: []string{"admin.listen", "cluster.advertise", "cluster.zk_servers", "id.state_file", "local_cache.max_items", "node.worker_id", "server.listen", "server.max_sessions"},
			body: reloadBase + `
[admin]
listen = "127.0.0.1:9999"
[node]
worker_id = 3
[id]
state_file = "/tmp/x"
[local_cache]
max_items = 1000
`},
	}
	// The last case also moves the listener and the session cap.
	cases[len(cases)-1].body = replace(cases[len(cases)-1].body, `listen = "127.0.0.1:9001"`, "listen = \"127.0.0.1:9002\"\nmax_sessions = 10")
	cases[len(cases)-1].body = replace(cases[len(cases)-1].body, "zk_servers = []", `zk_servers = ["127.0.0.1:2181"]
advertise = "127.0.0.1:9002"`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := parse(t, tc.body)
			r := config.PlanReload(running, next)
			if !slices.Equal(r.Changed, tc.changed) {
				t.Errorf("changed %v, want %v", r.Changed, tc.changed)
			}
			if !slices.Equal(r.NeedsRestart, tc.needsRestart) {
				t.Errorf("needs restart %v, want %v", r.NeedsRestart, tc.needsRestart)
			}
			// What needs a restart keeps its running value; the rest is new.
			if r.Next.Server.Listen != running.Server.Listen || r.Next.Server.MaxSessions != running.Server.MaxSessions ||
				!reflect.DeepEqual(r.Next.Admin, running.Admin) || !reflect.DeepEqual(r.Next.Cluster, running.Cluster) ||
				r.Next.Node != running.Node || r.Next.LocalCache != running.LocalCache {
				t.Error("a restart-only setting was taken from the new file")
			}
			if r.Next.Server.CallTimeout != next.Server.CallTimeout || !reflect.DeepEqual(r.Next.Redis, next.Redis) ||
				!reflect.DeepEqual(r.Next.MySQL, next.MySQL) || r.Next.Log.Level != next.Log.Level || r.Next.Log.Format != running.Log.Format {
				t.Error("a live setting was not taken from the new file")
			}
			// Planning against what is in effect reports the same keys
			// again: they are pending until a restart.
			if again := config.PlanReload(r.Next, next); !slices.Equal(again.NeedsRestart, tc.needsRestart) || len(again.Changed) != 0 {
				t.Errorf("second plan: changed %v, needs restart %v", again.Changed, again.NeedsRestart)
			}
		})
	}
	if r := config.PlanReload(running, running); r.Next.Server.CallTimeout != 700*time.Millisecond {
		t.Fatal("unchanged config not kept")
	}
}

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: " + old + " not in the text")
	}
	return strings.Replace(s, old, new, 1)
}
