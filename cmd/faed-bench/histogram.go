package main

import (
	"math"
	"time"
)

// histogram records latencies with about 1% precision from 1µs to ~160s in
// a fixed array: log-spaced buckets, no allocation per sample, so a long
// run uses no more memory than a short one.
type histogram struct {
	counts [histBuckets]int64
	n      int64
	max    time.Duration
}

const (
	histGrowth  = 1.01
	histBuckets = 1900 // 1.01^1900 µs ≈ 160s; slower calls share the last bucket
)

var histLogGrowth = math.Log(histGrowth)

// bucketOf is the bucket i with upper(i-1) < d ≤ upper(i) (up to float
// rounding); everything ≤ 1µs is bucket 0.
func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	return min(int(math.Log(us)/histLogGrowth), histBuckets-1)
}

// upper is the largest latency bucket i holds.
func upper(i int) time.Duration {
	return time.Duration(math.Pow(histGrowth, float64(i+1)) * float64(time.Microsecond))
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0..1) as the upper bound of its bucket,
// so it over-reports by at most 1%, and never above the maximum seen. The
// last bucket has no upper bound: a quantile that falls in it is the max.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(h.n))), 1)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && i < histBuckets-1 {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
