package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
)

// TraceConfig is call tracing ([server.trace]): a sampled or requested
// call logs one line with its method, rid, reason, duration, error,
// backend servers and arguments.
type TraceConfig struct {
	// SampleRate is the fraction of request ids (ctx.rid) traced, 0–1.
	// The choice is a hash of the rid, so every call of one request is
	// traced, on every node. 0 traces only what POST /trace asks for.
	SampleRate float64 `toml:"sample_rate"`
	// MaxArgBytes cuts each traced string or binary argument to this many
	// bytes (the line says how many more there were).
	MaxArgBytes int `toml:"max_arg_bytes"`
	// MaskSQL shows the values bound to my_* statements (argv, my_merge's
	// jsonValue) as "?": they may be passwords or personal data.
	MaskSQL bool `toml:"mask_sql"`
	// Level is the level traced calls are logged at: debug, info, warn or
	// error ([log] level must let it through).
	Level string `toml:"level"`
}

// DefaultTraceConfig traces nothing until asked.
func DefaultTraceConfig() TraceConfig {
	return TraceConfig{SampleRate: 0, MaxArgBytes: 64, MaskSQL: true, Level: "info"}
}

// Validate checks the rate, the cut and the level.
func (c TraceConfig) Validate() error {
	switch {
	case !(c.SampleRate >= 0 && c.SampleRate <= 1):
		return fmt.Errorf("%w: trace.sample_rate %v: want 0 to 1", ErrConfig, c.SampleRate)
	case c.MaxArgBytes <= 0:
		return fmt.Errorf("%w: trace.max_arg_bytes must be > 0", ErrConfig)
	}
	if _, err := c.level(); err != nil {
		return fmt.Errorf("%w: trace.level %q: want debug, info, warn or error", ErrConfig, c.Level)
	}
	return nil
}

func (c TraceConfig) level() (slog.Level, error) {
	var lv slog.Level
	err := lv.UnmarshalText([]byte(c.Level))
	return lv, err
}

// On-demand tracing bounds: armed matchers at once, and how long one may
// stay armed.
const (
	maxArmed  = 16
	maxArmFor = time.Hour
)

// Errors of arming a matcher.
var (
	ErrTooManyArmed = errors.New("too many trace matchers armed")
	ErrBadMatcher   = errors.New("bad trace matcher")
)

// Matcher traces the calls of one rid, or of reasons starting with a
// prefix, until it expires.
type Matcher struct {
	Rid    int64     `json:"rid,omitempty"`
	Reason string    `json:"reason,omitempty"` // a prefix of ctx.reason
	Until  time.Time `json:"until"`
}

func (m Matcher) matches(rid int64, reason string) bool {
	if m.Reason != "" {
		return strings.HasPrefix(reason, m.Reason)
	}
	return rid == m.Rid
}

// tracer decides which calls are traced and logs them.
type tracer struct {
	cfg       TraceConfig
	level     slog.Level
	all       bool   // sample_rate 1
	threshold uint64 // a rid whose hash is below it is sampled
	now       func() time.Time

	mu     sync.Mutex
	armed  []Matcher
	nArmed atomic.Int32 // len(armed), read without the lock

	traced atomic.Int64 // calls logged
}

func newTracer(cfg TraceConfig) *tracer {
	lv, _ := cfg.level() // validated
	t := &tracer{cfg: cfg, level: lv, now: time.Now}
	if cfg.SampleRate >= 1 {
		t.all = true
	} else {
		t.threshold = uint64(cfg.SampleRate * (1 << 64))
	}
	return t
}

// active: some call may be traced, so calls go through the recorder.
func (t *tracer) active() bool { return t.all || t.threshold > 0 || t.nArmed.Load() > 0 }

// sampled is the rate's choice for rid: the same on every call and every
// node. A call without a rid (noop) is sampled only at rate 1.
func (t *tracer) sampled(rid int64) bool {
	return t.all || rid != 0 && ridHash(rid) < t.threshold
}

// ridHash spreads rids (often sequential) over uint64: splitmix64's
// finaliser.
func ridHash(rid int64) uint64 {
	z := uint64(rid) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// wanted decides one call once its Context is read.
func (t *tracer) wanted(rid int64, reason string) bool {
	if t.sampled(rid) {
		return true
	}
	if t.nArmed.Load() == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	for _, m := range t.armed {
		if m.matches(rid, reason) {
			return true
		}
	}
	return false
}

// arm adds m, expiring after d.
func (t *tracer) arm(m Matcher, d time.Duration) (Matcher, error) {
	switch {
	case d <= 0 || d > maxArmFor:
		return Matcher{}, fmt.Errorf("%w: for %v: want > 0 and at most %v", ErrBadMatcher, d, maxArmFor)
	case (m.Rid == 0) == (m.Reason == ""):
		return Matcher{}, fmt.Errorf("%w: give one of rid (not 0) or reason", ErrBadMatcher)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	if len(t.armed) >= maxArmed {
		return Matcher{}, fmt.Errorf("%w (%d)", ErrTooManyArmed, maxArmed)
	}
	m.Until = t.now().Add(d)
	t.armed = append(t.armed, m)
	t.nArmed.Store(int32(len(t.armed)))
	return m, nil
}

// matchers lists the armed matchers that have not expired.
func (t *tracer) matchers() []Matcher {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	return append([]Matcher{}, t.armed...)
}

// disarm drops every matcher.
func (t *tracer) disarm() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed = nil
	t.nArmed.Store(0)
}

// prune drops expired matchers; t.mu is held.
func (t *tracer) prune() {
	now := t.now()
	live := t.armed[:0]
	for _, m := range t.armed {
		if now.Before(m.Until) {
			live = append(live, m)
		}
	}
	clear(t.armed[len(live):])
	t.armed = live
	t.nArmed.Store(int32(len(live)))
}

// TraceStats are tracing's counters.
type TraceStats struct {
	// Traced is how many calls were logged by tracing.
	Traced int64 `json:"traced"`
	// Armed is how many on-demand matchers are armed now.
	Armed int `json:"armed"`
}

// TraceStats reads tracing's counters.
func (e *Engine) TraceStats() TraceStats {
	return TraceStats{Traced: e.tracer.traced.Load(), Armed: len(e.tracer.matchers())}
}

// processors is the method table a call is dispatched on: the traced one
// only while some call may be traced, so an untraced call runs no
// recorder at all.
func (e *Engine) processors() map[string]thrift.TProcessorFunction {
	if e.tracer.active() {
		return e.tracedFns
	}
	return e.fns
}

// trace records a call's arguments as the generated code decodes them,
// decides once its Context is read, notes the backend servers it uses and
// logs one line when it is traced. It runs inside track: ctx is the
// call's context.
func (e *Engine) trace(name string, next thrift.TProcessorFunction) thrift.TProcessorFunction {
	masked := maskedFields(name, e.tracer.cfg.MaskSQL)
	return processFunc(func(ctx context.Context, seqID int32, in, out thrift.TProtocol) (bool, thrift.TException) {
		r := newCallRecord(e.tracer, name, in, masked)
		ok, err := next.Process(r.context(ctx), seqID, r, out)
		if r.decide() {
			e.tracer.log(e.log, ctx, r, time.Since(sessionOf(ctx).busySince()), err)
		}
		return ok, err
	})
}

// log writes one traced call.
func (t *tracer) log(log *slog.Logger, ctx context.Context, r *callRecord, d time.Duration, err error) {
	t.traced.Add(1)
	attrs := []slog.Attr{
		slog.String("method", r.method),
		slog.Int64("rid", r.rid),
		slog.String("reason", r.reason),
		slog.Duration("duration", d),
		slog.Any("backend", r.backendList()),
		slog.String("call", r.rendered()),
		slog.Any("client", clientOf(ctx)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	log.LogAttrs(context.Background(), t.level, "traced call", attrs...)
}

// sqlValueFields are the argument fields, by method, whose values are
// bound into SQL: masked under mask_sql (the IDL's field ids).
func sqlValueFields(method string) []int16 {
	switch method {
	case "my_query":
		return []int16{6} // argv
	case "my_query_shards":
		return []int16{5} // argv
	case "my_bulk_exec":
		return []int16{6} // argv
	case "my_merge":
		return []int16{8} // jsonValue
	}
	return nil
}

func maskedFields(method string, mask bool) []int16 {
	if !mask {
		return nil
	}
	return sqlValueFields(method)
}
