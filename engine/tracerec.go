package engine

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/internal/calltrace"
)

// maxRendered caps one call's rendered arguments (a long list of short
// values is cut here, each value by max_arg_bytes).
const maxRendered = 4096

// callRecord is a traced call's input protocol: it passes every read
// through and renders the decoded argument struct as
// method(ctx={rid=1,reason="x",uid=0}, 2="GET", 3=["key"]), by field id.
// Field 1 of every method's arguments is the Context (see idl/fun.thrift;
// noop's is a plain i32), which gives the rid and reason the decision
// needs. Once the call is decided against, reads pass straight through.
type callRecord struct {
	thrift.TProtocol
	t      *tracer
	method string
	masked []int16
	maxArg int

	decided, on bool
	rid         int64
	reason      string

	buf   []byte
	cut   bool // buf reached maxRendered
	stack []frame

	mu       sync.Mutex
	backends []string

	ctx tracedCtx
}

// frame is one struct, list, set or map being read.
type frame struct {
	kind      byte // 's'truct, 'l'ist (and set), 'm'ap
	n         int  // fields or elements (map: keys and values) so far
	mask      bool // every value inside is masked
	fieldMask bool // struct: the current field's value is masked
	ctx       bool // the call's Context
	field     int16
}

var _ calltrace.Recorder = (*callRecord)(nil)

func newCallRecord(t *tracer, method string, in thrift.TProtocol, masked []int16) *callRecord {
	return &callRecord{TProtocol: in, t: t, method: method, masked: masked, maxArg: t.cfg.MaxArgBytes}
}

// tracedCtx is the call's context carrying its record: the callCtx's
// deadline, cancellation and AfterFunc stay as they are.
type tracedCtx struct {
	*callCtx
	r *callRecord
}

func (c *tracedCtx) Value(key any) any {
	if key == calltrace.Key() {
		return c.r
	}
	return c.callCtx.Value(key)
}

// context returns ctx carrying r, for calltrace.Backend.
func (r *callRecord) context(ctx context.Context) context.Context {
	if c, ok := ctx.(*callCtx); ok {
		r.ctx = tracedCtx{callCtx: c, r: r}
		return &r.ctx
	}
	return calltrace.NewContext(ctx, r)
}

// decide makes the decision if the arguments did not (no Context was
// read) and reports it.
func (r *callRecord) decide() bool {
	if !r.decided {
		r.decided = true
		r.on = r.t.wanted(r.rid, r.reason)
	}
	return r.on
}

// off: decided against; nothing more is recorded.
func (r *callRecord) off() bool { return r.decided && !r.on }

// Backend implements calltrace.Recorder.
func (r *callRecord) Backend(kind, server string) {
	if r.off() {
		return
	}
	s := kind + " " + server
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.backends, s) {
		r.backends = append(r.backends, s)
	}
}

func (r *callRecord) backendList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.backends)
}

func (r *callRecord) rendered() string {
	if len(r.buf) == 0 {
		return r.method + "(…)" // the arguments were skipped unread
	}
	if r.cut {
		return string(r.buf) + "…"
	}
	return string(r.buf)
}

// write appends s unless the rendering is full.
func (r *callRecord) write(s string) {
	if r.cut {
		return
	}
	if len(r.buf)+len(s) > maxRendered {
		r.cut = true
		return
	}
	r.buf = append(r.buf, s...)
}

func (r *callRecord) top() *frame {
	if len(r.stack) == 0 {
		return nil
	}
	return &r.stack[len(r.stack)-1]
}

// value starts one value: the separator its container needs. It reports
// whether the value is masked.
func (r *callRecord) value() bool {
	f := r.top()
	if f == nil {
		return false
	}
	switch f.kind {
	case 'l':
		if f.n > 0 {
			r.write(",")
		}
	case 'm':
		if f.n%2 == 1 {
			r.write(":")
		} else if f.n > 0 {
			r.write(",")
		}
	}
	f.n++
	return f.mask || f.fieldMask
}

func (r *callRecord) push(kind byte, open string) {
	mask := r.value()
	ctx := false
	if f := r.top(); f != nil && len(r.stack) == 1 && f.field == 1 && kind == 's' {
		ctx = true
	}
	if len(r.stack) == 0 {
		open = r.method + "("
	}
	r.write(open)
	r.stack = append(r.stack, frame{kind: kind, mask: mask, ctx: ctx})
}

// pop closes the innermost container; closing the Context decides.
func (r *callRecord) pop(close string) {
	f := r.top()
	if f == nil {
		return
	}
	r.stack = r.stack[:len(r.stack)-1]
	if len(r.stack) == 0 {
		close = ")"
	}
	r.write(close)
	if f.ctx && !r.decided {
		r.decide()
	}
}

func (r *callRecord) ReadStructBegin(ctx context.Context) (string, error) {
	name, err := r.TProtocol.ReadStructBegin(ctx)
	if err == nil && !r.off() {
		r.push('s', "{")
	}
	return name, err
}

func (r *callRecord) ReadStructEnd(ctx context.Context) error {
	err := r.TProtocol.ReadStructEnd(ctx)
	if err == nil && !r.off() {
		r.pop("}")
	}
	return err
}

var ctxFieldNames = [...]string{1: "rid=", 2: "reason=", 3: "uid=", 4: "sticky="}

func (r *callRecord) ReadFieldBegin(ctx context.Context) (string, thrift.TType, int16, error) {
	name, typ, id, err := r.TProtocol.ReadFieldBegin(ctx)
	f := r.top()
	if err != nil || typ == thrift.STOP || r.off() || f == nil {
		return name, typ, id, err
	}
	switch {
	case f.n > 0 && len(r.stack) == 1:
		r.write(", ")
	case f.n > 0:
		r.write(",")
	}
	f.n++
	f.field = id
	f.fieldMask = len(r.stack) == 1 && slices.Contains(r.masked, id)
	switch {
	case len(r.stack) == 1 && id == 1 && typ == thrift.STRUCT:
		r.write("ctx=")
	case f.ctx && id >= 1 && int(id) < len(ctxFieldNames):
		r.write(ctxFieldNames[id])
	default:
		r.write(strconv.Itoa(int(id)) + "=")
	}
	return name, typ, id, err
}

func (r *callRecord) ReadListBegin(ctx context.Context) (thrift.TType, int, error) {
	typ, n, err := r.TProtocol.ReadListBegin(ctx)
	if err == nil && !r.off() {
		r.push('l', "[")
	}
	return typ, n, err
}

func (r *callRecord) ReadListEnd(ctx context.Context) error {
	err := r.TProtocol.ReadListEnd(ctx)
	if err == nil && !r.off() {
		r.pop("]")
	}
	return err
}

func (r *callRecord) ReadSetBegin(ctx context.Context) (thrift.TType, int, error) {
	typ, n, err := r.TProtocol.ReadSetBegin(ctx)
	if err == nil && !r.off() {
		r.push('l', "[")
	}
	return typ, n, err
}

func (r *callRecord) ReadSetEnd(ctx context.Context) error {
	err := r.TProtocol.ReadSetEnd(ctx)
	if err == nil && !r.off() {
		r.pop("]")
	}
	return err
}

func (r *callRecord) ReadMapBegin(ctx context.Context) (thrift.TType, thrift.TType, int, error) {
	kt, vt, n, err := r.TProtocol.ReadMapBegin(ctx)
	if err == nil && !r.off() {
		r.push('m', "{")
	}
	return kt, vt, n, err
}

func (r *callRecord) ReadMapEnd(ctx context.Context) error {
	err := r.TProtocol.ReadMapEnd(ctx)
	if err == nil && !r.off() {
		r.pop("}")
	}
	return err
}

// scalar renders one decoded scalar, or "?" when masked.
func (r *callRecord) scalar(s string) {
	if r.value() {
		s = "?"
	}
	r.write(s)
}

func (r *callRecord) ReadBool(ctx context.Context) (bool, error) {
	v, err := r.TProtocol.ReadBool(ctx)
	if err == nil && !r.off() {
		r.scalar(strconv.FormatBool(v))
	}
	return v, err
}

// ReadByte is not recorded: no argument of the IDL is an i8 (and vet
// holds the name to io.ByteReader's signature).

func (r *callRecord) ReadI16(ctx context.Context) (int16, error) {
	v, err := r.TProtocol.ReadI16(ctx)
	if err == nil && !r.off() {
		r.scalar(strconv.Itoa(int(v)))
	}
	return v, err
}

func (r *callRecord) ReadI32(ctx context.Context) (int32, error) {
	v, err := r.TProtocol.ReadI32(ctx)
	if err == nil && !r.off() {
		r.scalar(strconv.Itoa(int(v)))
	}
	return v, err
}

func (r *callRecord) ReadI64(ctx context.Context) (int64, error) {
	v, err := r.TProtocol.ReadI64(ctx)
	if err == nil && !r.off() {
		if f := r.top(); f != nil && f.ctx && f.field == 1 {
			r.rid = v
		}
		r.scalar(strconv.FormatInt(v, 10))
	}
	return v, err
}

func (r *callRecord) ReadDouble(ctx context.Context) (float64, error) {
	v, err := r.TProtocol.ReadDouble(ctx)
	if err == nil && !r.off() {
		r.scalar(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return v, err
}

func (r *callRecord) ReadString(ctx context.Context) (string, error) {
	v, err := r.TProtocol.ReadString(ctx)
	if err == nil && !r.off() {
		if f := r.top(); f != nil && f.ctx && f.field == 2 {
			r.reason = v
		}
		r.bytes(v[:min(len(v), r.maxArg)], len(v))
	}
	return v, err
}

func (r *callRecord) ReadBinary(ctx context.Context) ([]byte, error) {
	v, err := r.TProtocol.ReadBinary(ctx)
	if err == nil && !r.off() {
		r.bytes(string(v[:min(len(v), r.maxArg)]), len(v))
	}
	return v, err
}

// bytes renders a string or binary value cut to max_arg_bytes (head is
// at most that much of it, n its whole length), or "?" when masked.
func (r *callRecord) bytes(head string, n int) {
	if r.value() {
		r.write("?")
		return
	}
	r.write(strconv.Quote(head))
	if n > len(head) {
		r.write("…(+" + strconv.Itoa(n-len(head)) + ")")
	}
}

func (r *callRecord) ReadUUID(ctx context.Context) (thrift.Tuuid, error) {
	v, err := r.TProtocol.ReadUUID(ctx)
	if err == nil && !r.off() {
		r.scalar(v.String())
	}
	return v, err
}

// Skip renders a value the generated code skips (an unknown field) as …
func (r *callRecord) Skip(ctx context.Context, typ thrift.TType) error {
	if !r.off() && r.top() != nil {
		r.scalar("…")
	}
	return r.TProtocol.Skip(ctx, typ)
}

// ReadMessageEnd follows the arguments: a call without a Context is
// decided here, before it runs.
func (r *callRecord) ReadMessageEnd(ctx context.Context) error {
	r.decide()
	return r.TProtocol.ReadMessageEnd(ctx)
}
