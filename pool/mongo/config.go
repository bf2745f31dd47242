package mongo

import (
	"errors"
	"fmt"
	"time"

	"github.com/faed/faed/pool/breaker"
)

// Config is the [mongo] section.
type Config struct {
	// Servers by name; mg_* name one through pool and shardId (see
	// ShardStrategy).
	Servers map[string]ServerConfig `toml:"servers"`
	// ShardStrategy is "legacy": the server named by pool (an optional
	// "db." prefix stripped; shardId ignored), or "standard": a pool
	// starting with "db" goes to server db<shardId/shard_base_num + 1>,
	// any other pool to the server of its name.
	ShardStrategy string `toml:"shard_strategy"`
	// ShardBaseNum is how many shard ids one standard server holds.
	ShardBaseNum int32 `toml:"shard_base_num"`
	// ConnectTimeout bounds connecting; ServerSelectionTimeout how long an
	// operation waits for a reachable server. The call's deadline applies
	// to every operation too.
	ConnectTimeout         time.Duration `toml:"connect_timeout"`
	ServerSelectionTimeout time.Duration `toml:"server_selection_timeout"`
	// MaxPoolSize connections per server.
	MaxPoolSize uint64 `toml:"max_pool_size"`
	// MaxFindAll caps the documents mg_find_all returns; more is an error,
	// never a silently cut list.
	MaxFindAll int `toml:"max_find_all"`
	// Breaker skips a server after repeated network failures or timeouts.
	Breaker breaker.Config `toml:"breaker"`
}

// ServerConfig is one MongoDB deployment and the database mg_* use on it.
type ServerConfig struct {
	// URI is a mongodb:// connection string; credentials in it are secret.
	URI string `toml:"uri" secret:"true"`
	// DB is the database; mg_*'s table is a collection in it.
	DB string `toml:"db"`
}

// DefaultConfig has no servers; every other field is a working default.
func DefaultConfig() Config {
	return Config{
		Servers:                map[string]ServerConfig{},
		ShardStrategy:          "legacy",
		ShardBaseNum:           100000,
		ConnectTimeout:         200 * time.Millisecond,
		ServerSelectionTimeout: 300 * time.Millisecond,
		MaxPoolSize:            64,
		MaxFindAll:             10000,
		Breaker:                breaker.DefaultConfig(),
	}
}

// Validate checks the section; no servers means MongoDB is off.
func (c Config) Validate() error {
	switch {
	case c.ShardStrategy != "legacy" && c.ShardStrategy != "standard":
		return fmt.Errorf("shard_strategy %q: want legacy or standard", c.ShardStrategy)
	case c.ShardBaseNum <= 0:
		return errors.New("shard_base_num must be > 0")
	case c.ConnectTimeout <= 0 || c.ServerSelectionTimeout <= 0:
		return errors.New("connect_timeout and server_selection_timeout must be > 0")
	case c.MaxPoolSize == 0 || c.MaxFindAll <= 0:
		return errors.New("max_pool_size and max_find_all must be > 0")
	}
	for name, s := range c.Servers {
		if s.URI == "" || s.DB == "" {
			return fmt.Errorf("servers.%s: uri and db are required", name)
		}
	}
	return c.Breaker.Validate()
}
