package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRuns(t *testing.T, runs []result) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.jsonl")
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range runs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRenderReport(t *testing.T) {
	run := func(label, mode string, cps, p50 float64) result {
		return result{Label: label, Mode: mode, Call: "noop", CallsPerS: cps, P50Us: p50, P99Us: 10 * p50}
	}
	path := writeRuns(t, []result{
		run("faed-tcp", "persistent", 100, 1), run("tsimple-tcp", "persistent", 100, 2), run("echo-tcp", "persistent", 400, 3),
		run("faed-tcp", "persistent", 300, 4), run("faed-tcp", "persistent", 200, 5), // median 200, p50 5
		run("faed-tcp", "short", 50, 6), run("faed-unix", "short", 125, 7), run("tsimple-unix", "short", 250, 8),
	})
	var out, errOut bytes.Buffer
	if code := renderReport(path, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"| faed-tcp | persistent | noop | 3 | 200 | 5 | 50 | 0 | 0.00 (0.00) |",
		"| faed-tcp / tsimple-tcp | persistent | noop | 2.00× |",
		"| faed-tcp / echo-tcp | persistent | noop | 0.50× |",
		"| faed-unix / tsimple-unix | short | noop | 0.50× |",
		"| faed-unix / faed-tcp | short | noop | 2.50× |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "echo-unix") {
		t.Errorf("ratio against a target that was not run:\n%s", out.String())
	}
}

func TestRenderReportBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(path, []byte("{\"label\":\"x\"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := renderReport(path, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), ":2:") {
		t.Fatalf("exit %d, stderr %q: want a failure naming line 2", code, errOut.String())
	}
}

func TestMedian(t *testing.T) {
	rs := []result{{CallsPerS: 3, P50Us: 30}, {CallsPerS: 1, P50Us: 10}, {CallsPerS: 2, P50Us: 20}}
	if m := median(rs); m.CallsPerS != 2 || m.P50Us != 20 {
		t.Fatalf("median = %+v", m)
	}
	if rs[0].CallsPerS != 3 {
		t.Fatal("median reordered its input")
	}
	if m := median(rs[:2]); m.CallsPerS != 3 {
		t.Fatalf("median of two = %v, want the upper one", m.CallsPerS)
	}
}
