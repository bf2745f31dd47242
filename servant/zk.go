package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partZK = "zookeeper"

// ZkCreate is not built yet.
func (s *Servant) ZkCreate(_ context.Context, c *rpc.Context, _, _ string) (bool, error) {
	return false, unavailable(c, partZK)
}

// ZkChildren is not built yet.
func (s *Servant) ZkChildren(_ context.Context, c *rpc.Context, _ string) ([]string, error) {
	return nil, unavailable(c, partZK)
}

// ZkDel is not built yet.
func (s *Servant) ZkDel(_ context.Context, c *rpc.Context, _ string) (bool, error) {
	return false, unavailable(c, partZK)
}
