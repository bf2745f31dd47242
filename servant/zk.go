package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
)

const partZK = "zookeeper"

func (s *Servant) zk(c *rpc.Context) (Coordinator, error) {
	if err := checkContext(c); err != nil {
		return nil, err
	}
	if s.coord == nil {
		return nil, fmt.Errorf("%s: %w", partZK, ErrNotConfigured)
	}
	return s.coord, nil
}

// ZkCreate creates a persistent node holding data (missing parents too).
// An existing node and faed's own trees are errors.
func (s *Servant) ZkCreate(_ context.Context, c *rpc.Context, path, data string) (bool, error) {
	zk, err := s.zk(c)
	if err != nil {
		return false, err
	}
	if err := zk.Create(path, []byte(data)); err != nil {
		return false, fmt.Errorf("%s: create %q: %w", partZK, path, err)
	}
	return true, nil
}

// ZkChildren lists a node's children, sorted.
func (s *Servant) ZkChildren(_ context.Context, c *rpc.Context, path string) ([]string, error) {
	zk, err := s.zk(c)
	if err != nil {
		return nil, err
	}
	out, err := zk.Children(path)
	if err != nil {
		return nil, fmt.Errorf("%s: children of %q: %w", partZK, path, err)
	}
	return out, nil
}

// ZkDel deletes a node without children. A missing node and faed's own
// trees are errors.
func (s *Servant) ZkDel(_ context.Context, c *rpc.Context, path string) (bool, error) {
	zk, err := s.zk(c)
	if err != nil {
		return false, err
	}
	if err := zk.Delete(path); err != nil {
		return false, fmt.Errorf("%s: delete %q: %w", partZK, path, err)
	}
	return true, nil
}
