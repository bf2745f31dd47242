package main

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/faed/faed/config"
	"github.com/faed/faed/pool/memcache"
	"github.com/faed/faed/pool/mongo"
	"github.com/faed/faed/pool/mysql"
	"github.com/faed/faed/pool/redis"
	"github.com/faed/faed/servant"
)

// backends are the backend pools in use and the config in effect: what a
// reload replaces as one value.
type backends struct {
	cfg      config.Config
	redis    *redis.Pools
	memcache *memcache.Pools
	mysql    *mysql.Pools
	mongo    *mongo.Pools
}

// newBackends builds every pool of cfg; on an error, what was built is
// closed again.
func newBackends(cfg config.Config, log *slog.Logger) (_ *backends, err error) {
	b := &backends{cfg: cfg}
	defer func() {
		if err != nil {
			b.close(log)
		}
	}()
	if b.redis, err = redis.New(cfg.Redis); err != nil {
		return nil, err
	}
	if b.memcache, err = memcache.New(cfg.Memcache); err != nil {
		return nil, err
	}
	if b.mysql, err = mysql.New(cfg.MySQL, log); err != nil {
		return nil, err
	}
	if b.mongo, err = mongo.New(cfg.Mongo); err != nil {
		return nil, err
	}
	return b, nil
}

// rebuild builds the backends of cfg (a reload's Reload.Next), given the
// sections changed says differ. An unchanged kind keeps its pools as they
// are; a changed one is rebuilt by its package, which keeps the pools or
// servers whose own settings are the same. retired holds what next no
// longer uses, to close once no call uses it. On an error nothing is
// changed: what was built is closed again.
func (b *backends) rebuild(cfg config.Config, changed []string, log *slog.Logger) (next, retired *backends, err error) {
	n := &backends{cfg: cfg, redis: b.redis, memcache: b.memcache, mysql: b.mysql, mongo: b.mongo}
	r := &backends{}
	defer func() {
		if err != nil {
			n.abandon(b)
		}
	}()
	if kindChanged(changed, "redis") {
		if n.redis, r.redis, err = b.redis.Rebuild(cfg.Redis); err != nil {
			return nil, nil, err
		}
	}
	if kindChanged(changed, "memcache") {
		if n.memcache, r.memcache, err = b.memcache.Rebuild(cfg.Memcache); err != nil {
			return nil, nil, err
		}
	}
	if kindChanged(changed, "mysql") {
		if n.mysql, r.mysql, err = b.mysql.Rebuild(cfg.MySQL, log); err != nil {
			return nil, nil, err
		}
	}
	if kindChanged(changed, "mongo") {
		if n.mongo, r.mongo, err = b.mongo.Rebuild(cfg.Mongo); err != nil {
			return nil, nil, err
		}
	}
	return n, r, nil
}

// abandon closes what b (a rebuild of old) built and old does not share:
// for a rebuild that is not swapped in. A kind whose rebuild failed is nil
// here and has closed its own.
func (b *backends) abandon(old *backends) {
	if b.redis != nil && b.redis != old.redis {
		b.redis.Abandon(old.redis)
	}
	if b.memcache != nil && b.memcache != old.memcache {
		b.memcache.Abandon(old.memcache)
	}
	if b.mysql != nil && b.mysql != old.mysql {
		b.mysql.Abandon(old.mysql)
	}
	if b.mongo != nil && b.mongo != old.mongo {
		b.mongo.Abandon(old.mongo)
	}
}

// kindChanged: a section of kind ("redis" for [redis.NAME]) is in changed.
func kindChanged(changed []string, kind string) bool {
	return slices.ContainsFunc(changed, func(s string) bool { return s == kind || strings.HasPrefix(s, kind+".") })
}

// parts is b as the servant's backends; a kind with no servers
// configured is nil, so its calls say it is not configured.
func (b *backends) parts() servant.Backends {
	return servant.Backends{
		Redis:    part[servant.RedisPools](b.redis, len(b.cfg.Redis) > 0),
		Memcache: part[servant.MemcachePools](b.memcache, len(b.cfg.Memcache) > 0),
		MySQL:    part[servant.MySQLPools](mysqlPools{b.mysql}, len(b.cfg.MySQL.Servers) > 0),
		Mongo:    part[servant.MongoPools](mongoPools{b.mongo}, len(b.cfg.Mongo.Servers) > 0),
	}
}

// close closes every pool b holds; pools not built are nil and skipped.
func (b *backends) close(log *slog.Logger) {
	warn := func(what string, err error) {
		if err != nil {
			log.Warn("closing "+what, "error", err)
		}
	}
	if b.redis != nil {
		warn("redis pools", b.redis.Close())
	}
	if b.memcache != nil {
		b.memcache.Close()
	}
	if b.mysql != nil {
		warn("mysql pools", b.mysql.Close()) // open transactions keep their connection until they end
	}
	if b.mongo != nil {
		warn("mongodb pools", b.mongo.Close())
	}
}
