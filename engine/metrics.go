package engine

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exposes Stats to Prometheus, read at scrape time.
type collector struct {
	s *Stats
	t *tracer

	traced, armed *prometheus.Desc

	calls, errs, excs, latency                            *prometheus.Desc
	accepted, refused, evicted, acceptErrs, sessions      *prometheus.Desc
	protoErrs, timeouts, unknown, limited, panics, hungUp *prometheus.Desc
}

// Collector returns a prometheus.Collector over the engine's counters, for
// a registry built by the caller.
func (e *Engine) Collector() prometheus.Collector {
	m := []string{"method"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("faed_"+name, help, labels, nil)
	}
	return &collector{
		s:          e.stats,
		t:          e.tracer,
		traced:     d("traced_calls_total", "Calls logged by tracing (sampled or asked for with POST /trace).", nil),
		armed:      d("trace_matchers_armed", "On-demand trace matchers armed now (POST /trace).", nil),
		calls:      d("calls_total", "Calls answered, by method.", m),
		errs:       d("call_errors_total", "Calls that failed, by method.", m),
		excs:       d("call_exceptions_total", "Calls answered with a declared exception (e.g. cache miss), by method.", m),
		latency:    d("call_duration_seconds", "Call latency, by method.", m),
		accepted:   d("sessions_accepted_total", "Client connections accepted.", nil),
		refused:    d("sessions_refused_total", "Client connections closed because max_sessions was reached and no idle session could make room.", nil),
		evicted:    d("sessions_evicted_total", "Idle sessions closed to make room for a new connection at max_sessions.", nil),
		acceptErrs: d("accept_errors_total", "Accept failures (e.g. too many open files).", nil),
		sessions:   d("sessions", "Client sessions open now.", nil),
		protoErrs:  d("protocol_errors_total", "Sessions closed on undecodable input.", nil),
		timeouts:   d("session_timeouts_total", "Sessions closed on a timeout: idle, or one call past read+call+write timeouts.", nil),
		unknown:    d("unknown_method_calls_total", "Calls of unknown methods.", nil),
		limited:    d("rate_limited_calls_total", "Calls refused by the per-client rate limit.", nil),
		panics:     d("panics_total", "Panics recovered (each is a bug).", nil),
		hungUp:     d("hung_up_calls_total", "Calls cancelled because their client went away.", nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.errs, c.excs, c.latency, c.accepted, c.refused, c.evicted,
		c.acceptErrs, c.sessions, c.protoErrs, c.timeouts, c.unknown, c.limited, c.panics, c.hungUp, c.traced, c.armed} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.accepted, s.Accepted.Load())
	counter(c.refused, s.Refused.Load())
	counter(c.evicted, s.Evicted.Load())
	counter(c.acceptErrs, s.AcceptErrors.Load())
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(s.Sessions.Load()))
	counter(c.protoErrs, s.ProtocolErrors.Load())
	counter(c.timeouts, s.Timeouts.Load())
	counter(c.unknown, s.UnknownMethods.Load())
	counter(c.limited, s.RateLimited.Load())
	counter(c.panics, s.Panics.Load())
	counter(c.hungUp, s.HungUp.Load())
	counter(c.traced, c.t.traced.Load())
	ch <- prometheus.MustNewConstMetric(c.armed, prometheus.GaugeValue, float64(len(c.t.matchers())))
	for _, name := range s.MethodNames() {
		m := s.methods[name]
		calls := m.Calls.Load()
		if calls == 0 {
			continue
		}
		counter(c.calls, calls, name)
		counter(c.errs, m.Errors.Load(), name)
		counter(c.excs, m.Exceptions.Load(), name)
		counts, sum := m.Latency.Counts()
		buckets, cum := exportedBuckets(counts)
		ch <- prometheus.MustNewConstHistogram(c.latency, cum, sum.Seconds(), buckets, name)
	}
}

// exportedBuckets folds the fine latency buckets into one Prometheus
// bucket per octave (le = 2^10 ns, 2^11 ns, ... 2^34 ns, about 1 µs to
// 17 s): 25 series per method instead of 194, each exact, since every octave boundary is a
// fine bucket's boundary. It returns them cumulative, and the total.
func exportedBuckets(counts []int64) (map[float64]uint64, uint64) {
	buckets := make(map[float64]uint64, maxExp-minExp+2)
	var cum uint64
	for i, c := range counts {
		lo := latencyLower(i)
		if i > 0 && lo&(lo-1) == 0 { // an octave starts: le its lower bound holds what came before
			buckets[lo.Seconds()] = cum
		}
		cum += uint64(c)
	}
	return buckets, cum
}
