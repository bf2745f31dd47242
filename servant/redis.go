package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partRedis = "redis"

// RdCall is not built yet.
func (s *Servant) RdCall(_ context.Context, c *rpc.Context, _, _ string, _ []string) (string, error) {
	return "", unavailable(c, partRedis)
}
