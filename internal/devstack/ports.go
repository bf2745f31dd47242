package devstack

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Test runs on one machine (two clones, CI beside a developer) would ask
// for the same ports. A port is claimed by creating a file named after it
// in one directory (O_EXCL: one winner) that holds the claiming process's
// id; a claim of a process that is gone is stale and taken over. A claim
// lasts until the test ends.
var claimDir = filepath.Join(os.TempDir(), "faed-devstack-ports")

const (
	portStep  = 37 // from the preferred port, try every 37th: stacks sit apart
	portTries = 400
	maxPort   = 32767
)

func claimAll(t testing.TB, p Ports) Ports {
	t.Helper()
	out := Ports{MySQL: claimOpt(t, p.MySQL), Mongo: claimOpt(t, p.Mongo), ZK: claimOpt(t, p.ZK)}
	for _, r := range p.Redis {
		out.Redis = append(out.Redis, claim(t, r))
	}
	for _, m := range p.Memcached {
		out.Memcached = append(out.Memcached, claim(t, m))
	}
	return out
}

func claimOpt(t testing.TB, port int) int {
	if port == 0 {
		return 0
	}
	return claim(t, port)
}

// claim returns port, or the first free port after it in steps of
// portStep, claimed for the rest of the test.
func claim(t testing.TB, port int) int {
	t.Helper()
	if err := os.MkdirAll(claimDir, 0o777); err != nil {
		t.Fatal(err)
	}
	for i := range portTries {
		p := port + i*portStep
		if p > maxPort {
			p = 10000 + (p-10000)%(maxPort-10000)
		}
		if tryClaim(p) {
			t.Cleanup(func() { os.Remove(claimFile(p)) })
			return p
		}
	}
	t.Fatalf("devstack: no free port from %d on", port)
	return 0
}

func claimFile(port int) string { return filepath.Join(claimDir, strconv.Itoa(port)) }

func tryClaim(port int) bool {
	if !bindable(port) {
		return false
	}
	path := claimFile(port)
	for range 2 { // a second try after clearing a stale claim
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
			return f.Close() == nil && werr == nil
		}
		if !errors.Is(err, fs.ErrExist) || !stale(path) {
			return false
		}
		os.Remove(path)
	}
	return false
}

// stale: the claim's process no longer runs (or the file is unreadable).
func stale(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return true
	}
	return syscall.Kill(pid, 0) == syscall.ESRCH
}

func bindable(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
