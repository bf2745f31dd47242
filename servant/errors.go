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
	// ErrInvalidContext: rid == 0 or an empty reason.
	ErrInvalidContext = errors.New("invalid context")
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

// cacheMissed is the declared exception for a cache miss.
func cacheMissed(key string) error {
	msg := "cache missed: " + key
	return &rpc.TCacheMissed{Message: &msg}
}
