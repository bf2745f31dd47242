package engine

import (
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// latencyBounds are the upper bounds of the latency histogram buckets; the
// last bucket is everything slower.
var latencyBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second,
}

// Histogram counts latencies into latencyBounds buckets; safe for
// concurrent use, lock-free.
type Histogram struct {
	buckets [len(latencyBounds) + 1]atomic.Int64
	sumNs   atomic.Int64
}

// Observe records one latency.
func (h *Histogram) Observe(d time.Duration) {
	i, _ := slices.BinarySearch(latencyBounds[:], d)
	h.buckets[i].Add(1)
	h.sumNs.Add(int64(d))
}

// Counts returns a copy of the bucket counts and the latency sum.
func (h *Histogram) Counts() (counts []int64, sum time.Duration) {
	counts = make([]int64, len(h.buckets))
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
	}
	return counts, time.Duration(h.sumNs.Load())
}

// quantile estimates the q-quantile (0..1) as the upper bound of the bucket
// holding it; the overflow bucket reports twice the last bound.
func quantile(counts []int64, q float64) time.Duration {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total-1)) + 1
	var seen int64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			if i < len(latencyBounds) {
				return latencyBounds[i]
			}
			break
		}
	}
	return 2 * latencyBounds[len(latencyBounds)-1]
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
	Refused        atomic.Int64 // connections closed because max_sessions was reached
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
		Accepted: s.Accepted.Load(), Refused: s.Refused.Load(),
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
			P50Ms:  ms(quantile(counts, 0.50)),
			P90Ms:  ms(quantile(counts, 0.90)),
			P99Ms:  ms(quantile(counts, 0.99)),
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
