package main

import (
	"context"
	"fmt"
	"strings"

	gomc "github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"
)

// directGet is one worker's GET sent straight to a backend, bypassing faed:
// the baseline of the rd_get and mc_get runs. i picks the key.
type directGet func(i int) error

// newDirect builds a client for kind ("redis" or "memcache") at addr,
// stores every worker's keys (the values faed's rd_set/mc_set store), and
// returns one GET function per worker plus a close function.
func newDirect(kind, addr string, workers int) ([]directGet, func(), error) {
	value := strings.Repeat("v", 100)
	gets := make([]directGet, workers)
	switch kind {
	case "redis":
		c := goredis.NewClient(&goredis.Options{Addr: addr, Protocol: 2, PoolSize: workers, MaxRetries: -1, DisableIdentity: true})
		ctx := context.Background()
		for w := range workers {
			for i := range keyPool {
				if err := c.Set(ctx, key(w, i), value, 0).Err(); err != nil {
					c.Close()
					return nil, nil, fmt.Errorf("redis setup: %w", err)
				}
			}
			gets[w] = func(i int) error { return c.Get(ctx, key(w, i)).Err() }
		}
		return gets, func() { c.Close() }, nil
	case "memcache":
		c := gomc.New(addr)
		c.MaxIdleConns, c.Timeout = workers, callTimeout
		for w := range workers {
			for i := range keyPool {
				if err := c.Set(&gomc.Item{Key: key(w, i), Value: []byte(value)}); err != nil {
					return nil, nil, fmt.Errorf("memcache setup: %w", err)
				}
			}
			gets[w] = func(i int) error { _, err := c.Get(key(w, i)); return err }
		}
		return gets, func() {}, nil
	}
	return nil, nil, fmt.Errorf("%w: -direct %q, want redis or memcache", errUsage, kind)
}
