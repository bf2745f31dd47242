package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// result is one run's summary; -json prints it as one line.
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
}

func summarize(o options, workers []*worker, elapsed time.Duration) result {
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
		Workers: o.c, Seconds: elapsed.Seconds(), Calls: h.n, CallsPerS: float64(h.n) / elapsed.Seconds(),
		P50Us: us(h.quantile(0.50)), P90Us: us(h.quantile(0.90)), P99Us: us(h.quantile(0.99)), MaxUs: us(h.max),
		Errors: errs, ErrorKinds: kinds,
	}
}

func (r result) print(out io.Writer) {
	fmt.Fprintf(out, "%s %s %s x%d (framed=%v compact=%v) over %.1fs\n", r.Call, r.Mode, r.Addr, r.Workers, r.Framed, r.Compact, r.Seconds)
	fmt.Fprintf(out, "  calls     %d (%.0f calls/s)\n", r.Calls, r.CallsPerS)
	fmt.Fprintf(out, "  latency   p50 %.0fµs  p90 %.0fµs  p99 %.0fµs  max %.0fµs\n", r.P50Us, r.P90Us, r.P99Us, r.MaxUs)
	fmt.Fprintf(out, "  errors    %d %v\n", r.Errors, r.ErrorKinds)
}

// cell is the median of the runs of one (label, mode, call, network).
type cell struct {
	key  string
	runs []result
}

// renderReport reads -json lines and prints a markdown table with the
// median run of each target and mode, and ratios against the baselines.
func renderReport(path string, out, errOut io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(errOut, err)
		return 1
	}
	defer f.Close()
	cells := map[string]*cell{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintln(errOut, "bad line:", err)
			return 1
		}
		k := r.Label + "|" + r.Mode + "|" + r.Call
		if cells[k] == nil {
			cells[k] = &cell{key: k}
			order = append(order, k)
		}
		cells[k].runs = append(cells[k].runs, r)
	}
	medians := map[string]result{}
	fmt.Fprintln(out, "| target | mode | call | runs | calls/s (median) | p50 µs | p99 µs | errors |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	for _, k := range order {
		m := median(cells[k].runs)
		medians[k] = m
		var errs int64
		for _, r := range cells[k].runs {
			errs += r.Errors
		}
		fmt.Fprintf(out, "| %s | %s | %s | %d | %.0f | %.0f | %.0f | %d |\n", m.Label, m.Mode, m.Call, len(cells[k].runs), m.CallsPerS, m.P50Us, m.P99Us, errs)
	}
	fmt.Fprintln(out)
	printRatios(out, medians)
	return 0
}

func median(rs []result) result {
	sorted := append([]result(nil), rs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].CallsPerS < sorted[j].CallsPerS })
	return sorted[len(sorted)/2]
}

// printRatios compares faed against the baselines, cell by cell: a label
// "faed-tcp" is compared with "tsimple-tcp" and "echo-tcp".
func printRatios(out io.Writer, m map[string]result) {
	fmt.Fprintln(out, "| ratio | mode | call | value |")
	fmt.Fprintln(out, "|---|---|---|---|")
	for _, k := range sortedKeys(m) {
		r := m[k]
		if r.Label != "faed-tcp" && r.Label != "faed-unix" {
			continue
		}
		suffix := r.Label[len("faed"):]
		for _, base := range []string{"tsimple", "echo"} {
			if b, ok := m[base+suffix+"|"+r.Mode+"|"+r.Call]; ok && b.CallsPerS > 0 {
				fmt.Fprintf(out, "| %s / %s%s | %s | %s | %.2f× |\n", r.Label, base, suffix, r.Mode, r.Call, r.CallsPerS/b.CallsPerS)
			}
		}
		if r.Label == "faed-unix" {
			if b, ok := m["faed-tcp|"+r.Mode+"|"+r.Call]; ok && b.CallsPerS > 0 {
				fmt.Fprintf(out, "| faed unix / faed tcp | %s | %s | %.2f× |\n", r.Mode, r.Call, r.CallsPerS/b.CallsPerS)
			}
		}
	}
}

func sortedKeys(m map[string]result) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
