package memcache

import (
	"maps"
	"slices"
	"testing"
)

// Rebuild keeps an unchanged pool as the same object and retires the
// changed and removed ones.
func TestRebuildKeepsUnchangedPools(t *testing.T) {
	cfg := func(addr string) Config { c := DefaultConfig(); c.Servers = []string{addr}; return c }
	old, err := New(map[string]Config{"same": cfg("127.0.0.1:1"), "changed": cfg("127.0.0.1:2"), "removed": cfg("127.0.0.1:3")})
	if err != nil {
		t.Fatal(err)
	}
	changed := cfg("127.0.0.1:2")
	changed.Selector = Consistent
	next, retired, err := old.Rebuild(map[string]Config{"same": cfg("127.0.0.1:1"), "changed": changed})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	defer retired.Close()
	if next.pools["same"] != old.pools["same"] {
		t.Error("an unchanged pool was rebuilt")
	}
	if next.pools["changed"] == old.pools["changed"] {
		t.Error("a changed pool was kept")
	}
	if got := slices.Sorted(maps.Keys(retired.pools)); !slices.Equal(got, []string{"changed", "removed"}) {
		t.Errorf("retired pools %v", got)
	}
}
