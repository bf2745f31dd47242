package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/faed/faed/internal/devstack"
)

// phpBin finds php-cli; CI must have it (make test installs it), elsewhere
// the PHP tests are skipped with a reason.
func phpBin(t *testing.T) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("php not found in CI: scripts/deps.sh should have installed php-cli and php-thrift")
		}
		t.Skip("php not installed; run scripts/deps.sh")
	}
	return php
}

var accelOnce = sync.OnceValues(func() (bool, error) {
	out, err := exec.Command("php", "-r", `echo extension_loaded("thrift_protocol") ? "yes" : "no";`).Output()
	return string(out) == "yes", err
})

// phpLoadsAccelerator: the thrift_protocol extension is enabled in php's
// ini (scripts/deps.sh enables it); loading it twice would warn.
func phpLoadsAccelerator(t *testing.T) bool {
	t.Helper()
	on, err := accelOnce()
	if err != nil {
		t.Fatalf("php -r: %v", err)
	}
	return on
}

// runPHP runs a script from contrib/php/tests against addr with flags
// (framed, compact, pure); accelerated uses the thrift_protocol extension.
func runPHP(t *testing.T, script, addr string, accelerated bool, flags ...string) {
	t.Helper()
	args := []string{}
	switch {
	case accelerated && !phpLoadsAccelerator(t):
		args = append(args, "-d", "extension=thrift_protocol.so")
	case accelerated:
	case !slices.Contains(flags, "lean"):
		flags = append(flags, "pure")
	}
	args = append(args, filepath.Join("..", "..", "contrib", "php", "tests", script), addr)
	out, err := exec.Command(phpBin(t), append(args, flags...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "FAIL") || !strings.Contains(string(out), "ok ") {
		t.Fatalf("php %s %v: %v\n%s", script, flags, err, out)
	}
}

// phpWires is every way a PHP client reaches faed: TCP and unix socket;
// the lean client (Faed\Client), per request and persistent; and the
// generated client, buffered and framed, binary (pure and accelerated) and
// compact.
func phpWires(p *proc) map[string]func(t *testing.T, script string) {
	wires := map[string]func(t *testing.T, script string){}
	for _, addr := range []string{p.addr, "unix://" + p.unix} {
		network := strings.SplitN(addr, ":", 2)[0]
		wires[network+"/lean"] = func(t *testing.T, script string) { runPHP(t, script, addr, false, "lean") }
		wires[network+"/lean-persistent"] = func(t *testing.T, script string) { runPHP(t, script, addr, false, "lean", "persistent") }
		for _, framing := range []string{"buffered", "framed"} {
			for _, proto := range []string{"binary-accelerated", "binary-pure", "compact"} {
				name := strings.Join([]string{strings.SplitN(addr, ":", 2)[0], framing, proto}, "/")
				var flags []string
				if framing == "framed" {
					flags = append(flags, "framed")
				}
				if proto == "compact" {
					flags = append(flags, "compact")
				}
				accel := proto == "binary-accelerated"
				wires[name] = func(t *testing.T, script string) { runPHP(t, script, addr, accel, flags...) }
			}
		}
	}
	return wires
}

func TestPHPFoundation(t *testing.T) {
	phpBin(t)
	p := startFaed(t, t.TempDir(), "")
	for name, run := range phpWires(p) {
		t.Run(name, func(t *testing.T) { run(t, "foundation.php") })
	}
}

func TestPHPLocalServants(t *testing.T) {
	phpBin(t)
	p := startFaed(t, t.TempDir(), "")
	for name, run := range phpWires(p) {
		t.Run(name, func(t *testing.T) { run(t, "local.php") })
	}
}

func TestPHPRedisMemcacheCouchbase(t *testing.T) {
	phpBin(t)
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18379, 18380}, Memcached: []int{18311, 18312}})
	extra := fmt.Sprintf("[redis.default]\nservers = [%q, %q]\n[memcache.default]\nservers = [%q, %q]\n",
		sv.Redis[0], sv.Redis[1], sv.Memcached[0], sv.Memcached[1])
	p := startFaed(t, t.TempDir(), extra)
	for name, run := range phpWires(p) {
		t.Run(name, func(t *testing.T) {
			run(t, "redis.php")
			run(t, "memcache.php")
		})
	}
}

func TestPHPMySQL(t *testing.T) {
	phpBin(t)
	_, sv := devstack.Start(t, devstack.Ports{MySQL: 18307, Memcached: []int{18313}})
	p := startFaed(t, t.TempDir(), mysqlConf(sv.MySQL)+fmt.Sprintf("[memcache.default]\nservers = [%q]\n", sv.Memcached[0]))
	for name, run := range phpWires(p) {
		t.Run(name, func(t *testing.T) { run(t, "mysql.php") })
	}
	for _, addr := range []string{p.addr, "unix://" + p.unix} {
		network := strings.SplitN(addr, ":", 2)[0]
		t.Run("persistent sockets/"+network, func(t *testing.T) {
			runPHP(t, "persistent.php", addr, false, p.admin)
		})
		t.Run("code written for the older daemon/"+network, func(t *testing.T) {
			runPHP(t, "legacy.php", addr, false, "lean")
		})
	}
}
