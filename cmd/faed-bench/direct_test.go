package main

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
)

// -direct runs against real servers: every GET finds its key.
func TestDirectAgainstRealServers(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{24379}, Memcached: []int{24311}})
	for kind, addr := range map[string]string{"redis": sv.Redis[0], "memcache": sv.Memcached[0]} {
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
