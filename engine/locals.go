package engine

import (
	"context"
	"io"
	"sync/atomic"
)

// Locals is what handlers keep for the life of one client connection, such
// as a database transaction pinned to it. Each value is closed when the
// connection ends, however it ends, after its last call has returned.
// Calls of one connection run one at a time on its session goroutine, so
// Locals needs no lock.
type Locals struct {
	m    map[any]io.Closer
	held atomic.Bool // m is not empty; read by the accept side (makeRoom)
}

// LocalsOf returns the calling connection's Locals, or nil outside a
// session.
func LocalsOf(ctx context.Context) *Locals {
	if s := sessionOf(ctx); s != nil {
		return &s.locals
	}
	return nil
}

// Get returns the value stored under key, or nil.
func (l *Locals) Get(key any) io.Closer { return l.m[key] }

// Set stores v under key until the connection ends; a nil v removes the
// key without closing what it held.
func (l *Locals) Set(key any, v io.Closer) {
	defer func() { l.held.Store(len(l.m) > 0) }()
	if v == nil {
		delete(l.m, key)
		return
	}
	if l.m == nil {
		l.m = map[any]io.Closer{}
	}
	l.m[key] = v
}

// closeAll closes every value; the session calls it once, when it ends.
func (l *Locals) closeAll() {
	for k, v := range l.m {
		_ = v.Close()
		delete(l.m, k)
	}
}
