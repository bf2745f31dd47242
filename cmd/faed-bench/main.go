// Command faed-bench is faed's load generator: many workers each sending
// one pre-encoded call after another, over short connections (connect, one
// call, close: how php-fpm talks to faed) or persistent ones.
//
//	faed-bench -addr 127.0.0.1:9001 -mode short -c 16 -d 10s -call noop
//	faed-bench -report results.jsonl    # markdown table from -json lines
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	addr, mode, call, label string
	c                       int
	d, warmup               time.Duration
	framed, compact, asJSON bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("faed-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9001", "host:port, or a unix socket path (contains /)")
	fs.StringVar(&o.mode, "mode", "persistent", "short (connect, one call, close), persistent, or idle (open -c connections, one call each, hold them for -d)")
	fs.StringVar(&o.call, "call", "noop", callNames())
	fs.StringVar(&o.label, "label", "", "name of the target in -json output")
	fs.IntVar(&o.c, "c", 16, "concurrent workers")
	fs.DurationVar(&o.d, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before -d")
	fs.BoolVar(&o.framed, "framed", false, "TFramedTransport instead of buffered")
	fs.BoolVar(&o.compact, "compact", false, "compact protocol instead of binary")
	fs.BoolVar(&o.asJSON, "json", false, "print the summary as one JSON line")
	report := fs.String("report", "", "render a markdown table from a file of -json lines, then exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *report != "" {
		return renderReport(*report, stdout, stderr)
	}
	res, err := bench(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "faed-bench:", err)
		return 1
	}
	if o.asJSON {
		_ = json.NewEncoder(stdout).Encode(res)
	} else {
		res.print(stdout)
	}
	return 0
}

func bench(o options, progress io.Writer) (result, error) {
	c, ok := calls[o.call]
	if !ok || o.c <= 0 || (o.mode != "short" && o.mode != "persistent" && o.mode != "idle") {
		return result{}, fmt.Errorf("want -call %s, -mode short|persistent|idle and -c > 0", callNames())
	}
	t := parseTarget(o.addr, wire{framed: o.framed, compact: o.compact}, o.mode == "short")
	if o.mode == "idle" {
		return holdIdle(t, c, o, progress)
	}
	var done, failures atomic.Int64
	workers := make([]*worker, o.c)
	for i := range workers {
		reqs, err := t.wire.requests(c, c.method, i)
		if err != nil {
			return result{}, err
		}
		workers[i] = &worker{t: t, reqs: reqs, errs: map[string]int64{}, done: &done, failures: &failures}
		if c.setup != "" {
			if err := prefill(t, calls[c.setup], i); err != nil {
				return result{}, fmt.Errorf("setup %s: %w", c.setup, err)
			}
		}
	}
	stop := make(chan struct{})
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(stop, measureFrom) }()
	}
	showProgress(progress, &done, &failures, measureFrom, o.warmup+o.d)
	close(stop)
	wg.Wait()
	return summarize(o, workers, time.Since(measureFrom)), nil
}

// prefill sends every setup request of a worker once (e.g. lc_set before
// measuring lc_get).
func prefill(t target, setup call, n int) error {
	reqs, err := t.wire.requests(setup, setup.method, n)
	if err != nil {
		return err
	}
	w := &worker{t: target{network: t.network, addr: t.addr, wire: t.wire}}
	defer w.close()
	for _, r := range reqs {
		if err := w.call(r); err != nil {
			return err
		}
	}
	return nil
}

// showProgress prints calls/s once a second until total has passed.
func showProgress(out io.Writer, done, failures *atomic.Int64, measureFrom time.Time, total time.Duration) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(total)
	defer end.Stop()
	var last int64
	for {
		select {
		case <-end.C:
			fmt.Fprintln(out)
			return
		case now := <-tick.C:
			n := done.Load()
			phase := "measuring"
			if now.Before(measureFrom) {
				phase = "warming up"
			}
			fmt.Fprintf(out, "\r%-10s %8d calls/s  %10d calls  %6d errors ", phase, n-last, n, failures.Load())
			last = n
		}
	}
}
