package memcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/pool/memcache"
)

// Concurrent gets share multi-gets; each caller gets its own value, and a
// missing key stays a miss.
func TestBatchedGetsGoToTheirCallers(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{Memcached: []int{21321}})
	for _, lanes := range []int{0, 1, 4} {
		t.Run(fmt.Sprint("lanes=", lanes), func(t *testing.T) {
			cfg := memcache.DefaultConfig()
			cfg.Servers, cfg.GetLanes = sv.Memcached, lanes
			ps, err := memcache.New(map[string]memcache.Config{"p": cfg})
			if err != nil {
				t.Fatal(err)
			}
			defer ps.Close()
			ctx := context.Background()
			prefix := fmt.Sprint("batch:", time.Now().UnixNano(), ":")
			var wg sync.WaitGroup
			for g := range 32 {
				wg.Go(func() {
					for i := range 100 {
						k, v := fmt.Sprint(prefix, g, ":", i), fmt.Sprint("v", g*1000+i)
						if err := ps.Set(ctx, "p", k, memcache.Item{Value: []byte(v), Flags: uint32(i)}, 0); err != nil {
							t.Error(err)
							return
						}
						it, err := ps.Get(ctx, "p", k)
						if err != nil || string(it.Value) != v || it.Flags != uint32(i) {
							t.Errorf("get %s = %q/%d, %v; want %q", k, it.Value, it.Flags, err, v)
							return
						}
						if _, err := ps.Get(ctx, "p", k+":missing"); !errors.Is(err, memcache.ErrMiss) {
							t.Errorf("missing key: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
