package servant

import (
	"context"
	"errors"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/proxy"
)

// Keyed methods: the calls a cluster runs on the node that owns their key.
const (
	methodLcGet        = "lc_get"
	methodLcSet        = "lc_set"
	methodLcDel        = "lc_del"
	methodLock         = "lock"
	methodUnlock       = "unlock"
	methodLockFenced   = "lock_fenced"
	methodUnlockFenced = "unlock_fenced"
	methodMyQuery      = "my_query"
	methodMyEvict      = "my_evict"
	methodMyMerge      = "my_merge"
)

// onUnreachable is what a keyed call gets when its owner cannot be called.
type onUnreachable int

const (
	// failUnreachable: a clear error. The owner holds what the call is
	// about (a lock, a cached entry to evict); granting or evicting here
	// would be a lie.
	failUnreachable onUnreachable = iota
	// missUnreachable: a cache miss; the caller recomputes the value as
	// after an eviction.
	missUnreachable
	// runHereUnreachable: the call runs on this node without the owner's
	// cache (a read reads the database; a write must not be lost).
	runHereUnreachable
)

// keyPolicy is one row of the routing table.
type keyPolicy struct {
	// key names the argument that picks the owner.
	key string
	// cacheMode: routed only in cluster cache mode (one lc_* cache for
	// the cluster); otherwise every node keeps its own.
	cacheMode   bool
	unreachable onUnreachable
}

// routing is the cluster routing policy of every keyed method, in one
// place. A method routes only when its key argument is set, and my_query
// only when it may use the query cache (see myRouteKey).
func routing(method string) keyPolicy {
	switch method {
	case methodLcGet:
		return keyPolicy{key: "key", cacheMode: true, unreachable: missUnreachable}
	case methodLcSet, methodLcDel:
		return keyPolicy{key: "key", cacheMode: true, unreachable: failUnreachable}
	case methodLock, methodUnlock, methodLockFenced, methodUnlockFenced:
		return keyPolicy{key: "key", unreachable: failUnreachable}
	case methodMyQuery:
		return keyPolicy{key: "cacheKey", unreachable: runHereUnreachable}
	case methodMyEvict:
		return keyPolicy{key: "cacheKey", unreachable: failUnreachable}
	case methodMyMerge:
		return keyPolicy{key: "key", unreachable: failUnreachable}
	}
	return keyPolicy{unreachable: failUnreachable} // not a keyed method: the routing test lists them all
}

// routed is where a keyed call was answered.
type routed int

const (
	// routeLocal: this node owns the key (or the call came sticky, or there
	// is no cluster): the method runs its local code.
	routeLocal routed = iota
	// routeAnswered: the owner answered, or the unreachable policy did.
	routeAnswered
	// routeDegraded: the owner is out of reach and the policy says run here
	// without its cache.
	routeDegraded
)

// keyed is the one way a keyed call reaches its owner. The method has
// checked its arguments already (every keyed method checks before it
// routes). A call that arrives sticky was forwarded by a peer and always
// runs here, so a call is forwarded at most once even when two nodes'
// views disagree. call runs the same method on the owner's client, with
// the caller's Context marked sticky.
func keyed[T any](ctx context.Context, s *Servant, c *rpc.Context, method, key string,
	call func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (T, error)) (T, routed, error) {
	var out T
	pol := routing(method)
	addr := s.ownerOf(c, key, pol)
	if addr == "" {
		return out, routeLocal, nil
	}
	sc := *c
	sc.Sticky = thrift.BoolPtr(true)
	s.cstats.Forwarded.Add(1)
	err := s.cluster.Call(ctx, addr, func(ctx context.Context, cl rpc.FunServant) (err error) {
		out, err = call(ctx, cl, &sc)
		return err
	})
	if !errors.Is(err, proxy.ErrUnreachable) {
		return out, routeAnswered, peerError(addr, err)
	}
	switch pol.unreachable {
	case missUnreachable:
		s.cstats.Degraded.Add(1)
		return out, routeAnswered, cacheMissed(lcacheMissed, key)
	case runHereUnreachable:
		s.cstats.Degraded.Add(1)
		return out, routeDegraded, nil
	}
	return out, routeAnswered, err
}

// keyedErr is keyed for methods that return nothing.
func keyedErr(ctx context.Context, s *Servant, c *rpc.Context, method, key string,
	call func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) error) (routed, error) {
	_, r, err := keyed(ctx, s, c, method, key, func(ctx context.Context, cl rpc.FunServant, c *rpc.Context) (struct{}, error) {
		return struct{}{}, call(ctx, cl, c)
	})
	return r, err
}

// ownerOf is the owner's address, or "" when the call runs here.
func (s *Servant) ownerOf(c *rpc.Context, key string, pol keyPolicy) string {
	if key == "" || s.cluster == nil || c.GetSticky() || (pol.cacheMode && !s.routeLC) {
		return ""
	}
	if addr, local := s.cluster.Owner(key); !local {
		return addr
	}
	return ""
}
