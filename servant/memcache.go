package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partMemcache = "memcache"

// McSet is not built yet.
func (s *Servant) McSet(_ context.Context, c *rpc.Context, _, _ string, _ *rpc.TMemcacheData, _ int32) (bool, error) {
	return false, unavailable(c, partMemcache)
}

// McGet is not built yet.
func (s *Servant) McGet(_ context.Context, c *rpc.Context, _, _ string) (*rpc.TMemcacheData, error) {
	return nil, unavailable(c, partMemcache)
}

// McAdd is not built yet.
func (s *Servant) McAdd(_ context.Context, c *rpc.Context, _, _ string, _ *rpc.TMemcacheData, _ int32) (bool, error) {
	return false, unavailable(c, partMemcache)
}

// McDelete is not built yet.
func (s *Servant) McDelete(_ context.Context, c *rpc.Context, _, _ string) (bool, error) {
	return false, unavailable(c, partMemcache)
}

// McIncrement is not built yet.
func (s *Servant) McIncrement(_ context.Context, c *rpc.Context, _, _ string, _ int64) (int64, error) {
	return 0, unavailable(c, partMemcache)
}
