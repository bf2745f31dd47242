package mongo

import (
	"maps"
	"slices"
	"testing"
)

// Rebuild keeps a server whose entry and client settings are unchanged,
// also when only the shard strategy changed, and rebuilds every server
// when a client setting changed.
func TestRebuildKeepsUnchangedServers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Servers = map[string]ServerConfig{
		"same":    {URI: "mongodb://127.0.0.1:1/", DB: "a"},
		"changed": {URI: "mongodb://127.0.0.1:2/", DB: "a"},
		"removed": {URI: "mongodb://127.0.0.1:3/", DB: "a"},
	}
	old, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	nc := DefaultConfig()
	nc.ShardStrategy = "standard"
	nc.Servers = map[string]ServerConfig{
		"same":    {URI: "mongodb://127.0.0.1:1/", DB: "a"},
		"changed": {URI: "mongodb://127.0.0.1:2/", DB: "b"},
	}
	next, retired, err := old.Rebuild(nc)
	if err != nil {
		t.Fatal(err)
	}
	if next.servers["same"] != old.servers["same"] || next.servers["changed"] == old.servers["changed"] {
		t.Error("kept or rebuilt the wrong servers")
	}
	if got := slices.Sorted(maps.Keys(retired.servers)); !slices.Equal(got, []string{"changed", "removed"}) {
		t.Errorf("retired servers %v", got)
	}
	if next.cfg.ShardStrategy != "standard" {
		t.Error("the new shard strategy is not used")
	}

	nc.MaxFindAll = 5
	all, retired2, err := next.Rebuild(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	if len(retired2.servers) != 2 || all.servers["same"] == next.servers["same"] || all.servers["same"].maxAll != 5 {
		t.Error("a changed client setting did not rebuild every server")
	}
	_ = retired2.Close()
}
