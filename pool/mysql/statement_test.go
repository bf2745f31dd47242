package mysql

import "testing"

func TestClassify(t *testing.T) {
	cases := []struct {
		sql  string
		want Kind
	}{
		{"SELECT 1", Query},
		{"  \n\tselect * from t", Query},
		{"(SELECT 1) UNION (SELECT 2)", Query},
		{"/* hint */ SELECT 1", Query},
		{"/* a */ /* b */show tables", Query},
		{"DESCRIBE t", Query},
		{"desc t", Query},
		{"EXPLAIN SELECT 1", Query},
		{"WITH x AS (SELECT 1) SELECT * FROM x", Query},
		{"INSERT INTO t VALUES (1)", Exec},
		{"update t set a = 1", Exec},
		{"SELECTED", Exec}, // a word, not a prefix
		{"", Exec},
		{"/* unterminated", Exec},
		{"BEGIN", Begin},
		{"begin work", Begin},
		{"START TRANSACTION", Begin},
		{"start  transaction read only", Begin},
		{"START SLAVE", Exec},
		{"COMMIT", Commit},
		{"commit work", Commit},
		{"ROLLBACK", Rollback},
		{"rollback work", Rollback},
		{"ROLLBACK TO SAVEPOINT a", Exec},
		{"ROLLBACK WORK TO a", Exec},
		{"SAVEPOINT a", Exec},
	}
	for _, c := range cases {
		if got := Classify(c.sql); got != c.want {
			t.Errorf("Classify(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

func TestShardOrder(t *testing.T) {
	cases := []struct {
		a, b string
		less bool
	}{
		{"UserShard2", "UserShard10", true},
		{"UserShard10", "UserShard2", false},
		{"UserShard1", "UserShard2", true},
		{"A1", "B0", true},
		{"UserShard", "UserShard1", true},
		{"UserShard01", "UserShard2", true},
	}
	for _, c := range cases {
		if got := shardLess(c.a, c.b); got != c.less {
			t.Errorf("shardLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"SELECT 1", "/* x */ BEGIN", "ROLLBACK WORK TO a", "(((", "/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Classify(s)
		if k < Exec || k > Rollback {
			t.Fatalf("kind %d", k)
		}
	})
}
