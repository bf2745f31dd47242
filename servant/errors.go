package servant

import (
	"errors"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
)

// Sentinel errors of the servant layer. The generated processor turns any
// error that is not a declared exception into an INTERNAL_ERROR
// TApplicationException whose message is "Internal error processing
// <method>: <error>", so these texts reach the client verbatim.
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
