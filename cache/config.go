package cache

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds a cache. The limits are split evenly across shards.
type Config struct {
	// MaxItems is the most entries the cache holds.
	MaxItems int `toml:"max_items"`
	// MaxBytes bounds keys plus values plus EntryOverhead per entry.
	MaxBytes int64 `toml:"max_bytes"`
	// Shards is the number of independently locked parts (a power of two).
	Shards int `toml:"shards"`
	// TTL is how long an entry lives unless set with its own TTL; 0 keeps
	// entries until evicted.
	TTL time.Duration `toml:"ttl"`
}

// DefaultConfig: a million entries, 256 MiB, 64 shards, no TTL.
func DefaultConfig() Config {
	return Config{MaxItems: 1_000_000, MaxBytes: 256 << 20, Shards: 64, TTL: 0}
}

// ErrConfig marks an unusable cache configuration.
var ErrConfig = errors.New("invalid cache config")

// Validate checks the bounds.
func (c Config) Validate() error {
	switch {
	case c.Shards <= 0 || c.Shards > 4096 || c.Shards&(c.Shards-1) != 0:
		return fmt.Errorf("%w: shards must be a power of two from 1 to 4096", ErrConfig)
	case c.MaxItems < c.Shards:
		return fmt.Errorf("%w: max_items must be at least shards (%d)", ErrConfig, c.Shards)
	case c.MaxBytes < int64(c.Shards)*1024:
		return fmt.Errorf("%w: max_bytes must be at least 1 KiB per shard", ErrConfig)
	case c.TTL < 0:
		return fmt.Errorf("%w: ttl must be >= 0", ErrConfig)
	}
	return nil
}
