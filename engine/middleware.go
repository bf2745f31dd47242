package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
)

// processFunc adapts a function to thrift.TProcessorFunction.
type processFunc func(ctx context.Context, seqID int32, in, out thrift.TProtocol) (bool, thrift.TException)

func (f processFunc) Process(ctx context.Context, seqID int32, in, out thrift.TProtocol) (bool, thrift.TException) {
	return f(ctx, seqID, in, out)
}

// middleware wraps one method's processor function.
type middleware func(name string, next thrift.TProcessorFunction) thrift.TProcessorFunction

// chain wraps every method of proc, first middleware outermost, into a new
// map; proc itself is left untouched.
func chain(proc thrift.TProcessor, mws ...middleware) map[string]thrift.TProcessorFunction {
	out := make(map[string]thrift.TProcessorFunction, len(proc.ProcessorMap()))
	for name, fn := range proc.ProcessorMap() {
		for i := len(mws) - 1; i >= 0; i-- {
			fn = mws[i](name, fn)
		}
		out[name] = fn
	}
	return out
}

// track runs a call under its deadline and counts it: calls, failures,
// latency from the call's first byte to its reply, slow calls. The call's
// context ends after call_timeout; the watchdog cancels it when it expires
// and returning cancels it too.
func (e *Engine) track(name string, next thrift.TProcessorFunction) thrift.TProcessorFunction {
	m := e.stats.Method(name)
	return processFunc(func(ctx context.Context, seqID int32, in, out thrift.TProtocol) (bool, thrift.TException) {
		gen := e.enterCall() // before the handler picks up any backend
		cfg := e.settings()
		s := sessionOf(ctx)
		start := s.busySince()
		call := newCallCtx(ctx, start.Add(cfg.CallTimeout))
		s.setCall(call)
		ok, err := next.Process(call, seqID, in, out)
		s.setCall(nil)
		call.cancel(context.Canceled)
		gen.leave()
		d := time.Since(start)
		m.Calls.Add(1)
		m.Latency.Observe(d)
		if err != nil {
			var te thrift.TException
			if errors.As(err, &te) && te.TExceptionType() == thrift.TExceptionTypeCompiled {
				m.Exceptions.Add(1)
			} else {
				m.Errors.Add(1)
			}
		}
		if cfg.SlowCall > 0 && d > cfg.SlowCall {
			e.log.Warn("slow call", "method", name, "duration", d, "client", clientOf(ctx), "error", err)
		}
		return ok, err
	})
}

// recoverer turns a panic in a call (decoding its arguments, running its
// handler, writing its reply) into an INTERNAL_ERROR reply for that call
// only; the session and the process go on. The engine's one other
// recover, in session.serve, catches a panic outside any call (reading a
// message header) and ends that session.
func (e *Engine) recoverer(name string, next thrift.TProcessorFunction) thrift.TProcessorFunction {
	return processFunc(func(ctx context.Context, seqID int32, in, out thrift.TProtocol) (ok bool, err thrift.TException) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			e.stats.Panics.Add(1)
			e.log.Error("call panicked", "method", name, "client", clientOf(ctx), "panic", v, "stack", string(debug.Stack()))
			msg := fmt.Sprintf("Internal error processing %s: panic: %v", name, v)
			ok, err = replyException(ctx, out, name, seqID, thrift.INTERNAL_ERROR, msg)
		}()
		return next.Process(ctx, seqID, in, out)
	})
}

// limitRate refuses calls over the client's rate with INTERNAL_ERROR; the
// arguments are skipped so the session stays in step. The limiter is the
// one in effect when the call arrives (nil: no limit).
func (e *Engine) limitRate(name string, next thrift.TProcessorFunction) thrift.TProcessorFunction {
	return processFunc(func(ctx context.Context, seqID int32, in, out thrift.TProtocol) (bool, thrift.TException) {
		client := clientOf(ctx)
		if limits := e.limits.Load(); limits == nil || limits.allow(client.ip()) {
			return next.Process(ctx, seqID, in, out)
		}
		e.stats.RateLimited.Add(1)
		if err := skipArgs(ctx, in); err != nil {
			return false, thrift.WrapTException(err)
		}
		msg := fmt.Sprintf("Internal error processing %s: rate limit exceeded for client %s", name, client.ip())
		return replyException(ctx, out, name, seqID, thrift.INTERNAL_ERROR, msg)
	})
}

// skipArgs consumes a call's argument struct without decoding it.
func skipArgs(ctx context.Context, in thrift.TProtocol) error {
	if err := in.Skip(ctx, thrift.STRUCT); err != nil {
		return err
	}
	return in.ReadMessageEnd(ctx)
}

// replyException writes a TApplicationException as the reply to seqID,
// dropping anything already written for this call. It reports whether the
// session can go on.
func replyException(ctx context.Context, out thrift.TProtocol, name string, seqID int32, typ int32, msg string) (bool, thrift.TException) {
	if t, ok := out.Transport().(*transport); ok {
		t.discardWrites()
	}
	x := thrift.NewTApplicationException(typ, msg)
	err := out.WriteMessageBegin(ctx, name, thrift.EXCEPTION, seqID)
	if err == nil {
		err = x.Write(ctx, out)
	}
	if err == nil {
		err = out.WriteMessageEnd(ctx)
	}
	if err == nil {
		err = out.Flush(ctx)
	}
	if err != nil {
		return false, thrift.WrapTException(err)
	}
	return true, x
}
