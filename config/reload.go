package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
)

// Reload is what loading a new file over the running config changes.
//
// Live: the backend sections ([redis.NAME], [memcache.NAME], [mysql],
// [mongo]; a pool whose section is unchanged keeps its connections), the
// [server] settings engine.Config.NeedsRestart does not name (timeouts,
// slow_call, accept_wait, drain_timeout, rate_limit, rate_burst) and
// log.level.
//
// Needs a restart: the listeners and protocol limits of [server] (see
// NeedsRestart), the rest of [log], and every key of [admin], [node], [id], [lock],
// [local_cache], [query_cache] and [cluster]: they are bound once, give
// the node its identity, or size a cache whose data is kept.
type Reload struct {
	// Next is the config in effect once the reload is applied: the new
	// file's live settings and the running values of everything else, so a
	// key that needs a restart is reported again by every reload until then.
	Next Config
	// Changed names the live sections that differ, sorted: "server",
	// "redis.NAME" and "memcache.NAME" (added, changed or removed), "mysql",
	// "mongo".
	Changed []string
	// NeedsRestart names, sorted, the keys of the new file that differ from
	// the running config and take effect only on a restart, e.g.
	// "server.listen", "cluster.zk_servers".
	NeedsRestart []string
}

// PlanReload compares next (a loaded, valid file) with the running config.
func PlanReload(running, next Config) Reload {
	r := Reload{Next: next}
	r.Next.Server = next.Server.Fixed(running.Server)
	if r.Next.Server != running.Server {
		r.Changed = append(r.Changed, "server")
	}
	r.Changed = append(r.Changed, changedPools("redis", running.Redis, next.Redis)...)
	r.Changed = append(r.Changed, changedPools("memcache", running.Memcache, next.Memcache)...)
	if !reflect.DeepEqual(running.MySQL, next.MySQL) {
		r.Changed = append(r.Changed, "mysql")
	}
	if !reflect.DeepEqual(running.Mongo, next.Mongo) {
		r.Changed = append(r.Changed, "mongo")
	}
	if running.Log.Level != next.Log.Level {
		r.Changed = append(r.Changed, "log.level")
	}

	for _, k := range running.Server.NeedsRestart(next.Server) {
		r.NeedsRestart = append(r.NeedsRestart, "server."+k)
	}
	fixed := []struct {
		section       string
		running, next any
		keep          func()
	}{
		{"admin", running.Admin, next.Admin, func() { r.Next.Admin = running.Admin }},
		{"log", withLevel(running.Log, next.Log.Level), next.Log, func() { r.Next.Log = withLevel(running.Log, next.Log.Level) }},
		{"node", running.Node, next.Node, func() { r.Next.Node = running.Node }},
		{"id", running.ID, next.ID, func() { r.Next.ID = running.ID }},
		{"lock", running.Lock, next.Lock, func() { r.Next.Lock = running.Lock }},
		{"local_cache", running.LocalCache, next.LocalCache, func() { r.Next.LocalCache = running.LocalCache }},
		{"query_cache", running.QueryCache, next.QueryCache, func() { r.Next.QueryCache = running.QueryCache }},
		{"cluster", running.Cluster, next.Cluster, func() { r.Next.Cluster = running.Cluster }},
	}
	for _, f := range fixed {
		r.NeedsRestart = append(r.NeedsRestart, diffKeys(f.section, reflect.ValueOf(f.running), reflect.ValueOf(f.next))...)
		f.keep()
	}
	sort.Strings(r.Changed)
	sort.Strings(r.NeedsRestart)
	return r
}

// withLevel is l with its level set to level: the one key of [log] a
// running process changes (the destination and format are set up once).
func withLevel(l LogConfig, level string) LogConfig {
	l.Level = level
	return l
}

// changedPools names the pools of a [kind.NAME] section added, changed or
// removed.
func changedPools[T any](kind string, running, next map[string]T) []string {
	var out []string
	for name, c := range next {
		if old, ok := running[name]; !ok || !reflect.DeepEqual(old, c) {
			out = append(out, kind+"."+name)
		}
	}
	for name := range running {
		if _, ok := next[name]; !ok {
			out = append(out, kind+"."+name)
		}
	}
	return out
}

// diffKeys lists the dotted toml keys whose values differ between a and b
// (values of one type): struct fields by their toml names (embedded
// structs' keys in the same table), map entries by key; anything else is
// compared whole.
func diffKeys(path string, a, b reflect.Value) []string {
	switch a.Kind() {
	case reflect.Struct:
		var out []string
		t := a.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			p := join(path, tomlName(f))
			if f.Anonymous {
				p = path
			}
			out = append(out, diffKeys(p, a.Field(i), b.Field(i))...)
		}
		return out
	case reflect.Map:
		var out []string
		keys := map[string]reflect.Value{}
		for _, k := range slices.Concat(a.MapKeys(), b.MapKeys()) {
			keys[fmt.Sprint(k.Interface())] = k
		}
		for name, k := range keys {
			av, bv := a.MapIndex(k), b.MapIndex(k)
			if !av.IsValid() || !bv.IsValid() {
				out = append(out, join(path, name))
				continue
			}
			out = append(out, diffKeys(join(path, name), av, bv)...)
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{path}
	}
	return nil
}
