package main

import (
	"fmt"
	"io"
	"time"
)

// showProgress prints a live line to out once a second (calls/s over the
// last second and since the start, totals, errors) and returns at until.
func showProgress(out io.Writer, tl *tally, start, from, until time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(time.Until(until))
	defer end.Stop()
	var last int64
	for {
		select {
		case <-end.C:
			fmt.Fprintln(out)
			return
		case now := <-tick.C:
			n := tl.calls.Load()
			phase := "measuring"
			if now.Before(from) {
				phase = "warming up"
			}
			avg := float64(n) / now.Sub(start).Seconds()
			fmt.Fprintf(out, "\r%-10s %8d calls/s now %8.0f calls/s avg %10d calls %8d errors ",
				phase, n-last, avg, n, tl.errors.Load())
			last = n
		}
	}
}
