package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
)

// chromium is Debian's browser, installed by scripts/deps.sh.
const chromium = "/usr/bin/chromium"

// The dashboard in a real browser: it loads, draws the history, shows the
// calls made (their count moves when more are made), the backend servers
// with their breakers, and logs no error or warning. A screenshot goes to
// var/artifacts/dashboard.png.
func TestDashboardInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s: %v (scripts/deps.sh installs it)", chromium, err)
	}
	_, sv := devstack.Start(t, devstack.Ports{Redis: []int{18385}, Memcached: []int{18319}})
	extra := fmt.Sprintf("[redis.default]\nservers = [%q]\n[memcache.default]\nservers = [%q]\n", sv.Redis[0], sv.Memcached[0])
	p := startFaed(t, t.TempDir(), extra)
	c := client(t, "tcp", p.addr)
	made := someCalls(t, c, 20)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1400, 1200))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	console := watchConsole(bctx) // starts the browser and its first tab
	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+p.admin+"/")); err != nil {
		t.Fatalf("%s, opening the dashboard: %v", chromium, err)
	}

	total := waitForNumber(t, bctx, "#total-calls", func(n int64) bool { return n >= made })
	for sel, want := range map[string]string{
		"#methods":  "noop",
		"#backends": sv.Redis[0],
		"#status":   "live",
	} {
		if got := text(t, bctx, sel); !strings.Contains(got, want) {
			t.Errorf("%s shows %q, want it to contain %q", sel, got, want)
		}
	}
	if got := text(t, bctx, "#backends"); !strings.Contains(got, sv.Memcached[0]) || !strings.Contains(got, "closed") {
		t.Errorf("backend servers: %q, want the memcached server and closed breakers", got)
	}
	for _, chart := range []string{"calls", "errors", "latency", "sessions", "cache", "heap", "gc"} {
		waitForNumber(t, bctx, "#chart-"+chart+"@data-points", func(n int64) bool { return n > 0 })
	}

	for round := range 3 { // each round's calls are seen on the page before the next
		more := someCalls(t, c, 20*(round+1))
		total = waitForNumber(t, bctx, "#total-calls", func(n int64) bool { return n >= total+more })
	}
	waitForNumber(t, bctx, "#chart-calls@data-points", func(n int64) bool { return n > 1 })

	// The range buttons and the pointer's read-out work (and log nothing).
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#range button[data-s="60"]`))); err != nil {
		t.Fatal(err)
	}
	if got := attr(t, bctx, `#range button[data-s="60"]`, "class"); got != "on" {
		t.Errorf("1 m range button has class %q after a click", got)
	}
	hover := `(() => { const c = document.getElementById("chart-latency"), r = c.getBoundingClientRect();
		c.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + r.width - 20, clientY: r.top + r.height / 2}));
		return c.parentElement.querySelector(".legend").textContent; })()`
	if got, err := chromedp.Run(bctx, chromedp.Evaluate[string](hover)); err != nil || !strings.Contains(got, "p99") {
		t.Errorf("latency legend under the pointer: %q, %v", got, err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(repoRoot(t), "var", "artifacts", "dashboard.png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	cancelBrowser()
	for _, msg := range console.problems() {
		t.Errorf("browser console: %s", msg)
	}
}

// The history the dashboard draws: samples every second that count the
// calls made, with the per-method split, numbered so that a poll can ask
// for only the new ones.
func TestHistoryServed(t *testing.T) {
	p := startFaed(t, t.TempDir(), "")
	c := client(t, "tcp", p.addr)
	made := someCalls(t, c, 10)
	var page struct {
		IntervalMs int64 `json:"interval_ms"`
		Capacity   int   `json:"capacity"`
		Next       uint64
		Samples    []struct {
			T          int64
			CallsTotal int64 `json:"calls_total"`
			Methods    map[string]struct{ Calls float64 }
			Goroutines int
			HeapBytes  uint64 `json:"heap_bytes"`
		}
	}
	get := func(since uint64) {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://%s/history?since=%d", p.admin, since))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page.Samples = nil
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("/history: %d %v", resp.StatusCode, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	var noop float64
	for {
		get(0)
		noop = 0
		for _, s := range page.Samples {
			noop += s.Methods["noop"].Calls
		}
		if n := len(page.Samples); n > 0 && page.Samples[n-1].CallsTotal >= made {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample counts the %d calls in 60s: %+v", made, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
	last := page.Samples[len(page.Samples)-1]
	if page.IntervalMs != 1000 || page.Capacity != 900 || page.Next != uint64(len(page.Samples)) ||
		noop <= 0 || last.Goroutines <= 0 || last.HeapBytes == 0 || last.T <= 0 {
		t.Errorf("/history = %+v", page)
	}
	next := page.Next
	get(next)
	if len(page.Samples) > 0 && page.Next < next+uint64(len(page.Samples)) {
		t.Errorf("/history?since=%d: %d samples, next %d", next, len(page.Samples), page.Next)
	}
}

// someCalls makes n rounds of calls of several kinds and returns how many
// calls it made.
func someCalls(t *testing.T, c *rpc.FunServantClient, n int) int64 {
	t.Helper()
	ctx := context.Background()
	var made int64
	for i := range n {
		check := func(err error) {
			t.Helper()
			made++
			if err != nil {
				t.Fatalf("call %d: %v", made, err)
			}
		}
		_, err := c.Ping(ctx, rctx(1))
		check(err)
		_, err = c.Noop(ctx, int32(i))
		check(err)
		_, err = c.IDNext(ctx, rctx(1))
		check(err)
		_, err = c.LcSet(ctx, rctx(1), fmt.Sprint("dash", i), []byte("v"))
		check(err)
		_, err = c.LcGet(ctx, rctx(1), fmt.Sprint("dash", i))
		check(err)
	}
	return made
}

// consoleWatch collects what a page logs as an error or warning (console
// calls and the browser's own log, e.g. a failed request) and its uncaught
// exceptions, until the browser's context ends.
type consoleWatch struct {
	mu   sync.Mutex
	msgs []string
	done chan struct{}
}

func watchConsole(ctx context.Context) *consoleWatch {
	w := &consoleWatch{done: make(chan struct{})}
	messages := chromedp.Console(ctx)
	go func() {
		defer close(w.done)
		for m, err := range messages {
			if err != nil {
				if ctx.Err() == nil {
					w.add(fmt.Sprintf("reading the console: %v", err))
				}
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException, "assert":
				w.add(fmt.Sprintf("%s %s at %s:%d: %s", m.Source, m.Type, m.URL, m.Line+1, m.Text))
			}
		}
	}()
	return w
}

func (w *consoleWatch) add(msg string) {
	w.mu.Lock()
	w.msgs = append(w.msgs, msg)
	w.mu.Unlock()
}

// problems waits for the watch to end (the browser's context must be
// done) and returns what it saw.
func (w *consoleWatch) problems() []string {
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return s
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return a.Value
}

// waitForNumber waits (up to a minute) until the number the page shows in
// sel, or in one of its attributes (sel@attr), satisfies ok, and returns
// it. Thousands separators are ignored.
func waitForNumber(t *testing.T, ctx context.Context, sel string, ok func(int64) bool) int64 {
	t.Helper()
	sel, name, byAttr := strings.Cut(sel, "@")
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for {
		var s string
		var err error
		if byAttr {
			s = attr(t, ctx, sel, name)
		} else {
			s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		}
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		last = s
		if n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 10, 64); err == nil && ok(n) {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: still %q after 60s", sel, name, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// repoRoot is the module's root: the nearest folder above with go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

func TestDashboardAddr(t *testing.T) {
	cases := []struct{ admin, member, want string }{
		{"127.0.0.1:9101", "10.0.0.5:9001", "127.0.0.1:9101"},
		{"10.0.0.5:9101", "10.0.0.5:9001", "10.0.0.5:9101"},
		{":9101", "10.0.0.5:9001", "10.0.0.5:9101"},
		{"0.0.0.0:9101", "host-a:9001", "host-a:9101"},
		{"[::]:9101", "[fd00::5]:9001", "[fd00::5]:9101"},
		{"127.0.0.1:0", "10.0.0.5:9001", ""},
		{"", "10.0.0.5:9001", ""},
		{"nonsense", "10.0.0.5:9001", ""},
		{":9101", "nonsense", ""},
	}
	for _, tc := range cases {
		if got := dashboardAddr(tc.admin, tc.member); got != tc.want {
			t.Errorf("dashboardAddr(%q, %q) = %q, want %q", tc.admin, tc.member, got, tc.want)
		}
	}
}

// In a cluster /history lists the members, this node marked, each with
// where its dashboard is (none here: test nodes bind admin port 0).
func TestHistoryClusterMembers(t *testing.T) {
	c := startCluster(t, 2, devstack.Ports{ZK: 18199})
	for _, n := range c.nodes {
		resp, err := http.Get("http://" + n.admin + "/history?since=999999")
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Samples []json.RawMessage
			Members []struct {
				Addr, Admin string
				Self        bool
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var self []string
		for _, m := range page.Members {
			if m.Self {
				self = append(self, m.Addr)
			}
			if m.Admin != "" {
				t.Errorf("%s: member %s has dashboard %q, want none (admin port 0)", n.addr, m.Addr, m.Admin)
			}
		}
		if len(page.Members) != 2 || len(self) != 1 || self[0] != n.addr || len(page.Samples) != 0 {
			t.Errorf("%s: /history members %+v, %d samples", n.addr, page.Members, len(page.Samples))
		}
	}
}
