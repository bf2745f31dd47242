package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/faed/faed/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAdminEndpoints(t *testing.T) {
	s := startEngine(t, nil)
	if _, err := dial(t, s, wire{network: "tcp"}).Noop(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	settledCalls(s, "noop", 1)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.e.Collector())
	var notReady atomic.Bool
	a := engine.NewAdmin(engine.AdminConfig{Listen: "127.0.0.1:0"}, engine.AdminSources{
		Stats:   func() any { return s.e.Stats().Snapshot() },
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Ready: func() error {
			if notReady.Load() {
				return errors.New("draining")
			}
			return nil
		},
		Config: func() ([]byte, error) { return []byte("password = \"*****\"\n"), nil },
	}, nil)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	base := "http://" + a.Addr().String()

	cases := []struct {
		path     string
		code     int
		contains string
	}{
		{"/", 200, "<title>faed</title>"},
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/metrics", 200, `faed_calls_total{method="noop"} 1`},
		{"/metrics", 200, "faed_call_duration_seconds_bucket"},
		{"/config", 200, `"*****"`},
		{"/debug/pprof/", 200, "goroutine"},
		{"/nope", 404, ""},
	}
	for _, tc := range cases {
		code, body := get(t, base+tc.path)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s = %d, want %d containing %q; body:\n%.400s", tc.path, code, tc.code, tc.contains, body)
		}
	}
	_, body := get(t, base+"/stats")
	var snap engine.Snapshot
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		t.Fatalf("/stats is not JSON: %v\n%s", err, body)
	}
	if snap.Methods["noop"].Calls != 1 || snap.Accepted < 1 {
		t.Fatalf("/stats = %+v", snap)
	}
	notReady.Store(true)
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("/readyz while draining = %d %q", code, body)
	}
}

// /history hands since to its source and refuses a bad one; routes from
// Handlers are mounted; without a History source /history is 404.
func TestAdminHistoryAndExtraHandlers(t *testing.T) {
	var asked atomic.Uint64
	a := engine.NewAdmin(engine.AdminConfig{Listen: "127.0.0.1:0"}, engine.AdminSources{
		History: func(since uint64) any {
			asked.Store(since)
			return map[string]uint64{"next": since + 1}
		},
		Handlers: map[string]http.Handler{
			"POST /extra": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "extra") }),
		},
	}, nil)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	base := "http://" + a.Addr().String()
	if code, body := get(t, base+"/history?since=41"); code != 200 || asked.Load() != 41 || !strings.Contains(body, `"next":42`) {
		t.Errorf("/history?since=41 = %d %q (source asked %d)", code, body, asked.Load())
	}
	if code, body := get(t, base+"/history"); code != 200 || asked.Load() != 0 || !strings.Contains(body, `"next":1`) {
		t.Errorf("/history = %d %q", code, body)
	}
	if code, body := get(t, base+"/history?since=-1"); code != 400 || !strings.Contains(body, "since") {
		t.Errorf("/history?since=-1 = %d %q", code, body)
	}
	resp, err := http.Post(base+"/extra", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "extra" {
		t.Errorf("POST /extra = %d %q", resp.StatusCode, b)
	}
	if code, _ := get(t, base+"/extra"); code != 405 {
		t.Errorf("GET /extra = %d, want 405", code)
	}
	if code, _ := get(t, base+"/stats"); code != 404 {
		t.Errorf("/stats without a source = %d, want 404", code)
	}

	b2 := engine.NewAdmin(engine.AdminConfig{Listen: "127.0.0.1:0"}, engine.AdminSources{}, nil)
	if err := b2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b2.Shutdown(context.Background()) })
	if code, _ := get(t, "http://"+b2.Addr().String()+"/history"); code != 404 {
		t.Errorf("/history without a source = %d, want 404", code)
	}
}
