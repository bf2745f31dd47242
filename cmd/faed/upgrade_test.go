package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
)

// upgradeFaed is a faed that upgrades itself: its processes share one log
// file (a successor inherits the old process's stderr) and the test finds
// them by the pid each logs when it starts.
type upgradeFaed struct {
	bin, conf, log, unix string
	first                *exec.Cmd
	firstExit            chan error
}

var startedPid = regexp.MustCompile(`msg="faed started".* pid=(\d+)`)

func startUpgradeFaed(t *testing.T, bin, extra string) *upgradeFaed {
	t.Helper()
	return startUpgradeFaedAt(t, bin, "127.0.0.1:0", extra)
}

func startUpgradeFaedAt(t *testing.T, bin, listen, extra string) *upgradeFaed {
	t.Helper()
	dir := t.TempDir()
	f := &upgradeFaed{bin: bin, conf: filepath.Join(dir, "faed.toml"), log: filepath.Join(dir, "faed.log"), unix: filepath.Join(dir, "faed.sock"), firstExit: make(chan error, 1)}
	body := fmt.Sprintf("[server]\nlisten = %q\nunix = %q\ndrain_timeout = \"2s\"\n[admin]\nlisten = \"127.0.0.1:0\"\n"+
		"[log]\nlevel = \"info\"\n[id]\nstate_file = %q\n%s", listen, f.unix, filepath.Join(dir, "id.state"), extra)
	if err := os.WriteFile(f.conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(f.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	f.first = exec.Command(bin, "-conf", f.conf)
	f.first.Stderr = logFile // a file, not a pipe: Wait must not wait for the successors
	if err := f.first.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.firstExit <- f.first.Wait() }()
	t.Cleanup(func() {
		for _, pid := range f.pids() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	f.waitStarted(t, 1)
	return f
}

func (f *upgradeFaed) logText() string {
	b, _ := os.ReadFile(f.log)
	return string(b)
}

func (f *upgradeFaed) pids() []int {
	var pids []int
	for _, m := range startedPid.FindAllStringSubmatch(f.logText(), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// waitStarted waits until n processes have logged their start.
func (f *upgradeFaed) waitStarted(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for len(f.pids()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d faed processes started, want %d; log:\n%s", len(f.pids()), n, f.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *upgradeFaed) addrs(t *testing.T) (tcp, admin string) {
	t.Helper()
	log := f.logText()
	m1, m2 := tcpListening.FindStringSubmatch(log), adminListening.FindStringSubmatch(log)
	if m1 == nil || m2 == nil {
		t.Fatalf("no listening lines in the log:\n%s", log)
	}
	return m1[1], m2[1]
}

// gone reports whether pid has exited (its zombie reaped or not ours).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(b), ") Z ")
}

// load is php-fpm-like traffic: each call on a connection of its own, over
// TCP and the unix socket; ids are kept to check none is issued twice.
type load struct {
	calls, refused, failed atomic.Int64
	mu                     sync.Mutex
	ids                    map[int64]bool
	dups                   int
	firstErr               atomic.Value
	stop                   chan struct{}
	wg                     sync.WaitGroup
}

func startLoad(tcp, unix string, workers int) *load {
	return startMixedLoad(tcp, unix, workers, 0)
}

// startMixedLoad is startLoad plus persistent clients: each keeps one
// connection for all its calls, as php-fpm workers with persistent
// sockets do, and reconnects only after a failure (which is counted).
func startMixedLoad(tcp, unix string, workers, persistent int) *load {
	l := &load{ids: map[int64]bool{}, stop: make(chan struct{})}
	for i := range persistent {
		network, addr := "tcp", tcp
		if i%2 == 1 {
			network, addr = "unix", unix
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.persistent(network, addr)
		}()
	}
	for i := range workers {
		network, addr := "tcp", tcp
		if i%2 == 1 {
			network, addr = "unix", unix
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				l.one(network, addr, n%2 == 0)
			}
		}()
	}
	return l
}

func (l *load) one(network, addr string, id bool) {
	conn, c := l.dial(network, addr)
	if conn == nil {
		return
	}
	defer conn.Close()
	l.call(c, id)
}

func (l *load) persistent(network, addr string) {
	var conn net.Conn
	var c *rpc.FunServantClient
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			if conn != nil {
				conn.Close()
			}
			return
		default:
		}
		if conn == nil {
			if conn, c = l.dial(network, addr); conn == nil {
				return
			}
		}
		if !l.call(c, n%2 == 0) {
			conn.Close()
			conn = nil
		}
	}
}

func (l *load) dial(network, addr string) (net.Conn, *rpc.FunServantClient) {
	conn, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		l.refused.Add(1)
		l.firstErr.CompareAndSwap(nil, "connect: "+err.Error())
		return nil, nil
	}
	conf := &thrift.TConfiguration{SocketTimeout: 10 * time.Second}
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, conf), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, conf)
	return conn, rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
}

// call makes one call (id_next or noop) and reports whether it succeeded.
func (l *load) call(c *rpc.FunServantClient, id bool) bool {
	var err error
	if !id {
		_, err = c.Noop(context.Background(), 1)
	} else {
		var v int64
		if v, err = c.IDNext(context.Background(), rctx(1)); err == nil {
			l.mu.Lock()
			if l.ids[v] {
				l.dups++
			}
			l.ids[v] = true
			l.mu.Unlock()
		}
	}
	if err != nil {
		l.failed.Add(1)
		l.firstErr.CompareAndSwap(nil, "call: "+err.Error())
		return false
	}
	l.calls.Add(1)
	return true
}

func (l *load) waitCalls(t *testing.T, more int64) {
	t.Helper()
	want := l.calls.Load() + more
	waitUntil(t, 60*time.Second, func() bool { return l.calls.Load() >= want || l.failed.Load()+l.refused.Load() > 0 })
}

func (l *load) end() { close(l.stop); l.wg.Wait() }

func waitUntil(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUpgradeUnderLoad upgrades faed twice (with faed -upgrade, then with
// SIGUSR2) while clients keep connecting, and others keep one persistent
// connection each: no client is refused, no call fails (a persistent
// connection is passed to the new process between two calls), no id is
// issued twice, each old process exits 0 and the new one serves on the
// same TCP address and unix socket.
func TestUpgradeUnderLoad(t *testing.T) {
	f := startUpgradeFaed(t, binary(t), "")
	tcp, admin := f.addrs(t)
	l := startMixedLoad(tcp, f.unix, 4, 4)
	defer l.end()
	l.waitCalls(t, 300)

	code, out := runFaed(t, "-upgrade", "-conf", f.conf, "-admin", admin)
	if code != 0 || !strings.Contains(out, "upgraded") {
		t.Fatalf("faed -upgrade: exit %d: %s\nlog:\n%s", code, out, f.logText())
	}
	select {
	case err := <-f.firstExit:
		if err != nil {
			t.Fatalf("old process: %v\nlog:\n%s", err, f.logText())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("old process still running 60s after the upgrade\nlog:\n%s", f.logText())
	}
	f.waitStarted(t, 2)
	l.waitCalls(t, 300)

	second := f.pids()[1]
	if err := syscall.Kill(second, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	f.waitStarted(t, 3)
	waitUntil(t, 60*time.Second, func() bool { return gone(second) })
	l.waitCalls(t, 300)
	l.end()
	l.stop = make(chan struct{}) // the deferred end finds nothing left to stop

	t.Logf("%d calls, %d refused, %d failed, %d ids", l.calls.Load(), l.refused.Load(), l.failed.Load(), len(l.ids))
	if l.refused.Load() != 0 || l.failed.Load() != 0 {
		t.Fatalf("%d refused, %d failed; first: %v\nlog:\n%s", l.refused.Load(), l.failed.Load(), l.firstErr.Load(), f.logText())
	}
	if l.dups != 0 {
		t.Fatalf("%d ids issued twice", l.dups)
	}
	third := f.pids()[2]
	if gone(third) {
		t.Fatalf("the newest process is gone\nlog:\n%s", f.logText())
	}
	var st struct {
		PID    int `json:"pid"`
		Engine struct {
			Adopted int64 `json:"adopted"`
		} `json:"engine"`
	}
	if err := readStats(http.DefaultClient, admin, &st); err != nil || st.PID != third || st.Engine.Adopted == 0 {
		t.Fatalf("/stats of the newest process: %+v, %v (want pid %d and adopted connections)", st, err, third)
	}
	if err := syscall.Kill(third, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, func() bool { return gone(third) })
	if strings.Contains(f.logText(), "level=ERROR") {
		t.Fatalf("errors logged:\n%s", f.logText())
	}
}

// TestFailedUpgradeKeepsServing: the binary on disk cannot start; the
// upgrade is reported as failed and the old process serves on, issuing
// ids from the whole sequence again.
func TestFailedUpgradeKeepsServing(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "faed")
	data, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	f := startUpgradeFaed(t, bin, "")
	tcp, admin := f.addrs(t)
	l := startLoad(tcp, f.unix, 4)
	l.waitCalls(t, 200)
	// The new "binary" dies before it is ready.
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho broken build >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out := runFaed(t, "-upgrade", "-conf", f.conf, "-admin", admin)
	if code != 1 || !strings.Contains(out, "upgrade failed") {
		t.Fatalf("faed -upgrade with a broken binary: exit %d: %s", code, out)
	}
	l.waitCalls(t, 200)
	l.end()
	if l.refused.Load() != 0 || l.failed.Load() != 0 || l.dups != 0 {
		t.Fatalf("%d refused, %d failed, %d duplicate ids; first: %v", l.refused.Load(), l.failed.Load(), l.dups, l.firstErr.Load())
	}
	seqs := map[int64]int{}
	c := client(t, "tcp", tcp)
	for range 2000 {
		id, err := c.IDNext(context.Background(), rctx(1))
		if err != nil {
			t.Fatal(err)
		}
		seqs[id&1]++
	}
	if seqs[1] == 0 {
		t.Fatalf("after the failed upgrade only even sequence numbers: %v", seqs)
	}
	if len(f.pids()) != 1 {
		t.Fatalf("%d processes started", len(f.pids()))
	}
}

// TestClusterUpgrade upgrades a cluster node: the new process takes over
// the member node at the same address before the old one leaves, and the
// old one's leaving does not remove it, so its peer goes on seeing it and
// keyed calls still reach it.
func TestClusterUpgrade(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{ZK: 18189})
	extra := clusterConf(sv.ZK)
	peerNode := startNode(t, extra)
	addr := reserveAddr(t)
	f := startUpgradeFaedAt(t, binary(t), addr, extra)
	_, admin := f.addrs(t)
	upgraded := &node{proc: &proc{addr: addr, admin: admin}}
	both := []*node{peerNode, upgraded}
	waitMembers(t, both, both)

	code, out := runFaed(t, "-upgrade", "-conf", f.conf, "-admin", admin)
	if code != 0 {
		t.Fatalf("faed -upgrade: exit %d: %s\nlog:\n%s", code, out, f.logText())
	}
	if err := <-f.firstExit; err != nil {
		t.Fatalf("old process: %v\nlog:\n%s", err, f.logText())
	}
	if !strings.Contains(f.logText(), "the member node is a successor's now") {
		t.Fatalf("the old process did not find its member node taken over\nlog:\n%s", f.logText())
	}
	waitMembers(t, both, both)
	// Keyed calls from the peer reach the upgraded node: every key is
	// locked through the peer and unlocked through the upgraded node.
	viaPeer, viaUpgraded := client(t, "tcp", peerNode.addr), client(t, "tcp", addr)
	ctx := context.Background()
	for i := range 20 {
		key := fmt.Sprintf("upgrade-key-%d", i)
		ok, err := viaPeer.Lock(ctx, rctx(int64(100+i)), "upgrade", key)
		if err != nil || !ok {
			t.Fatalf("lock %s through the peer: %v %v", key, ok, err)
		}
		if ok, err := viaUpgraded.Lock(ctx, rctx(int64(200+i)), "upgrade", key); err != nil || ok {
			t.Fatalf("%s locked twice (through the upgraded node): %v %v", key, ok, err)
		}
	}
}
