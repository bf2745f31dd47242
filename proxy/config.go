package proxy

import (
	"errors"
	"time"
)

// Config tunes forwarding to peers.
type Config struct {
	// Timeout bounds one forwarded call (connect included); it is also cut
	// to the caller's own deadline.
	Timeout time.Duration `toml:"timeout"`
	// DialTimeout bounds connecting to a peer.
	DialTimeout time.Duration `toml:"dial_timeout"`
	// MaxIdle is how many idle connections are kept per peer.
	MaxIdle int `toml:"max_idle"`
	// DownFor: a peer whose connection failed gets no calls for this long
	// (they fail at once); then calls try it again.
	DownFor time.Duration `toml:"down_for"`
	// HealthInterval is how often peers marked down are pinged, and idle
	// connections to departed peers dropped.
	HealthInterval time.Duration `toml:"health_interval"`
}

// DefaultConfig suits peers on one LAN.
func DefaultConfig() Config {
	return Config{Timeout: 500 * time.Millisecond, DialTimeout: 200 * time.Millisecond, MaxIdle: 32,
		DownFor: 2 * time.Second, HealthInterval: 500 * time.Millisecond}
}

// Validate checks the settings.
func (c Config) Validate() error {
	if c.Timeout <= 0 || c.DialTimeout <= 0 || c.DownFor <= 0 || c.HealthInterval <= 0 || c.MaxIdle < 0 {
		return errors.New("timeout, dial_timeout, down_for and health_interval must be > 0, max_idle >= 0")
	}
	return nil
}
