package config

import (
	"fmt"

	"github.com/BurntSushi/toml"
	"github.com/faed/faed/pool/memcache"
	"github.com/faed/faed/pool/redis"
)

// poolTables re-decodes the named-pool sections ([redis.NAME] and the
// like) so that every pool starts from its package's defaults: a plain
// decode into a map would leave unset fields at zero.
type poolTables struct {
	Redis    map[string]toml.Primitive `toml:"redis"`
	Memcache map[string]toml.Primitive `toml:"memcache"`
}

func applyPoolDefaults(data string, cfg *Config) error {
	var raw poolTables
	md, err := toml.Decode(data, &raw)
	if err != nil {
		return err
	}
	if cfg.Redis, err = decodePools(md, raw.Redis, redis.DefaultConfig); err != nil {
		return fmt.Errorf("redis.%w", err)
	}
	if cfg.Memcache, err = decodePools(md, raw.Memcache, memcache.DefaultConfig); err != nil {
		return fmt.Errorf("memcache.%w", err)
	}
	return nil
}

func decodePools[T any](md toml.MetaData, prims map[string]toml.Primitive, def func() T) (map[string]T, error) {
	out := make(map[string]T, len(prims))
	for name, prim := range prims {
		v := def()
		if err := md.PrimitiveDecode(prim, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}
