// Package devstack starts real backend servers for tests through the
// project's own scripts/backends.sh, each test package on its own ports and
// state directory so packages can run in parallel and kill their servers.
package devstack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Stack is a set of servers started for one test package.
type Stack struct {
	root string
	dir  string // the state directory: NAME.pid for each server
	env  []string
}

// Ports say which servers to start: one per port, none for an empty list
// or a zero MySQL or Mongo port. A port is a preference: when another
// process (a second test run on the machine) holds it, a free one near it
// is used instead, and Servers says which. Keep ports below 32768: above
// it, outgoing connections may hold them.
type Ports struct {
	Redis     []int
	Memcached []int
	MySQL     int
	Mongo     int // contrib/mongoshim (FerretDB on SQLite), built on first use
	ZK        int // standalone ZooKeeper
}

// Servers of a stack, by kind.
type Servers struct {
	Redis     []string // redis1, redis2, ... as host:port
	Memcached []string // memcached1, ...
	MySQL     string   // "mysql" as host:port, loaded with scripts/mysql-fixture.sql
	Mongo     string   // "mongo" as a URI, mongodb://127.0.0.1:PORT/
	ZK        string   // "zk" as host:port
}

// Start runs `backends.sh up` in a fresh state directory and stops
// everything when the test ends.
func Start(t testing.TB, ports Ports) (*Stack, Servers) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ports = claimAll(t, ports)
	dir := t.TempDir()
	s := &Stack{root: root, dir: dir, env: append(os.Environ(),
		"BACKENDS_DIR="+dir,
		"REDIS_PORTS="+join(ports.Redis),
		"MEMCACHED_PORTS="+join(ports.Memcached),
		"MYSQL_PORT="+optPort(ports.MySQL),
		"MONGO_PORT="+optPort(ports.Mongo),
		"ZK_PORT="+optPort(ports.ZK),
	)}
	t.Cleanup(func() { s.run(t, "down") }) // also after a partial start
	s.run(t, "up")
	var sv Servers
	for _, p := range ports.Redis {
		sv.Redis = append(sv.Redis, fmt.Sprintf("127.0.0.1:%d", p))
	}
	for _, p := range ports.Memcached {
		sv.Memcached = append(sv.Memcached, fmt.Sprintf("127.0.0.1:%d", p))
	}
	if ports.MySQL != 0 {
		sv.MySQL = fmt.Sprintf("127.0.0.1:%d", ports.MySQL)
	}
	if ports.Mongo != 0 {
		sv.Mongo = fmt.Sprintf("mongodb://127.0.0.1:%d/", ports.Mongo)
	}
	if ports.ZK != 0 {
		sv.ZK = fmt.Sprintf("127.0.0.1:%d", ports.ZK)
	}
	return s, sv
}

// ResetMySQL reloads the MySQL fixture: every fixture database afresh.
func (s *Stack) ResetMySQL(t testing.TB) { t.Helper(); s.run(t, "fixture") }

// Stop stops one server, e.g. "redis2", "mysql", "mongo" or "zk".
func (s *Stack) Stop(t testing.TB, name string) { t.Helper(); s.run(t, "stop", name) }

// Restart starts one stopped server again.
func (s *Stack) Restart(t testing.TB, name string) { t.Helper(); s.run(t, "start", name) }

func (s *Stack) run(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.root, "scripts", "backends.sh"), args...)
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backends.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func optPort(p int) string { // "" (the server left out) for 0
	if p == 0 {
		return ""
	}
	return fmt.Sprint(p)
}

func join(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, " ")
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}
