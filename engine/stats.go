package engine

import (
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear: below 2^minExp ns (1.02 µs) one
// bucket, then each octave [2^e, 2^(e+1)) ns split into 2^subBits equal
// buckets (an estimate within a bucket is off by at most 1/8 of the
// value), up to 2^(maxExp+1) ns (17.2 s); everything slower is the last
// bucket. A bucket's index is computed from the bits of the duration, no
// search: Observe stays two atomic adds.
const (
	minExp      = 10
	maxExp      = 33
	subBits     = 3
	latencySubs = 1 << subBits
	// LatencyBuckets is how many counters a Histogram keeps.
	LatencyBuckets = 1 + (maxExp-minExp+1)*latencySubs + 1
)

// latencyBucket is the index of d's bucket.
func latencyBucket(d time.Duration) int {
	n := uint64(max(d, 0))
	if n < 1<<minExp {
		return 0
	}
	e := bits.Len64(n) - 1
	if e > maxExp {
		return LatencyBuckets - 1
	}
	return 1 + (e-minExp)<<subBits + int(n>>(e-subBits)&(latencySubs-1))
}

// latencyLower is the smallest duration in bucket i; bucket i ends where
// bucket i+1 begins.
func latencyLower(i int) time.Duration {
	switch {
	case i <= 0:
		return 0
	case i >= LatencyBuckets-1:
		return 1 << (maxExp + 1)
	}
	e, m := minExp+(i-1)>>subBits, (i-1)&(latencySubs-1)
	return time.Duration(1<<e + m<<(e-subBits))
}

// Histogram counts latencies into log-linear buckets; safe for concurrent
// use, lock-free.
type Histogram struct {
	buckets [LatencyBuckets]atomic.Int64
	sumNs   atomic.Int64
}

// Observe records one latency.
func (h *Histogram) Observe(d time.Duration) {
	h.buckets[latencyBucket(d)].Add(1)
	h.sumNs.Add(int64(d))
}

// Counts returns a copy of the bucket counts and the latency sum.
func (h *Histogram) Counts() (counts []int64, sum time.Duration) {
	counts = make([]int64, LatencyBuckets)
	return counts, h.CountsInto(counts)
}

// CountsInto copies the bucket counts into dst (LatencyBuckets long) and
// returns the latency sum.
func (h *Histogram) CountsInto(dst []int64) (sum time.Duration) {
	for i := range h.buckets {
		dst[i] = h.buckets[i].Load()
	}
	return time.Duration(h.sumNs.Load())
}

// Quantile estimates the q-quantile (0..1) of bucket counts as a
// Histogram keeps them (or differences of two such reads), interpolating
// linearly within the bucket that holds it; in the overflow bucket it is
// that bucket's lower bound, all that is known. No counts, or a NaN q,
// give 0; q outside 0..1 is clamped.
func Quantile(counts []int64, q float64) time.Duration {
	if math.IsNaN(q) {
		return 0
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	if total <= 0 {
		return 0
	}
	rank := min(max(q, 0), 1) * float64(total)
	var seen int64
	for i, c := range counts {
		if c <= 0 {
			continue
		}
		if float64(seen+c) >= rank {
			lo := latencyLower(i)
			if i >= LatencyBuckets-1 {
				return lo
			}
			f := max(rank-float64(seen), 0) / float64(c)
			return lo + time.Duration(f*float64(latencyLower(i+1)-lo))
		}
		seen += c
	}
	return latencyLower(LatencyBuckets - 1)
}

// MethodStats are one method's counters.
type MethodStats struct {
	Calls      atomic.Int64 // calls answered
	Errors     atomic.Int64 // calls that failed (INTERNAL_ERROR and the like)
	Exceptions atomic.Int64 // declared exceptions (e.g. TCacheMissed)
	Latency    Histogram
}

// Stats are the engine's counters, read at scrape time.
type Stats struct {
	Accepted       atomic.Int64 // connections accepted
	Refused        atomic.Int64 // connections closed because max_sessions was reached and no idle session could make room
	Evicted        atomic.Int64 // idle sessions closed to make room for a new connection at max_sessions
	AcceptErrors   atomic.Int64 // accept failures (e.g. EMFILE)
	Sessions       atomic.Int64 // sessions open now
	ProtocolErrors atomic.Int64 // sessions closed on undecodable input
	Timeouts       atomic.Int64 // sessions closed on a timeout: idle, or one call past read+call+write
	UnknownMethods atomic.Int64 // calls of methods the processor lacks
	RateLimited    atomic.Int64 // calls refused by the per-client rate limit
	Panics         atomic.Int64 // panics recovered: in a call (answered INTERNAL_ERROR) or in the session loop
	HungUp         atomic.Int64 // calls cancelled because their client went away
	Passed         atomic.Int64 // sessions given to the new process in a binary upgrade
	Adopted        atomic.Int64 // sessions taken over from the old process in a binary upgrade

	methods map[string]*MethodStats // fixed at construction; read-only after
}

func newStats(methods []string) *Stats {
	s := &Stats{methods: make(map[string]*MethodStats, len(methods))}
	for _, m := range methods {
		s.methods[m] = &MethodStats{}
	}
	return s
}

// Method returns a method's counters, or nil for an unknown method.
func (s *Stats) Method(name string) *MethodStats { return s.methods[name] }

// MethodNames lists the methods in name order.
func (s *Stats) MethodNames() []string {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MethodSnapshot is one method's counters at a point in time.
type MethodSnapshot struct {
	Calls      int64   `json:"calls"`
	Errors     int64   `json:"errors"`
	Exceptions int64   `json:"exceptions"`
	MeanMs     float64 `json:"mean_ms"`
	P50Ms      float64 `json:"p50_ms"`
	P90Ms      float64 `json:"p90_ms"`
	P99Ms      float64 `json:"p99_ms"`
}

// Snapshot is the engine's counters at a point in time, as served by /stats.
type Snapshot struct {
	Accepted       int64                     `json:"accepted"`
	Refused        int64                     `json:"refused"`
	Evicted        int64                     `json:"evicted"`
	AcceptErrors   int64                     `json:"accept_errors"`
	Sessions       int64                     `json:"sessions"`
	ProtocolErrors int64                     `json:"protocol_errors"`
	Timeouts       int64                     `json:"timeouts"`
	UnknownMethods int64                     `json:"unknown_methods"`
	RateLimited    int64                     `json:"rate_limited"`
	Panics         int64                     `json:"panics"`
	HungUp         int64                     `json:"hung_up"`
	Passed         int64                     `json:"passed"`
	Adopted        int64                     `json:"adopted"`
	Methods        map[string]MethodSnapshot `json:"methods"`
}

// Snapshot copies the counters; methods never called are left out.
func (s *Stats) Snapshot() Snapshot {
	out := Snapshot{
		Accepted: s.Accepted.Load(), Refused: s.Refused.Load(), Evicted: s.Evicted.Load(),
		AcceptErrors: s.AcceptErrors.Load(), Sessions: s.Sessions.Load(),
		ProtocolErrors: s.ProtocolErrors.Load(), Timeouts: s.Timeouts.Load(),
		UnknownMethods: s.UnknownMethods.Load(), RateLimited: s.RateLimited.Load(),
		Panics: s.Panics.Load(), HungUp: s.HungUp.Load(),
		Passed: s.Passed.Load(), Adopted: s.Adopted.Load(),
		Methods: map[string]MethodSnapshot{},
	}
	for name, m := range s.methods {
		calls := m.Calls.Load()
		if calls == 0 {
			continue
		}
		counts, sum := m.Latency.Counts()
		out.Methods[name] = MethodSnapshot{
			Calls: calls, Errors: m.Errors.Load(), Exceptions: m.Exceptions.Load(),
			MeanMs: ms(sum / time.Duration(calls)),
			P50Ms:  ms(Quantile(counts, 0.50)),
			P90Ms:  ms(Quantile(counts, 0.90)),
			P99Ms:  ms(Quantile(counts, 0.99)),
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
