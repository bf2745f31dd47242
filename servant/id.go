package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
)

const partID = "id generator"

// IDNext is not built yet.
func (s *Servant) IDNext(_ context.Context, c *rpc.Context) (int64, error) {
	return 0, unavailable(c, partID)
}

// IDNextWithTag is not built yet.
func (s *Servant) IDNextWithTag(_ context.Context, c *rpc.Context, _ int16) (int64, error) {
	return 0, unavailable(c, partID)
}

// IDDecode is not built yet. It skips the Context check (SPEC §1).
func (s *Servant) IDDecode(_ context.Context, _ *rpc.Context, _ int64) ([]int64, error) {
	return nil, fmt.Errorf("%s: %w", partID, ErrNotBuilt)
}
