package engine

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// Every bucket holds exactly [latencyLower(i), latencyLower(i+1)): the
// bit arithmetic and the bounds agree, and the bounds rise.
func TestLatencyBucketsTile(t *testing.T) {
	for i := range LatencyBuckets - 1 {
		lo, hi := latencyLower(i), latencyLower(i+1)
		if hi <= lo {
			t.Fatalf("bucket %d: [%v, %v) is empty", i, lo, hi)
		}
		if got := latencyBucket(lo); got != i {
			t.Errorf("latencyBucket(%v) = %d, want %d", lo, got, i)
		}
		if got := latencyBucket(hi - 1); got != i {
			t.Errorf("latencyBucket(%v) = %d, want %d", hi-1, got, i)
		}
		if i > 0 && float64(hi-lo)/float64(lo) > 1.0/latencySubs+1e-9 {
			t.Errorf("bucket %d: [%v, %v) wider than 1/%d of its value", i, lo, hi, latencySubs)
		}
	}
	for _, d := range []time.Duration{-time.Second, 0, 1} {
		if got := latencyBucket(d); got != 0 {
			t.Errorf("latencyBucket(%v) = %d, want 0", d, got)
		}
	}
	for _, d := range []time.Duration{latencyLower(LatencyBuckets - 1), time.Hour, math.MaxInt64} {
		if got := latencyBucket(d); got != LatencyBuckets-1 {
			t.Errorf("latencyBucket(%v) = %d, want the overflow bucket", d, got)
		}
	}
}

func quantileOf(ds map[time.Duration]int, q float64) time.Duration {
	var h Histogram
	for d, n := range ds {
		for range n {
			h.Observe(d)
		}
	}
	counts, _ := h.Counts()
	return Quantile(counts, q)
}

// Fast calls are told apart: 20 µs and 50 µs (one coarse bucket before)
// give p50s within 1/8 of the truth.
func TestQuantileTellsFastCallsApart(t *testing.T) {
	for _, d := range []time.Duration{5 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
		300 * time.Microsecond, 7 * time.Millisecond, 2 * time.Second} {
		p50 := quantileOf(map[time.Duration]int{d: 1000}, 0.5)
		if math.Abs(float64(p50-d)) > float64(d)/latencySubs {
			t.Errorf("1000 calls at %v: p50 = %v", d, p50)
		}
	}
	a := quantileOf(map[time.Duration]int{20 * time.Microsecond: 1000}, 0.5)
	b := quantileOf(map[time.Duration]int{50 * time.Microsecond: 1000}, 0.5)
	if !(a < 25*time.Microsecond && b > 40*time.Microsecond) {
		t.Errorf("p50 of 20 µs calls %v, of 50 µs calls %v", a, b)
	}
}

func TestQuantileOrder(t *testing.T) {
	// 980 fast calls, 20 slow ones: p50 among the fast, p99 among the slow.
	mix := map[time.Duration]int{20 * time.Microsecond: 980, 40 * time.Millisecond: 20}
	p50, p90, p99 := quantileOf(mix, 0.5), quantileOf(mix, 0.9), quantileOf(mix, 0.99)
	if !(p50 <= p90 && p90 <= p99) {
		t.Fatalf("p50 %v, p90 %v, p99 %v not in order", p50, p90, p99)
	}
	if p90 > 25*time.Microsecond || p99 < 35*time.Millisecond || p99 > 45*time.Millisecond {
		t.Errorf("p90 %v (want ~20 µs), p99 %v (want ~40 ms)", p90, p99)
	}
	if got := quantileOf(nil, 0.5); got != 0 {
		t.Errorf("no calls: p50 = %v", got)
	}
	if got := quantileOf(map[time.Duration]int{time.Minute: 3}, 0.5); got != latencyLower(LatencyBuckets-1) {
		t.Errorf("overflow: p50 = %v, want the last bound %v", got, latencyLower(LatencyBuckets-1))
	}
	if got := quantileOf(mix, math.NaN()); got != 0 {
		t.Errorf("q NaN: %v", got)
	}
	for _, q := range []float64{-1, 0, 1, 2} {
		got := quantileOf(mix, q)
		if got < 16*time.Microsecond || got > 48*time.Millisecond {
			t.Errorf("q %v: %v outside the observed range", q, got)
		}
	}
}

// /metrics exports one bucket per octave, each the exact count of calls
// below its bound.
func TestExportedBuckets(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{time.Microsecond, 20 * time.Microsecond, 20 * time.Microsecond, time.Millisecond, time.Minute} {
		h.Observe(d)
	}
	counts, _ := h.Counts()
	buckets, total := exportedBuckets(counts)
	if len(buckets) != maxExp-minExp+2 || total != 5 {
		t.Fatalf("%d buckets, total %d; want %d, 5", len(buckets), total, maxExp-minExp+2)
	}
	want := func(le float64, n uint64) {
		t.Helper()
		if got, ok := buckets[le]; !ok || got != n {
			t.Errorf("le %g = %d (present %v), want %d", le, got, ok, n)
		}
	}
	want(1024e-9, 1) // 1 µs
	want(4096e-9, 1)
	want(16384e-9, 1)   // 16.4 µs: not yet the 20 µs ones
	want(32768e-9, 3)   // both 20 µs
	want(1048576e-9, 4) // 1 ms
	want(float64(uint64(1)<<34)*1e-9, 4)
}

// A sampler reports per interval: only methods called in it, their rates
// and the quantiles of that interval's calls alone.
func TestSampler(t *testing.T) {
	s := newStats([]string{"noop", "ping", "id_next"})
	t0 := time.Unix(1000, 0)
	noop := s.Method("noop")
	for range 10 { // before the sampler: not in its first sample
		noop.Calls.Add(1)
		noop.Latency.Observe(time.Second)
	}
	sp := s.NewSampler(t0)
	for range 100 {
		noop.Calls.Add(1)
		noop.Latency.Observe(20 * time.Microsecond)
	}
	noop.Errors.Add(4)
	s.Sessions.Store(3)
	got := sp.Sample(t0.Add(2 * time.Second))
	if got.Sessions != 3 || got.CallsTotal != 110 || got.Calls != 50 || got.Errors != 2 || len(got.Methods) != 1 {
		t.Fatalf("sample 1 = %+v", got)
	}
	if m := got.Methods["noop"]; m.Calls != 50 || m.Errors != 2 || m.P50Us < 17 || m.P50Us > 23 || m.P99Us > 23 {
		t.Fatalf("noop in sample 1 = %+v", m)
	}
	ping := s.Method("ping")
	for range 10 {
		ping.Calls.Add(1)
		ping.Latency.Observe(50 * time.Microsecond)
	}
	got = sp.Sample(t0.Add(3 * time.Second))
	if got.CallsTotal != 120 || got.Calls != 10 || got.Errors != 0 || len(got.Methods) != 1 || got.P50Us < 44 || got.P50Us > 56 {
		t.Fatalf("sample 2 = %+v", got)
	}
	if got = sp.Sample(t0.Add(4 * time.Second)); got.Calls != 0 || got.Methods != nil || got.P50Us != 0 {
		t.Fatalf("idle sample = %+v", got)
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 17 * time.Microsecond
		for pb.Next() {
			h.Observe(d)
			d = d*5/4%time.Second + time.Microsecond
		}
	})
}

func BenchmarkSampler(b *testing.B) {
	names := make([]string, 80)
	for i := range names {
		names[i] = fmt.Sprint("method", i)
	}
	s := newStats(names)
	sp, now := s.NewSampler(time.Unix(0, 0)), time.Unix(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range names[:10] { // a tenth of the methods called each second
			m := s.Method(n)
			m.Calls.Add(1)
			m.Latency.Observe(30 * time.Microsecond)
		}
		now = now.Add(time.Second)
		sp.Sample(now)
	}
}
