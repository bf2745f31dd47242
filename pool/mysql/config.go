package mysql

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/faed/faed/pool/breaker"
)

// Config is the [mysql] section: every server faed may talk to, how pools
// map onto them, and the limits that apply to each server's pool.
type Config struct {
	// Servers by name. A global pool is the server of the same name; a
	// sharded pool P is served by servers P1, P2, ... (P + shardId).
	Servers map[string]ServerConfig `toml:"servers"`
	// GlobalPools are used by name; every other pool is sharded.
	GlobalPools []string `toml:"global_pools"`
	// LookupPool is the global pool holding the lookup tables.
	LookupPool string `toml:"lookup_pool"`
	// LookupTables names each sharded pool's lookup table, with columns
	// entityId, shardId and shardLock.
	LookupTables map[string]string `toml:"lookup_tables"`
	// LookupCacheSize is how many entity→shard mappings are remembered.
	LookupCacheSize int `toml:"lookup_cache_size"`
	// LookupCacheTTL bounds how long a mapping is trusted. Writes made
	// through faed on the lookup pool invalidate at once; this catches
	// writes made elsewhere (migration tools).
	LookupCacheTTL time.Duration `toml:"lookup_cache_ttl"`
	// MaxOpenConns per server, pinned transactions included.
	MaxOpenConns int `toml:"max_open_conns"`
	// MaxIdleConns kept open per server.
	MaxIdleConns int `toml:"max_idle_conns"`
	// ConnMaxLifetime recycles connections (0 = never).
	ConnMaxLifetime time.Duration `toml:"conn_max_lifetime"`
	// ConnMaxIdleTime closes connections idle this long (0 = never).
	ConnMaxIdleTime time.Duration `toml:"conn_max_idle_time"`
	// DialTimeout bounds connecting; ReadTimeout and WriteTimeout bound
	// socket I/O. The call's own deadline applies too, whichever is sooner.
	DialTimeout  time.Duration `toml:"dial_timeout"`
	ReadTimeout  time.Duration `toml:"read_timeout"`
	WriteTimeout time.Duration `toml:"write_timeout"`
	// PoolTimeout is how long a call waits for a free connection when all
	// max_open_conns are busy, then fails with a clear error.
	PoolTimeout time.Duration `toml:"pool_timeout"`
	// MaxRows and MaxResultBytes cap one result; a larger one is an error,
	// never a truncated answer.
	MaxRows        int `toml:"max_rows"`
	MaxResultBytes int `toml:"max_result_bytes"`
	// MaxTransactions open at once across all servers; TxTimeout rolls
	// back a transaction left open longer.
	MaxTransactions int           `toml:"max_transactions"`
	TxTimeout       time.Duration `toml:"tx_timeout"`
	// Breaker skips a server after repeated connection failures or
	// timeouts (SQL errors do not count).
	Breaker breaker.Config `toml:"breaker"`
}

// ServerConfig is one MySQL server and database.
type ServerConfig struct {
	// Addr is host:port, or the path of a unix socket (starting with /).
	Addr string `toml:"addr"`
	// User and Password log in; DB is the database used.
	User     string `toml:"user"`
	Password string `toml:"password" secret:"true"`
	DB       string `toml:"db"`
}

// DefaultConfig has no servers; every other field is a working default.
func DefaultConfig() Config {
	return Config{
		Servers:         map[string]ServerConfig{},
		GlobalPools:     []string{},
		LookupTables:    map[string]string{},
		LookupCacheSize: 100000,
		LookupCacheTTL:  time.Minute,
		MaxOpenConns:    64,
		MaxIdleConns:    16,
		ConnMaxLifetime: time.Hour,
		ConnMaxIdleTime: 5 * time.Minute,
		DialTimeout:     200 * time.Millisecond,
		ReadTimeout:     600 * time.Millisecond,
		WriteTimeout:    600 * time.Millisecond,
		PoolTimeout:     200 * time.Millisecond,
		MaxRows:         10000,
		MaxResultBytes:  8 << 20,
		MaxTransactions: 256,
		TxTimeout:       30 * time.Second,
		Breaker:         breaker.DefaultConfig(),
	}
}

// identifier is what a table or column name may be: plain names, with an
// optional database prefix. Names are spliced into SQL, so nothing else.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)

// Validate checks the section; an empty one (no servers) is valid and
// means MySQL is off.
func (c Config) Validate() error {
	if len(c.Servers) == 0 {
		return nil
	}
	for name, s := range c.Servers {
		if s.Addr == "" {
			return fmt.Errorf("servers.%s: addr is empty", name)
		}
	}
	for _, g := range c.GlobalPools {
		if _, ok := c.Servers[g]; !ok {
			return fmt.Errorf("global_pools: %q has no entry in servers", g)
		}
	}
	if len(c.LookupTables) > 0 && !slices.Contains(c.GlobalPools, c.LookupPool) {
		return fmt.Errorf("lookup_pool %q must be one of global_pools", c.LookupPool)
	}
	for pool, table := range c.LookupTables {
		if !identifier.MatchString(table) {
			return fmt.Errorf("lookup_tables.%s: %q is not a table name", pool, table)
		}
		if !c.hasShards(pool) {
			return fmt.Errorf("lookup_tables.%s: no server named %s<shardId> in servers", pool, pool)
		}
	}
	return c.validateLimits()
}

func (c Config) validateLimits() error {
	switch {
	case c.DialTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.PoolTimeout <= 0:
		return errors.New("dial_timeout, read_timeout, write_timeout and pool_timeout must be > 0")
	case c.MaxOpenConns <= 0 || c.MaxIdleConns < 0 || c.MaxIdleConns > c.MaxOpenConns:
		return fmt.Errorf("max_open_conns must be > 0 and max_idle_conns within 0-%d", c.MaxOpenConns)
	case c.ConnMaxLifetime < 0 || c.ConnMaxIdleTime < 0:
		return errors.New("conn_max_lifetime and conn_max_idle_time must be >= 0")
	case c.MaxRows <= 0 || c.MaxResultBytes <= 0:
		return errors.New("max_rows and max_result_bytes must be > 0")
	case c.MaxTransactions <= 0 || c.TxTimeout <= 0:
		return errors.New("max_transactions and tx_timeout must be > 0")
	case c.LookupCacheSize <= 0 || c.LookupCacheTTL < 0:
		return errors.New("lookup_cache_size must be > 0 and lookup_cache_ttl >= 0")
	}
	return c.Breaker.Validate()
}

func (c Config) hasShards(pool string) bool {
	for name := range c.Servers {
		if n, ok := shardNumber(name, pool); ok && n > 0 {
			return true
		}
	}
	return false
}

// shardNumber parses name as pool followed by a decimal shard id.
func shardNumber(name, pool string) (int, bool) {
	rest, ok := strings.CutPrefix(name, pool)
	if !ok || rest == "" {
		return 0, false
	}
	n := 0
	for _, r := range rest {
		if r < '0' || r > '9' || n > 1<<30 {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}
