package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partLock = "locks"

// Lock is not built yet.
func (s *Servant) Lock(_ context.Context, c *rpc.Context, _, _ string) (bool, error) {
	return false, unavailable(c, partLock)
}

// Unlock is not built yet.
func (s *Servant) Unlock(_ context.Context, c *rpc.Context, _, _ string) error {
	return unavailable(c, partLock)
}
