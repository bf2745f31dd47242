package memcache

import (
	"context"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/faed/faed/pool/batch"
	"github.com/faed/faed/pool/breaker"
)

// maxGetBatch bounds the keys of one multi-get.
const maxGetBatch = 128

// newGetBatcher turns a server's concurrent gets into one multi-get ("get
// k1 k2 ..."): one round trip for many calls.
func newGetBatcher(c *memcache.Client, b *breaker.Breaker, lanes int) *batch.Batcher[string, *memcache.Item] {
	return batch.New(batch.Config[string, *memcache.Item]{
		Lanes: lanes,
		Max:   maxGetBatch,
		Direct: func(ctx context.Context, key string) (*memcache.Item, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var it *memcache.Item
			err := b.Do(func() (err error) { it, err = c.Get(key); return err })
			return it, err
		},
		Send: func(calls []*batch.Call[string, *memcache.Item]) {
			keys := make([]string, 0, len(calls))
			for _, call := range calls {
				keys = append(keys, call.Req)
			}
			var got map[string]*memcache.Item
			err := b.Do(func() (err error) { got, err = c.GetMulti(keys); return err })
			for _, call := range calls {
				switch it, ok := got[call.Req]; {
				case err != nil:
					call.Err = err
				case ok:
					call.Resp = it
				default:
					call.Err = memcache.ErrCacheMiss
				}
			}
		},
	})
}
