package servant

import (
	"context"
	"fmt"

	"github.com/faed/faed/idl/fun/rpc"
)

// Noop returns its argument untouched: a throughput probe with no context.
func (s *Servant) Noop(_ context.Context, x int32) (int32, error) {
	return x, nil
}

// Ping reports version, build, worker id and uptime.
func (s *Servant) Ping(_ context.Context, c *rpc.Context) (string, error) {
	if err := checkContext(c); err != nil {
		return "", err
	}
	up := s.now().Sub(s.info.Started) // a Go duration to the nanosecond, as the older daemon printed it
	worker := s.info.WorkerID
	if s.ids != nil {
		worker = s.ids.Worker() // leased in a cluster; -1 while lapsed
	}
	return fmt.Sprintf("ver:%s, build:%s, myid:%d, uptime:%s",
		s.info.Version, s.info.Build, worker, up), nil
}
