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
	// ErrNotBuilt: the servant exists in the contract but not yet in faed.
	ErrNotBuilt = errors.New("not built in this faed")
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

// unavailable answers calls of a part that is not built yet, after the same
// Context check every call gets.
func unavailable(c *rpc.Context, part string) error {
	if err := checkContext(c); err != nil {
		return err
	}
	return fmt.Errorf("%s: %w", part, ErrNotBuilt)
}

// cacheMissed is the declared exception for a cache miss.
func cacheMissed(key string) error {
	msg := "cache missed: " + key
	return &rpc.TCacheMissed{Message: &msg}
}
