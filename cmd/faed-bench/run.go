package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errUsage: the options do not describe a run.
var errUsage = errors.New("usage")

func (o options) validate() error {
	if _, ok := calls[o.call]; !ok {
		return fmt.Errorf("%w: -call %q, want %s", errUsage, o.call, callNames())
	}
	if o.mode != "short" && o.mode != "persistent" && o.mode != "idle" {
		return fmt.Errorf("%w: -mode %q, want short|persistent|idle", errUsage, o.mode)
	}
	if o.direct != "" && (o.mode != "persistent" || o.direct != "redis" && o.direct != "memcache" && o.direct != "mysql") {
		return fmt.Errorf("%w: -direct redis|memcache|mysql goes with -mode persistent", errUsage)
	}
	if o.c <= 0 || o.d <= 0 || o.warmup < 0 {
		return fmt.Errorf("%w: want -c > 0, -d > 0, -warmup ≥ 0", errUsage)
	}
	return nil
}

// bench runs o: warm-up, then -d measured, then the summary. It stops by
// itself; a call in flight at the end is bounded by callTimeout.
func bench(o options, progress io.Writer) (result, error) {
	if err := o.validate(); err != nil {
		return result{}, err
	}
	c := calls[o.call]
	w := wire{framed: o.framed, compact: o.compact}
	if o.owner != "" {
		members := strings.Split(o.members, ",")
		if !slices.Contains(members, o.owner) {
			return result{}, fmt.Errorf("%w: -owner %s is not one of -members %q", errUsage, o.owner, o.members)
		}
		w.keys = ownedKeys(o.owner, members)
	}
	t := parseTarget(o.addr, w, o.mode == "short")
	if o.mode == "idle" {
		return holdIdle(t, c, o, progress)
	}
	tl := &tally{}
	workers := make([]*worker, o.c)
	if o.direct != "" {
		gets, closeDirect, err := newDirect(o.direct, o.addr, o.c)
		if err != nil {
			return result{}, err
		}
		defer closeDirect()
		for i := range workers {
			workers[i] = newWorker(t, nil, tl)
			workers[i].direct = gets[i]
		}
	}
	for i := range workers {
		if workers[i] != nil {
			continue
		}
		reqs, err := t.wire.requests(c, i)
		if err != nil {
			return result{}, err
		}
		workers[i] = newWorker(t, reqs, tl)
	}
	if c.setup != "" && o.direct == "" {
		prefill(t, calls[c.setup], o.c, progress)
	}
	cpu0, start := processCPU(), time.Now()
	from := start.Add(o.warmup)
	until := from.Add(o.d)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w.run(&stop, from, until) })
	}
	showProgress(progress, tl, start, from, until)
	stop.Store(true)
	wg.Wait()
	user, total := processCPU().cores(cpu0, time.Since(start))
	res := summarize(o, workers, o.d)
	res.BenchCPU, res.BenchUserCPU = total, user
	return res, nil
}

// prefill sends every worker's setup messages once (lc_set before lc_get).
// A failure is reported, not fatal: the measured calls then show it as
// errors (e.g. lc_get misses counted as declared exceptions).
func prefill(t target, setup call, workers int, progress io.Writer) {
	if failed, err := sendSetup(t, setup, workers); err != nil {
		fmt.Fprintf(progress, "setup %d calls failed, first: %v\n", failed, err)
	}
}

// sendSetup returns how many setup calls failed and the first error; it
// gives up at the first failed connect, which every later one would repeat.
func sendSetup(t target, setup call, workers int) (failed int, first error) {
	t.short = false
	for n := range workers {
		reqs, err := t.wire.requests(setup, n)
		if err != nil {
			return failed, err
		}
		w := newWorker(t, reqs, &tally{})
		for _, r := range reqs {
			err := w.call(r)
			if err == nil {
				continue
			}
			failed++
			first = cmp.Or(first, err)
			if errors.Is(err, errDial) {
				return failed, first
			}
		}
		w.close()
	}
	return failed, first
}
