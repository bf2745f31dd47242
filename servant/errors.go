package servant

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/proxy"
)

// How errors reach the wire, all of it in this file:
//   - the declared exceptions of the IDL are built here only (cacheMissed,
//     mongoNotFound);
//   - an owner's answer to a forwarded call is passed on here (peerError);
//   - every other error is a plain Go error; the generated processor turns
//     it into an INTERNAL_ERROR TApplicationException whose message is
//     "Internal error processing <method>: <error>", so the texts below
//     and the wrapped texts of the pools reach the client verbatim: nothing
//     here may rewrap or shorten them, since they carry what PHP code needs
//     to decide on a retry: "nothing was sent" (a refused connect, an open
//     breaker: safe to retry) or "outcome unknown" (sent, no reply: a write
//     may have been applied), and what happened ("no reply within
//     read_timeout 600ms", "connection refused").
// What is an answer rather than an error is decided by each method: a
// memcache miss or "not stored" is false (see answered), cb_get's miss is
// a result with missed set. rd_call's reply rules (nil as "", Redis error
// replies as errors) belong to the Redis protocol and live in pool/redis.

// Sentinel errors of the servant layer.
var (
	// ErrInvalidContext: rid == 0 or an empty reason. The text starts as
	// the older daemon's did, for PHP code that matches on it.
	ErrInvalidContext = errors.New("Svt: invalid context")
	// ErrNotConfigured: the backend section the call needs is absent.
	ErrNotConfigured = errors.New("not configured")
)

// checkContext enforces the Context contract: rid != 0 and a reason.
// A missing uid is accepted (old clients omit it).
func checkContext(c *rpc.Context) error {
	switch {
	case c == nil:
		return fmt.Errorf("%w: context missing", ErrInvalidContext)
	case c.Rid == 0:
		return fmt.Errorf("%w: rid is 0", ErrInvalidContext)
	case c.Reason == "":
		return fmt.Errorf("%w: reason is empty", ErrInvalidContext)
	}
	return nil
}

// Texts of a cache miss as the older daemon wrote them; the key follows.
const (
	lcacheMissed   = "lcache missed"
	memcacheMissed = "memcache: cache miss"
)

// cacheMissed is the declared exception for a cache miss: the older text,
// then the key.
func cacheMissed(text, key string) error {
	msg := text + ": " + key
	return &rpc.TCacheMissed{Message: &msg}
}

// mongoNotFound is the declared exception for a document not found.
func mongoNotFound(err error) error {
	msg := err.Error()
	return &rpc.TMongoNotFound{Message: &msg}
}

// peerError passes the owner's answer on. Declared exceptions go as they
// are; the owner's INTERNAL_ERROR loses its "Internal error processing m: "
// prefix (this node's processor adds it again) and names the owner.
func peerError(addr string, err error) error {
	var ae thrift.TApplicationException
	switch {
	case err == nil, errors.Is(err, proxy.ErrUnreachable):
		return err
	case errors.As(err, &ae) && ae.TypeId() == thrift.INTERNAL_ERROR:
		msg := ae.Error()
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "Internal error processing ") {
			msg = msg[i+2:]
		}
		return fmt.Errorf("%s (on owner %s)", msg, addr)
	}
	return err
}
