package servant

import (
	"context"
	"errors"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/pool/memcache"
)

// cb_* are served by the memcache pool named by bucket: a couchbase bucket
// speaks the memcached protocol.
const partCouchbase = "couchbase (memcache pool named by the bucket)"

// CbDel removes key; false when it was absent.
func (s *Servant) CbDel(ctx context.Context, c *rpc.Context, bucket, key string) (bool, error) {
	mc, err := s.memcache(c, partCouchbase)
	if err != nil {
		return false, err
	}
	return answered(mc.Delete(ctx, bucket, key), memcache.ErrMiss)
}

// CbAppend appends val to key's value; a missing key is an error.
func (s *Servant) CbAppend(ctx context.Context, c *rpc.Context, bucket, key string, val []byte) error {
	mc, err := s.memcache(c, partCouchbase)
	if err != nil {
		return err
	}
	return mc.Append(ctx, bucket, key, val)
}

// CbAdd stores val only if key is absent; false when it exists.
func (s *Servant) CbAdd(ctx context.Context, c *rpc.Context, bucket, key string, val []byte, expire int32) (bool, error) {
	mc, err := s.memcache(c, partCouchbase)
	if err != nil {
		return false, err
	}
	return answered(mc.Add(ctx, bucket, key, memcache.Item{Value: val}, expire), memcache.ErrNotStored)
}

// CbSet stores val under key.
func (s *Servant) CbSet(ctx context.Context, c *rpc.Context, bucket, key string, val []byte, expire int32) error {
	mc, err := s.memcache(c, partCouchbase)
	if err != nil {
		return err
	}
	return mc.Set(ctx, bucket, key, memcache.Item{Value: val}, expire)
}

// CbGet returns {missed: true} for a missing key.
func (s *Servant) CbGet(ctx context.Context, c *rpc.Context, bucket, key string) (*rpc.TCouchbaseData, error) {
	mc, err := s.memcache(c, partCouchbase)
	if err != nil {
		return nil, err
	}
	it, err := mc.Get(ctx, bucket, key)
	switch {
	case errors.Is(err, memcache.ErrMiss):
		return &rpc.TCouchbaseData{Missed: true, Data: []byte{}}, nil
	case err != nil:
		return nil, err
	}
	return &rpc.TCouchbaseData{Data: it.Value}, nil
}

// CbGets returns the keys found; missing keys are left out.
func (s *Servant) CbGets(ctx context.Context, c *rpc.Context, bucket string, keys []string) (map[string][]byte, error) {
	mc, err := s.memcache(c, partCouchbase)
	if err != nil {
		return nil, err
	}
	items, err := mc.GetMulti(ctx, bucket, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(items))
	for k, it := range items {
		out[k] = it.Value
	}
	return out, nil
}
