package memcache

import (
	"errors"
	"time"

	"github.com/faed/faed/pool"
	"github.com/faed/faed/pool/breaker"
)

// Server selection strategies.
const (
	// Standard is PHP's memcache extension: ((crc32(key)>>16)&0x7fff) % N
	// over the servers in config order.
	Standard = "standard"
	// Consistent is a CRC32 ring (160 points per server): adding or
	// removing a server moves about 1/N of the keys.
	Consistent = "consistent"
)

// Config is one named pool of memcached servers (also a couchbase bucket:
// cb_* calls name the pool as their bucket).
type Config struct {
	// Servers are host:port addresses, in the order that placement uses.
	// One string may list several, comma-separated.
	Servers []string `toml:"servers"`
	// Selector is "standard" (PHP memcache extension compatible) or
	// "consistent".
	Selector string `toml:"selector"`
	// Timeout bounds connecting and each socket read or write.
	Timeout time.Duration `toml:"timeout"`
	// MaxIdleConns is the idle connections kept per server.
	MaxIdleConns int `toml:"max_idle_conns"`
	// GetLanes is how many multi-gets per server may be in flight at once:
	// gets that queue while one is out go together in the next. 0 sends
	// every get on its own.
	GetLanes int `toml:"get_lanes"`
	// Breaker skips a server after repeated failures.
	Breaker breaker.Config `toml:"breaker"`
}

// DefaultConfig has no servers; every other field is a working default.
func DefaultConfig() Config {
	return Config{Selector: Standard, Timeout: 500 * time.Millisecond, MaxIdleConns: 64, GetLanes: 4, Breaker: breaker.DefaultConfig()}
}

func (c Config) servers() []string { return pool.Servers(c.Servers) }

// Validate checks one pool.
func (c Config) Validate() error {
	switch {
	case len(c.servers()) == 0:
		return errors.New("servers is empty")
	case c.Selector != Standard && c.Selector != Consistent:
		return errors.New(`selector must be "standard" or "consistent"`)
	case c.Timeout <= 0 || c.MaxIdleConns <= 0:
		return errors.New("timeout and max_idle_conns must be > 0")
	case c.GetLanes < 0 || c.GetLanes > c.MaxIdleConns:
		return errors.New("get_lanes must be within 0 and max_idle_conns")
	}
	return c.Breaker.Validate()
}
