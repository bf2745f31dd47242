// Package calltrace carries a traced call's recorder from the engine down
// to the pools, which note on it the backend server they picked. An
// untraced call carries none, and noting costs one context lookup and no
// allocation.
package calltrace

import (
	"context"
	"fmt"
)

// Recorder is told every backend server a traced call used.
type Recorder interface {
	// Backend notes one server of kind (redis, memcache, mysql, mongo).
	// It may be called from several goroutines of one call.
	Backend(kind, server string)
}

type key struct{}

// Key is the context key a Recorder is found under: a context type of
// its own that carries a recorder answers Value(Key()) with it.
func Key() any { return key{} }

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r Recorder) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// Backend notes server on ctx's recorder, if the call is traced.
func Backend(ctx context.Context, kind, server string) {
	if r, ok := ctx.Value(key{}).(Recorder); ok {
		r.Backend(kind, server)
	}
}

// BackendAddr is Backend for an address value (a net.Addr, say): its
// String is made only for a traced call.
func BackendAddr(ctx context.Context, kind string, addr fmt.Stringer) {
	if r, ok := ctx.Value(key{}).(Recorder); ok {
		r.Backend(kind, addr.String())
	}
}
