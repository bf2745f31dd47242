package servant

import (
	"context"

	"github.com/faed/faed/idl/fun/rpc"
)

const partCouchbase = "couchbase (memcache buckets)"

// CbDel is not built yet.
func (s *Servant) CbDel(_ context.Context, c *rpc.Context, _, _ string) (bool, error) {
	return false, unavailable(c, partCouchbase)
}

// CbAppend is not built yet.
func (s *Servant) CbAppend(_ context.Context, c *rpc.Context, _, _ string, _ []byte) error {
	return unavailable(c, partCouchbase)
}

// CbAdd is not built yet.
func (s *Servant) CbAdd(_ context.Context, c *rpc.Context, _, _ string, _ []byte, _ int32) (bool, error) {
	return false, unavailable(c, partCouchbase)
}

// CbSet is not built yet.
func (s *Servant) CbSet(_ context.Context, c *rpc.Context, _, _ string, _ []byte, _ int32) error {
	return unavailable(c, partCouchbase)
}

// CbGet is not built yet.
func (s *Servant) CbGet(_ context.Context, c *rpc.Context, _, _ string) (*rpc.TCouchbaseData, error) {
	return nil, unavailable(c, partCouchbase)
}

// CbGets is not built yet.
func (s *Servant) CbGets(_ context.Context, c *rpc.Context, _ string, _ []string) (map[string][]byte, error) {
	return nil, unavailable(c, partCouchbase)
}
