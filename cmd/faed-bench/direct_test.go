package main

import (
	"database/sql"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	_ "github.com/go-sql-driver/mysql" // database/sql driver "mysql"
)

// -direct runs against real servers: every GET finds its key.
func TestDirectAgainstRealServers(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{24379}, Memcached: []int{24311}, MySQL: 24306})
	dsn := "faed:faed@tcp(" + sv.MySQL + ")/faed_global"
	loadDocs(t, dsn)
	for kind, addr := range map[string]string{"redis": sv.Redis[0], "memcache": sv.Memcached[0], "mysql": dsn} {
		o := options{addr: addr, mode: "persistent", call: "noop", direct: kind, c: 4, d: 300 * time.Millisecond}
		res, err := bench(o, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Calls == 0 || res.Errors != 0 {
			t.Fatalf("%s: %d calls, %d errors %v", kind, res.Calls, res.Errors, res.ErrorKinds)
		}
	}
	if _, err := bench(options{addr: "x:1", mode: "short", call: "noop", direct: "redis", c: 1, d: time.Second}, io.Discard); !errors.Is(err, errUsage) {
		t.Fatalf("-direct with -mode short: %v", err)
	}
}

// loadDocs inserts the Doc rows my_hit, my_miss and -direct mysql read.
func loadDocs(t *testing.T, dsn string) {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("INSERT INTO Doc SELECT seq, '{\"v\":1}' FROM seq_1_to_1024"); err != nil {
		t.Fatal(err)
	}
}
