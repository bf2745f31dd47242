package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
)

const partRedis = "redis"

// RedisPools is what rd_call needs of pool/redis.
type RedisPools interface {
	Call(ctx context.Context, pool, cmd string, keysAndArgs []string) (string, error)
}

// RdCall runs cmd with keysAndArgs on the server of pool that owns
// keysAndArgs[0] and returns the reply as a string (see pool/redis).
func (s *Servant) RdCall(ctx context.Context, c *rpc.Context, cmd, pool string, keysAndArgs []string) (string, error) {
	if err := checkContext(c); err != nil {
		return "", err
	}
	rd := s.backend().Redis
	if rd == nil {
		return "", fmt.Errorf("%s: %w", partRedis, ErrNotConfigured)
	}
	return rd.Call(ctx, pool, cmd, keysAndArgs)
}
