package main

import (
	"fmt"
	"io"
	"time"
)

// holdIdle opens o.c connections, makes one call on each so the server has
// served it, then holds them all idle for o.d: the server's memory per idle
// session is then (RSS now − RSS before) / o.c.
func holdIdle(t target, c call, o options, progress io.Writer) (result, error) {
	t.short = false
	workers := make([]*worker, 0, o.c)
	defer func() {
		for _, w := range workers {
			w.close()
		}
	}()
	start := time.Now()
	for i := range o.c {
		reqs, err := t.wire.requests(c, i)
		if err != nil {
			return result{}, err
		}
		w := newWorker(t, reqs, &tally{})
		workers = append(workers, w)
		if err := w.call(reqs[0]); err != nil {
			return result{}, fmt.Errorf("connection %d: %w", i, err)
		}
	}
	fmt.Fprintf(progress, "holding %d idle connections for %v\n", len(workers), o.d)
	time.Sleep(o.d)
	return result{Label: o.label, Addr: o.addr, Mode: o.mode, Call: o.call, Framed: o.framed, Compact: o.compact,
		Workers: o.c, Seconds: time.Since(start).Seconds(), Calls: int64(len(workers))}, nil
}
