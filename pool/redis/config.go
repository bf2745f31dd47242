package redis

import (
	"errors"
	"fmt"
	"time"

	"github.com/faed/faed/pool"
	"github.com/faed/faed/pool/breaker"
)

// Config is one named pool of redis servers.
type Config struct {
	// Servers are host:port addresses; keys are placed on them by the
	// compat ring (CRC32, 32 virtual nodes each), so keep the order and
	// spelling the older daemon used. A single string may list several,
	// comma-separated (handy with ${ENV}).
	Servers []string `toml:"servers"`
	// Password for AUTH, if the servers need one.
	Password string `toml:"password" secret:"true"`
	// DialTimeout bounds connecting to a server.
	DialTimeout time.Duration `toml:"dial_timeout"`
	// ReadTimeout and WriteTimeout bound one command's socket I/O; the
	// call's own deadline applies too, whichever is sooner.
	ReadTimeout  time.Duration `toml:"read_timeout"`
	WriteTimeout time.Duration `toml:"write_timeout"`
	// PoolSize is the most connections per server.
	PoolSize int `toml:"pool_size"`
	// PoolTimeout is how long a call waits for a free connection when all
	// PoolSize are busy, then fails.
	PoolTimeout time.Duration `toml:"pool_timeout"`
	// MinIdle connections are kept open per server.
	MinIdle int `toml:"min_idle"`
	// PipelineLanes is how many batches per server may be in flight at
	// once: calls that queue while a batch is out go together in the next
	// one (one round trip for many calls). 0 sends every call on its own
	// pooled connection.
	PipelineLanes int `toml:"pipeline_lanes"`
	// AllowDangerous lets rd_call run FLUSHALL, CONFIG, SHUTDOWN and the
	// like, refused by default.
	AllowDangerous bool `toml:"allow_dangerous"`
	// Breaker skips a server after repeated failures.
	Breaker breaker.Config `toml:"breaker"`
}

// DefaultConfig has no servers; every other field is a working default.
func DefaultConfig() Config {
	return Config{
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		PoolSize:      64,
		PoolTimeout:   200 * time.Millisecond,
		MinIdle:       2,
		PipelineLanes: 4,
		Breaker:       breaker.DefaultConfig(),
	}
}

func (c Config) servers() []string { return pool.Servers(c.Servers) }

// Validate checks one pool.
func (c Config) Validate() error {
	switch {
	case len(c.servers()) == 0:
		return errors.New("servers is empty")
	case c.DialTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.PoolTimeout <= 0:
		return errors.New("dial_timeout, read_timeout, write_timeout and pool_timeout must be > 0")
	case c.PipelineLanes < 0 || c.PipelineLanes > c.PoolSize:
		return fmt.Errorf("pipeline_lanes must be within 0-%d (pool_size)", c.PoolSize)
	case c.PoolSize <= 0 || c.MinIdle < 0 || c.MinIdle > c.PoolSize:
		return fmt.Errorf("pool_size must be > 0 and min_idle within 0-%d", c.PoolSize)
	}
	return c.Breaker.Validate()
}
