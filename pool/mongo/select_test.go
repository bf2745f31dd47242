package mongo

import "testing"

func TestServerName(t *testing.T) {
	cases := []struct {
		strategy string
		pool     string
		shard    int32
		want     string
	}{
		{"legacy", "default", 7, "default"},
		{"legacy", "db.user", 7, "user"},
		{"legacy", "db1", 250000, "db1"},
		{"standard", "db", 0, "db1"},
		{"standard", "db", 99999, "db1"},
		{"standard", "db", 100000, "db2"},
		{"standard", "dbuser", 250000, "db3"},
		{"standard", "default", 250000, "default"},
	}
	for _, c := range cases {
		if got := ServerName(c.strategy, 100000, c.pool, c.shard); got != c.want {
			t.Errorf("%s %q shard %d: %q, want %q", c.strategy, c.pool, c.shard, got, c.want)
		}
	}
}

func TestSortSpec(t *testing.T) {
	d := sortSpec([]string{"-age", "name", "+x"})
	if len(d) != 3 || d[0].Key != "age" || d[0].Value != -1 || d[1].Key != "name" || d[1].Value != 1 || d[2].Key != "x" {
		t.Fatalf("%v", d)
	}
}
