package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
)

// waitFor polls until cond holds; 30s is a hang guard, not a latency
// bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// startFaedLoggingToFile runs faed with [log] file; stderr stays empty,
// so the bound addresses are read from the file.
func startFaedLoggingToFile(t *testing.T, dir, logFile, extra string) *proc {
	t.Helper()
	p := &proc{dir: dir, stderr: &logBuffer{}, exited: make(chan struct{})}
	conf := filepath.Join(dir, "faed.toml")
	body := fmt.Sprintf("[server]\nlisten = \"127.0.0.1:0\"\ndrain_timeout = \"2s\"\n[admin]\nlisten = \"127.0.0.1:0\"\n"+
		"[log]\nlevel = \"info\"\nfile = %q\n%s", logFile, extra)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binary(t), "-conf", conf)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	waitFor(t, "listening lines in "+logFile, func() bool {
		log := readFile(logFile)
		tcp, admin := tcpListening.FindStringSubmatch(log), adminListening.FindStringSubmatch(log)
		if tcp != nil && admin != nil {
			p.addr, p.admin = tcp[1], admin[1]
			return true
		}
		return false
	})
	return p
}

func armTrace(t *testing.T, admin, query string) {
	t.Helper()
	resp, err := http.Post("http://"+admin+"/trace?"+query, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /trace?%s = %d", query, resp.StatusCode)
	}
}

// faed logs to a file; logrotate moves it and sends SIGUSR1; the lines
// after go to a new file at the path. Calls asked for with POST /trace
// are logged there too.
func TestLogFileReopensOnSIGUSR1(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "faed.log")
	p := startFaedLoggingToFile(t, dir, logFile, "")
	c := client(t, "tcp", p.addr)
	ctx := context.Background()
	traced := func(rid int) *regexp.Regexp {
		return regexp.MustCompile(fmt.Sprintf(`msg="traced call" method=ping rid=%d reason=e2e `, rid))
	}

	armTrace(t, p.admin, "rid=5&for=1m")
	for _, rid := range []int64{4, 5} {
		if _, err := c.Ping(ctx, rctx(rid)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "traced ping rid 5 in the log file", func() bool { return traced(5).MatchString(readFile(logFile)) })
	if traced(4).MatchString(readFile(logFile)) {
		t.Fatal("rid 4 traced: only rid 5 was armed")
	}

	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new log file after SIGUSR1", func() bool { return strings.Contains(readFile(logFile), `msg="log file reopened"`) })
	armTrace(t, p.admin, "rid=6&for=1m")
	if _, err := c.Ping(ctx, rctx(6)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "traced ping rid 6 in the new log file", func() bool { return traced(6).MatchString(readFile(logFile)) })
	moved := readFile(logFile + ".1")
	if !traced(5).MatchString(moved) || traced(6).MatchString(moved) || !strings.Contains(moved, `msg="faed started"`) {
		t.Fatalf("moved log file:\n%s", moved)
	}

	m := scrapeMetrics(t, p.admin)
	if m.get(t, "faed_log_lines_written_total") < 5 || m.get(t, "faed_log_lines_dropped_total") != 0 ||
		m.get(t, "faed_log_write_errors_total") != 0 || m.get(t, "faed_traced_calls_total") != 2 {
		t.Errorf("log and trace series: %v", m)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v\n%s", err, p.stderr)
	}
	if !strings.Contains(readFile(logFile), `msg=stopped`) {
		t.Fatalf("the last line was not flushed at exit:\n%s", readFile(logFile))
	}
	if p.stderr.String() != "" {
		t.Fatalf("stderr with a log file: %q", p.stderr)
	}
}

// With every call sampled, a redis call's line names the redis server
// the pool picked, and a memcache call's its memcached.
func TestTraceNamesTheBackendServer(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18391}, Memcached: []int{18321}})
	extra := fmt.Sprintf("[server.trace]\nsample_rate = 1.0\nmax_arg_bytes = 8\n[redis.default]\nservers = [%q]\n"+
		"[memcache.default]\nservers = [%q]\n", sv.Redis[0], sv.Memcached[0])
	p := startFaed(t, t.TempDir(), extra)
	c := client(t, "tcp", p.addr)
	ctx := context.Background()
	if _, err := c.RdCall(ctx, &rpc.Context{Rid: 900, Reason: "e2e.redis"}, "SET", "default", []string{"trace:k", "a-long-value"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.McSet(ctx, &rpc.Context{Rid: 901, Reason: "e2e.mc"}, "default", "trace:k", &rpc.TMemcacheData{Data: []byte("v")}, 0); err != nil {
		t.Fatal(err)
	}
	rd := regexp.MustCompile(`msg="traced call" method=rd_call rid=900 reason=e2e.redis duration=\S+ backend="\[redis ` +
		regexp.QuoteMeta(sv.Redis[0]) + `\]" call="rd_call\(ctx={rid=900,reason=\\"e2e.redi\\"…\(\+1\),uid=0}, 2=\\"SET\\", 3=\\"default\\", 4=\[\\"trace:k\\",\\"a-long-v\\"…\(\+4\)\]\)"`)
	mc := regexp.MustCompile(`msg="traced call" method=mc_set rid=901 reason=e2e.mc duration=\S+ backend="\[memcache ` +
		regexp.QuoteMeta(sv.Memcached[0]) + `\]"`)
	waitFor(t, "traced rd_call and mc_set lines", func() bool {
		log := p.stderr.String()
		return rd.MatchString(log) && mc.MatchString(log)
	})
}

// faed's stderr is a pipe nobody reads (a stalled journald): once it is
// full, every call is still answered and the log lines are dropped and
// counted; faed still stops cleanly.
func TestBlockedStderrNeverBlocksCalls(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "faed.toml")
	os.WriteFile(conf, []byte("[server]\nlisten = \"127.0.0.1:0\"\ndrain_timeout = \"2s\"\n[admin]\nlisten = \"127.0.0.1:0\"\n"+
		"[log]\nqueue = 16\n[server.trace]\nsample_rate = 1.0\n"), 0o644)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := &proc{dir: dir, stderr: &logBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), "-conf", conf)
	p.cmd.Stderr = w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	// Read stderr only until faed says where it listens, then never again.
	buf := make([]byte, 0, 4096)
	for p.addr == "" || p.admin == "" {
		chunk := make([]byte, 512)
		n, err := r.Read(chunk)
		if err != nil {
			t.Fatalf("faed's stderr: %v after %q", err, buf)
		}
		buf = append(buf, chunk[:n]...)
		if m := tcpListening.FindSubmatch(buf); m != nil {
			p.addr = string(m[1])
		}
		if m := adminListening.FindSubmatch(buf); m != nil {
			p.admin = string(m[1])
		}
	}

	c := client(t, "tcp", p.addr)
	ctx := context.Background()
	const calls = 3000 // each traced: far more than a pipe buffer of lines
	for i := range calls {
		if _, err := c.Ping(ctx, rctx(int64(i+1))); err != nil {
			t.Fatalf("call %d with stderr blocked: %v", i, err)
		}
	}
	m := scrapeMetrics(t, p.admin)
	dropped, queued := m.get(t, "faed_log_lines_dropped_total"), m.get(t, "faed_log_lines_queued")
	if dropped == 0 || queued > 17 || m.get(t, "faed_traced_calls_total") != calls {
		t.Fatalf("with stderr blocked: dropped %v, queued %v, traced %v", dropped, queued, m.get(t, "faed_traced_calls_total"))
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit with stderr blocked: %v", err)
	}
}
