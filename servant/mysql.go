package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partMySQL = "mysql"

// MyBulkExec is not built yet.
func (s *Servant) MyBulkExec(_ context.Context, c *rpc.Context, _, _ []string, _ []int64, _ []string, _ [][]string, _ []string) (int64, error) {
	return 0, unavailable(c, partMySQL)
}

// MyQuery is not built yet.
func (s *Servant) MyQuery(_ context.Context, c *rpc.Context, _, _ string, _ int64, _ string, _ []string, _ string) (*rpc.MysqlResult_, error) {
	return nil, unavailable(c, partMySQL)
}

// MyQueryShards is not built yet.
func (s *Servant) MyQueryShards(_ context.Context, c *rpc.Context, _, _, _ string, _ []string) (*rpc.MysqlResult_, error) {
	return nil, unavailable(c, partMySQL)
}

// MyMerge is not built yet.
func (s *Servant) MyMerge(_ context.Context, c *rpc.Context, _, _ string, _ int64, _, _, _, _ string) (*rpc.MysqlMergeResult_, error) {
	return nil, unavailable(c, partMySQL)
}

// MyEvict is not built yet.
func (s *Servant) MyEvict(_ context.Context, c *rpc.Context, _ string) error {
	return unavailable(c, partMySQL)
}
