package main

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{
		{0, 1 * time.Microsecond},
		{0.5, 500 * time.Microsecond},
		{0.9, 900 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{1, 1000 * time.Microsecond},
	}
	for _, tc := range cases {
		got := h.quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.011 {
			t.Errorf("q%.2f = %v, want %v within +1.1%%", tc.q, got, tc.want)
		}
	}
}

// Against exact order statistics of random samples spanning 1µs..10s:
// every quantile is at or above the true one and within 1% of it.
func TestHistogramMatchesSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h histogram
	samples := make([]time.Duration, 20000)
	for i := range samples {
		samples[i] = time.Duration(r.ExpFloat64() * float64(time.Millisecond) * float64(1+i%5000))
		h.record(samples[i])
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := samples[max(int(q*float64(len(samples)))-1, 0)]
		got := h.quantile(q)
		if got < exact || float64(got) > float64(exact)*1.011+float64(time.Microsecond) {
			t.Errorf("q%v = %v, exact %v", q, got, exact)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a quantile")
	}
	h.record(0)
	h.record(time.Hour) // beyond the last bucket
	if got := h.quantile(0.5); got > 2*time.Microsecond {
		t.Errorf("p50 of {0, 1h} = %v", got)
	}
	if got := h.quantile(1); got != time.Hour {
		t.Errorf("max = %v, want 1h", got)
	}
	var other histogram
	other.record(5 * time.Second)
	h.merge(&other)
	if h.n != 3 || h.max != time.Hour || h.quantile(0.6) < 5*time.Second || h.quantile(0.6) > 5050*time.Millisecond {
		t.Fatalf("merge: n=%d max=%v p60=%v", h.n, h.max, h.quantile(0.6))
	}
}

func TestBucketBounds(t *testing.T) {
	for d := time.Microsecond; d < 100*time.Second; d = d*3/2 + 1 {
		i := bucketOf(d)
		if upper(i) < d || (i > 0 && upper(i-1) > d) {
			t.Fatalf("%v in bucket %d: (%v, %v]", d, i, upper(i-1), upper(i))
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.record(time.Duration(i%5000) * time.Microsecond)
	}
}
