package redis

import (
	"maps"
	"slices"
	"testing"
)

// Rebuild keeps an unchanged pool as the same object (its clients and
// connections), builds a changed or new one afresh and retires the changed
// and removed ones.
func TestRebuildKeepsUnchangedPools(t *testing.T) {
	cfg := func(addr string) Config { c := DefaultConfig(); c.Servers = []string{addr}; return c }
	old, err := New(map[string]Config{"same": cfg("127.0.0.1:1"), "changed": cfg("127.0.0.1:2"), "removed": cfg("127.0.0.1:3")})
	if err != nil {
		t.Fatal(err)
	}
	changed := cfg("127.0.0.1:2")
	changed.AllowDangerous = true
	next, retired, err := old.Rebuild(map[string]Config{"same": cfg("127.0.0.1:1"), "changed": changed, "added": cfg("127.0.0.1:4")})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	defer retired.Close()
	if next.pools["same"] != old.pools["same"] {
		t.Error("an unchanged pool was rebuilt")
	}
	if next.pools["changed"] == old.pools["changed"] || !next.pools["changed"].cfg.AllowDangerous {
		t.Error("a changed pool was kept")
	}
	if got := slices.Sorted(maps.Keys(next.pools)); !slices.Equal(got, []string{"added", "changed", "same"}) {
		t.Errorf("next pools %v", got)
	}
	if got := slices.Sorted(maps.Keys(retired.pools)); !slices.Equal(got, []string{"changed", "removed"}) {
		t.Errorf("retired pools %v", got)
	}
	if retired.pools["changed"] != old.pools["changed"] {
		t.Error("the retired pool is not the old one")
	}

	bad := cfg("127.0.0.1:5")
	bad.PoolSize = 0
	if _, _, err := next.Rebuild(map[string]Config{"same": cfg("127.0.0.1:1"), "bad": bad}); err == nil {
		t.Fatal("Rebuild with an invalid pool succeeded")
	}
}
