package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partMongo = "mongodb"

// MgFindOne is not built yet.
func (s *Servant) MgFindOne(_ context.Context, c *rpc.Context, _, _ string, _ int32, _, _ []byte) ([]byte, error) {
	return nil, unavailable(c, partMongo)
}

// MgFindAll is not built yet.
func (s *Servant) MgFindAll(_ context.Context, c *rpc.Context, _, _ string, _ int32, _, _ []byte, _, _ int32, _ []string) ([][]byte, error) {
	return nil, unavailable(c, partMongo)
}

// MgFindID is not built yet.
func (s *Servant) MgFindID(_ context.Context, c *rpc.Context, _, _ string, _ int32, _ []byte) ([]byte, error) {
	return nil, unavailable(c, partMongo)
}

// MgCount is not built yet.
func (s *Servant) MgCount(_ context.Context, c *rpc.Context, _, _ string, _ int32, _ []byte) (int32, error) {
	return 0, unavailable(c, partMongo)
}

// MgUpdate is not built yet.
func (s *Servant) MgUpdate(_ context.Context, c *rpc.Context, _, _ string, _ int32, _, _ []byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgUpdateID is not built yet.
func (s *Servant) MgUpdateID(_ context.Context, c *rpc.Context, _, _ string, _, _ int32, _ []byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgUpsert is not built yet.
func (s *Servant) MgUpsert(_ context.Context, c *rpc.Context, _, _ string, _ int32, _, _ []byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgUpsertID is not built yet.
func (s *Servant) MgUpsertID(_ context.Context, c *rpc.Context, _, _ string, _, _ int32, _ []byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgInsert is not built yet.
func (s *Servant) MgInsert(_ context.Context, c *rpc.Context, _, _ string, _ int32, _ []byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgInserts is not built yet.
func (s *Servant) MgInserts(_ context.Context, c *rpc.Context, _, _ string, _ int32, _ [][]byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgDelete is not built yet.
func (s *Servant) MgDelete(_ context.Context, c *rpc.Context, _, _ string, _ int32, _ []byte) (bool, error) {
	return false, unavailable(c, partMongo)
}

// MgFindAndModify is not built yet.
func (s *Servant) MgFindAndModify(_ context.Context, c *rpc.Context, _, _ string, _ int32, _, _ []byte, _, _, _ bool) ([]byte, error) {
	return nil, unavailable(c, partMongo)
}
