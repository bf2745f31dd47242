package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partLocalCache = "local cache"

// LcSet is not built yet.
func (s *Servant) LcSet(_ context.Context, c *rpc.Context, _ string, _ []byte) (bool, error) {
	return false, unavailable(c, partLocalCache)
}

// LcGet is not built yet.
func (s *Servant) LcGet(_ context.Context, c *rpc.Context, _ string) ([]byte, error) {
	return nil, unavailable(c, partLocalCache)
}

// LcDel is not built yet.
func (s *Servant) LcDel(_ context.Context, c *rpc.Context, _ string) error {
	return unavailable(c, partLocalCache)
}
