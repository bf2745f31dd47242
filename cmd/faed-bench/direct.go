package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	gomc "github.com/bradfitz/gomemcache/memcache"
	"github.com/go-sql-driver/mysql"
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
	case "mysql":
		return newDirectMySQL(addr, workers)
	}
	return nil, nil, fmt.Errorf("%w: -direct %q, want redis, memcache or mysql", errUsage, kind)
}

// newDirectMySQL runs my_hit/my_miss's SELECT through go-sql-driver at dsn
// (e.g. faed:faed@tcp(127.0.0.1:13306)/faed_global), with the settings faed
// uses (placeholders interpolated: one round trip), reading every value as
// faed does.
func newDirectMySQL(dsn string, workers int) ([]directGet, func(), error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: -direct mysql needs a DSN in -addr: %w", errUsage, err)
	}
	cfg.InterpolateParams = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(workers)
	db.SetMaxIdleConns(workers)
	gets := make([]directGet, workers)
	for w := range workers {
		gets[w] = func(i int) error {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			rows, err := db.QueryContext(ctx, myDocSQL, strconv.Itoa((w*97+i)%keyPool+1))
			if err != nil {
				return err
			}
			defer rows.Close()
			var id, data sql.RawBytes
			n := 0
			for rows.Next() {
				if err := rows.Scan(&id, &data); err != nil {
					return err
				}
				_, _ = string(id), string(data)
				n++
			}
			if n != 1 {
				return fmt.Errorf("%d rows, want 1", n)
			}
			return rows.Err()
		}
	}
	return gets, func() { db.Close() }, nil
}
