package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// result is one run's summary; -json prints it as one object per line.
type result struct {
	Label      string           `json:"label"`
	Addr       string           `json:"addr"`
	Mode       string           `json:"mode"`
	Call       string           `json:"call"`
	Framed     bool             `json:"framed"`
	Compact    bool             `json:"compact"`
	Workers    int              `json:"workers"`
	Seconds    float64          `json:"seconds"`
	Calls      int64            `json:"calls"`
	CallsPerS  float64          `json:"calls_per_s"`
	P50Us      float64          `json:"p50_us"`
	P90Us      float64          `json:"p90_us"`
	P99Us      float64          `json:"p99_us"`
	MaxUs      float64          `json:"max_us"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// BenchCPU is the CPU faed-bench itself used, in cores (1 = one core
	// busy all the time), averaged over warm-up and measurement;
	// BenchUserCPU is its user-space part (the rest is the kernel's).
	BenchCPU     float64 `json:"bench_cpu"`
	BenchUserCPU float64 `json:"bench_user_cpu"`
}

// summarize merges the workers' histograms and error counts; only calls
// that succeeded are in calls, calls/s and the latencies.
func summarize(o options, workers []*worker, measured time.Duration) result {
	var h histogram
	kinds := map[string]int64{}
	var errs int64
	for _, w := range workers {
		h.merge(&w.hist)
		for k, n := range w.errs {
			kinds[k] += n
			errs += n
		}
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return result{
		Label: o.label, Addr: o.addr, Mode: o.mode, Call: o.call, Framed: o.framed, Compact: o.compact,
		Workers: o.c, Seconds: measured.Seconds(), Calls: h.n, CallsPerS: float64(h.n) / measured.Seconds(),
		P50Us: us(h.quantile(0.50)), P90Us: us(h.quantile(0.90)), P99Us: us(h.quantile(0.99)), MaxUs: us(h.max),
		Errors: errs, ErrorKinds: kinds,
	}
}

func (r result) print(out io.Writer) {
	name := r.Addr
	if r.Label != "" {
		name = r.Label + " (" + r.Addr + ")"
	}
	fmt.Fprintf(out, "%s %s %s x%d (framed=%v compact=%v) over %.1fs\n", r.Call, r.Mode, name, r.Workers, r.Framed, r.Compact, r.Seconds)
	fmt.Fprintf(out, "  calls     %d (%.0f calls/s)\n", r.Calls, r.CallsPerS)
	fmt.Fprintf(out, "  latency   p50 %.0fµs  p90 %.0fµs  p99 %.0fµs  max %.0fµs\n", r.P50Us, r.P90Us, r.P99Us, r.MaxUs)
	fmt.Fprintf(out, "  errors    %d%s\n", r.Errors, kindsText(r.ErrorKinds))
	fmt.Fprintf(out, "  bench cpu %.2f cores (%.2f user)\n", r.BenchCPU, r.BenchUserCPU)
}

func kindsText(kinds map[string]int64) string {
	var b strings.Builder
	for _, k := range sortedKeys(kinds) {
		fmt.Fprintf(&b, " %s=%d", k, kinds[k])
	}
	return b.String()
}

// renderReport reads -json lines and prints markdown: the median run of
// each (target, mode, call) cell, then faed's ratios to the baselines.
func renderReport(path string, out, errOut io.Writer) int {
	runs, order, err := readRuns(path)
	if err != nil {
		fmt.Fprintln(errOut, "faed-bench:", err)
		return 1
	}
	medians := map[string]result{}
	fmt.Fprintln(out, "| target | mode | call | runs | calls/s (median) | p50 µs | p99 µs | errors | bench CPU, cores (user) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, k := range order {
		m := median(runs[k])
		medians[k] = m
		var errs int64
		for _, r := range runs[k] {
			errs += r.Errors
		}
		fmt.Fprintf(out, "| %s | %s | %s | %d | %.0f | %.0f | %.0f | %d | %.2f (%.2f) |\n",
			m.Label, m.Mode, m.Call, len(runs[k]), m.CallsPerS, m.P50Us, m.P99Us, errs, m.BenchCPU, m.BenchUserCPU)
	}
	fmt.Fprintln(out)
	printRatios(out, medians)
	return 0
}

func cellKey(label, mode, call string) string { return label + "|" + mode + "|" + call }

// readRuns groups the runs of a -json file by cell, in first-seen order.
func readRuns(path string) (map[string][]result, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	runs := map[string][]result{}
	var order []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		k := cellKey(r.Label, r.Mode, r.Call)
		if runs[k] == nil {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r)
	}
	return runs, order, sc.Err()
}

// median is the run with the median calls/s (the upper one of an even
// count), so its latencies come from one real run.
func median(rs []result) result {
	sorted := append([]result(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].CallsPerS < sorted[j].CallsPerS })
	return sorted[len(sorted)/2]
}

// printRatios compares faed with the baselines cell by cell: label
// "faed-tcp" with "tsimple-tcp" and "echo-tcp", "faed-unix" likewise, and
// faed over unix with faed over TCP.
func printRatios(out io.Writer, m map[string]result) {
	fmt.Fprintln(out, "| ratio (calls/s) | mode | call | value |")
	fmt.Fprintln(out, "|---|---|---|---|")
	for _, k := range sortedKeys(m) {
		r := m[k]
		if r.Label != "faed-tcp" && r.Label != "faed-unix" {
			continue
		}
		suffix := strings.TrimPrefix(r.Label, "faed")
		for _, base := range []string{"tsimple", "echo"} {
			if b, ok := m[cellKey(base+suffix, r.Mode, r.Call)]; ok && b.CallsPerS > 0 {
				fmt.Fprintf(out, "| %s / %s%s | %s | %s | %.2f× |\n", r.Label, base, suffix, r.Mode, r.Call, r.CallsPerS/b.CallsPerS)
			}
		}
		if b, ok := m[cellKey("faed-tcp", r.Mode, r.Call)]; ok && r.Label == "faed-unix" && b.CallsPerS > 0 {
			fmt.Fprintf(out, "| faed-unix / faed-tcp | %s | %s | %.2f× |\n", r.Mode, r.Call, r.CallsPerS/b.CallsPerS)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
