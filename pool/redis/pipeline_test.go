package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/faed/faed/pool/redis"
)

// Many concurrent callers share batches; each must get its own reply.
func TestPipelinedRepliesGoToTheirCallers(t *testing.T) {
	for _, lanes := range []int{0, 1, 4} {
		t.Run(fmt.Sprint("lanes=", lanes), func(t *testing.T) {
			ps, _, _ := startPools(t, func(c *redis.Config) { c.PipelineLanes = lanes })
			ctx := context.Background()
			prefix := fmt.Sprint("pipe:", time.Now().UnixNano(), ":")
			var wg sync.WaitGroup
			for g := range 32 {
				wg.Go(func() {
					for i := range 200 {
						k, v := fmt.Sprint(prefix, g, ":", i), fmt.Sprint("v", g*1000+i)
						if got, err := ps.Call(ctx, "default", "SET", []string{k, v}); err != nil || got != "OK" {
							t.Errorf("SET %s = %q, %v", k, got, err)
							return
						}
						if got, err := ps.Call(ctx, "default", "GET", []string{k}); err != nil || got != v {
							t.Errorf("GET %s = %q, %v; want %q", k, got, err, v)
							return
						}
						if _, err := ps.Call(ctx, "default", "GET", []string{k + ":missing"}); err == nil {
							t.Errorf("GET of a missing key succeeded")
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// A caller whose context ends leaves; the others in its batch are served.
func TestCancelledCallerDoesNotFailTheBatch(t *testing.T) {
	ps, _, _ := startPools(t, func(c *redis.Config) { c.PipelineLanes = 1 })
	prefix := fmt.Sprint("cancel:", time.Now().UnixNano(), ":")
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 100 {
				ctx, cancel := context.WithCancel(context.Background())
				if g%2 == 0 {
					cancel() // half the callers give up at once
				}
				_, err := ps.Call(ctx, "default", "SET", []string{fmt.Sprint(prefix, g, ":", i), "x"})
				cancel()
				if g%2 == 1 && err != nil {
					t.Errorf("live caller failed: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
