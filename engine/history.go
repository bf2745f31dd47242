package engine

import (
	"sync"
	"time"
)

// History keeps the last samples of a series taken at a fixed interval,
// numbered from 0 in the order they were added, for the dashboard; safe
// for concurrent use.
type History[S any] struct {
	mu   sync.Mutex
	buf  []S
	next uint64 // the number the next sample gets; sample k is buf[k%len(buf)]
}

// NewHistory keeps the last n samples (at least one).
func NewHistory[S any](n int) *History[S] {
	return &History[S]{buf: make([]S, max(n, 1))}
}

// Add appends a sample, dropping the oldest when the ring is full.
func (h *History[S]) Add(s S) {
	h.mu.Lock()
	h.buf[h.next%uint64(len(h.buf))] = s
	h.next++
	h.mu.Unlock()
}

// Since returns the samples numbered since and later, oldest first, and
// the number the next sample will get (the since of the next poll).
// Samples that already left the ring are gone: an old since starts at the
// oldest kept.
func (h *History[S]) Since(since uint64) (samples []S, next uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	size := uint64(len(h.buf))
	first := uint64(0)
	if h.next > size {
		first = h.next - size
	}
	since = max(since, first)
	if since >= h.next {
		return nil, h.next
	}
	samples = make([]S, 0, h.next-since)
	for k := since; k < h.next; k++ {
		samples = append(samples, h.buf[k%size])
	}
	return samples, h.next
}

// EngineSample is what the engine did in one sampling interval: rates per
// second over the interval and latency quantiles of the calls answered in
// it.
type EngineSample struct {
	Sessions   int64   `json:"sessions"`    // open at the end of the interval
	CallsTotal int64   `json:"calls_total"` // answered since start
	Calls      float64 `json:"calls"`       // per second
	Errors     float64 `json:"errors"`      // per second
	P50Us      float64 `json:"p50_us"`      // over every method's calls; 0 with none
	P99Us      float64 `json:"p99_us"`
	// Methods holds the methods that answered calls in the interval.
	Methods map[string]MethodSample `json:"methods,omitempty"`
}

// MethodSample is one method's share of an EngineSample.
type MethodSample struct {
	Calls      float64 `json:"calls"`      // per second
	Errors     float64 `json:"errors"`     // per second
	Exceptions float64 `json:"exceptions"` // per second
	P50Us      float64 `json:"p50_us"`
	P99Us      float64 `json:"p99_us"`
}

// Sampler turns the engine's cumulative counters into EngineSamples, each
// covering the time since the previous one. It is meant for one sampling
// goroutine and is not safe for concurrent use.
type Sampler struct {
	stats   *Stats
	names   []string
	marks   map[string]*methodMark
	at      time.Time
	scratch []int64
	total   []int64
}

// methodMark is a method's counters at the previous sample.
type methodMark struct {
	calls, errors, exceptions int64
	counts                    []int64
}

// NewSampler starts a sampler at now: the first sample covers what
// happens after it.
func (s *Stats) NewSampler(now time.Time) *Sampler {
	sp := &Sampler{stats: s, names: s.MethodNames(), marks: make(map[string]*methodMark, len(s.methods)), at: now,
		scratch: make([]int64, LatencyBuckets), total: make([]int64, LatencyBuckets)}
	for _, name := range sp.names {
		m, mk := s.methods[name], &methodMark{counts: make([]int64, LatencyBuckets)}
		mk.calls, mk.errors, mk.exceptions = m.Calls.Load(), m.Errors.Load(), m.Exceptions.Load()
		m.Latency.CountsInto(mk.counts)
		sp.marks[name] = mk
	}
	return sp
}

// Sample reads the counters at now and returns what changed since the
// previous call (or NewSampler). A method whose call count did not move
// costs one atomic load.
func (sp *Sampler) Sample(now time.Time) EngineSample {
	secs := now.Sub(sp.at).Seconds()
	sp.at = now
	if secs <= 0 {
		secs = 1e-9 // the clock did not move: rates are large but finite
	}
	out := EngineSample{Sessions: sp.stats.Sessions.Load()}
	clear(sp.total)
	var errs int64
	for _, name := range sp.names {
		m, mk := sp.stats.methods[name], sp.marks[name]
		calls := m.Calls.Load()
		out.CallsTotal += calls
		if calls == mk.calls {
			continue
		}
		e, x := m.Errors.Load(), m.Exceptions.Load()
		m.Latency.CountsInto(sp.scratch)
		for i, c := range sp.scratch {
			sp.scratch[i], mk.counts[i] = c-mk.counts[i], c
			sp.total[i] += sp.scratch[i]
		}
		if out.Methods == nil {
			out.Methods = map[string]MethodSample{}
		}
		out.Methods[name] = MethodSample{
			Calls: float64(calls-mk.calls) / secs, Errors: float64(e-mk.errors) / secs,
			Exceptions: float64(x-mk.exceptions) / secs,
			P50Us:      us(Quantile(sp.scratch, 0.50)), P99Us: us(Quantile(sp.scratch, 0.99)),
		}
		out.Calls += float64(calls-mk.calls) / secs
		errs += e - mk.errors
		mk.calls, mk.errors, mk.exceptions = calls, e, x
	}
	out.Errors = float64(errs) / secs
	out.P50Us, out.P99Us = us(Quantile(sp.total, 0.50)), us(Quantile(sp.total, 0.99))
	return out
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
