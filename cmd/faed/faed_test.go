package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

var (
	buildOnce sync.Once
	faedBin   string
	buildErr  error
)

// binary builds faed once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "faed-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		faedBin = filepath.Join(dir, "faed")
		out, err := exec.Command("go", "build", "-o", faedBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return faedBin
}

// proc is a running faed binary.
type proc struct {
	cmd    *exec.Cmd
	addr   string // the bound TCP address, read from faed's log
	unix   string
	admin  string // the bound admin address, read from faed's log
	dir    string
	stderr *logBuffer
	exited chan struct{} // closed when the process is gone; then err is its exit
	err    error
}

// logBuffer is faed's stderr, read while faed still writes it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The lines faed logs once a listener is bound (engine and admin); a test
// binds port 0 and learns the port from them, so no port is ever released
// by the test before faed binds it.
var (
	tcpListening   = regexp.MustCompile(`msg=listening network=tcp addr=(\S+)`)
	adminListening = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)
)

// startFaed runs faed on ports the kernel picks, a unix socket in dir and
// extra TOML appended.
func startFaed(t *testing.T, dir, extra string) *proc {
	t.Helper()
	return startFaedAt(t, dir, "127.0.0.1:0", extra)
}

// startFaedAt is startFaed with the TCP address given: a cluster node's
// address must be known before it starts (see reserveAddr), and a node
// restarted in place keeps its old one. The admin port is always picked
// by the kernel.
func startFaedAt(t *testing.T, dir, addr, extra string) *proc {
	t.Helper()
	return startFaedConf(t, dir, addr, "", extra)
}

// startFaedConf is startFaedAt with [server] lines of its own.
func startFaedConf(t *testing.T, dir, addr, server, extra string) *proc {
	t.Helper()
	p := newProc(dir)
	conf := filepath.Join(dir, "faed.toml")
	if err := os.WriteFile(conf, []byte(faedConf(addr, p.unix, server, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.launch(t, binary(t), "-conf", conf)
	return p
}

// newProc is a faed to be launched with its unix socket in dir.
func newProc(dir string) *proc {
	return &proc{unix: filepath.Join(dir, "faed.sock"), dir: dir, stderr: &logBuffer{}, exited: make(chan struct{})}
}

// launch runs the command that starts p (faed's binary, or a wrapper
// that execs it), killed at the end of the test, and waits until p is
// ready.
func (p *proc) launch(t *testing.T, name string, args ...string) {
	t.Helper()
	p.cmd = exec.Command(name, args...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	p.waitReady(t)
}

// faedConf is the file startFaedAt writes: server lines go in [server],
// extra TOML at the end.
func faedConf(addr, unix, server, extra string) string {
	return fmt.Sprintf("[server]\nlisten = %q\nunix = %q\ndrain_timeout = \"2s\"\n%s[admin]\nlisten = \"127.0.0.1:0\"\n"+
		"[log]\nlevel = \"info\"\nformat = \"text\"\n%s", addr, unix, server, extra)
}

// waitReady learns the bound addresses from the log, then waits for
// /readyz.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("faed exited during start-up: %v; stderr:\n%s", p.err, p.stderr)
		default:
		}
		if p.addr == "" || p.admin == "" {
			log := p.stderr.String()
			if m := tcpListening.FindStringSubmatch(log); m != nil {
				p.addr = m[1]
			}
			if m := adminListening.FindStringSubmatch(log); m != nil {
				p.admin = m[1]
			}
		} else if resp, err := http.Get("http://" + p.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("faed not ready in 30s (from its log: tcp %q, admin %q); stderr:\n%s", p.addr, p.admin, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL (if it still runs) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// stop sends sig and returns the exit error (nil for status 0).
func (p *proc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(60 * time.Second):
		t.Fatalf("faed did not exit within 60s of %v", sig)
		return nil
	}
}

func client(t *testing.T, network, addr string) *rpc.FunServantClient {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(conn, &thrift.TConfiguration{SocketTimeout: 5 * time.Second}), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, nil)
	return rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
}

func rctx(rid int64) *rpc.Context { return &rpc.Context{Rid: rid, Reason: "e2e"} }

func runFaed(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatal(err)
	return 0, ""
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(bad, []byte("[server]\nlisen = \"x\"\n"), 0o644)
	os.WriteFile(good, []byte("[server]\nlisten = \"127.0.0.1:1\"\n"), 0o644)
	cases := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"-version"}, 0, "faed 0.1.0"},
		{[]string{"-check"}, 0, "embedded defaults"},
		{[]string{"-check", "-conf", good}, 0, "is valid"},
		{[]string{"-check", "-conf", bad}, 1, "server.lisen"},
		{[]string{"-check", "-conf", filepath.Join(dir, "missing.toml")}, 1, "no such file"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
	}
	for _, tc := range cases {
		code, out := runFaed(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.contains) {
			t.Errorf("faed %v = %d %q, want %d containing %q", tc.args, code, out, tc.code, tc.contains)
		}
	}
}

func TestServesTCPAndUnixThenStopsCleanly(t *testing.T) {
	p := startFaed(t, t.TempDir(), "[node]\nworker_id = 9\n")
	ctx := context.Background()
	for _, c := range []*rpc.FunServantClient{client(t, "tcp", p.addr), client(t, "unix", p.unix)} {
		pong, err := c.Ping(ctx, rctx(1))
		if err != nil || !strings.HasPrefix(pong, "ver:0.1.0, build:") || !strings.Contains(pong, "myid:9, uptime:") {
			t.Fatalf("ping = %q, %v", pong, err)
		}
		if x, err := c.Noop(ctx, -7); err != nil || x != -7 {
			t.Fatalf("noop = %d, %v", x, err)
		}
		_, err = c.Ping(ctx, &rpc.Context{Rid: 0, Reason: "x"})
		var ae thrift.TApplicationException
		if !errors.As(err, &ae) || ae.TypeId() != thrift.INTERNAL_ERROR || !strings.Contains(ae.Error(), "invalid context") {
			t.Fatalf("rid 0: err = %v", err)
		}
		id, err := c.IDNext(ctx, rctx(1))
		if err != nil {
			t.Fatal(err)
		}
		parts, err := c.IDDecode(ctx, nil, id)
		if err != nil || parts[2] != 9 {
			t.Fatalf("id_decode(%d) = %v, %v", id, parts, err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := client(t, "tcp", p.addr).Noop(ctx, 1); err != nil {
		t.Fatalf("after SIGHUP: %v", err)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr)
	}
	if _, err := os.Stat(p.unix); !os.IsNotExist(err) {
		t.Fatalf("unix socket left behind: %v", err)
	}
}

func TestIDsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	extra := fmt.Sprintf("[id]\nstate_file = %q\n", filepath.Join(dir, "id.state"))
	ctx := context.Background()
	var last int64
	for run := range 2 {
		p := startFaed(t, dir, extra)
		c := client(t, "tcp", p.addr)
		for range 1000 {
			id, err := c.IDNext(ctx, rctx(1))
			if err != nil {
				t.Fatal(err)
			}
			if id <= last {
				t.Fatalf("run %d: id %d not above %d", run, id, last)
			}
			last = id
		}
		if err := p.stop(t, syscall.SIGINT); err != nil {
			t.Fatalf("exit: %v\n%s", err, p.stderr)
		}
	}
}

func TestBadConfigRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "faed.toml")
	os.WriteFile(conf, []byte("[server]\nlisten = \"${FAED_TEST_UNSET_VAR}\"\n"), 0o644)
	code, out := runFaed(t, "-conf", conf)
	if code != 1 || !strings.Contains(out, "FAED_TEST_UNSET_VAR") {
		t.Fatalf("faed with a bad config = %d %q", code, out)
	}
}

// readStats decodes an admin endpoint's /stats into v (a struct naming
// the parts wanted) through hc.
func readStats(hc *http.Client, admin string, v any) error {
	resp, err := hc.Get("http://" + admin + "/stats")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// statsOf is readStats that fails the test on an error.
func statsOf(t *testing.T, admin string, v any) {
	t.Helper()
	if err := readStats(http.DefaultClient, admin, v); err != nil {
		t.Fatalf("/stats of %s: %v", admin, err)
	}
}
