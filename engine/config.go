package engine

import (
	"errors"
	"fmt"
	"time"
)

// Config is everything the RPC side of the engine needs. Zero values are
// not meaningful: start from DefaultConfig.
type Config struct {
	// Listen is the TCP address for Thrift clients; empty disables TCP.
	Listen string `toml:"listen"`
	// Unix is a unix socket path for Thrift clients; empty disables it.
	// A stale socket file left by a dead process is replaced.
	Unix string `toml:"unix"`
	// UnixMode is the permission of the unix socket file, e.g. 0o666 so
	// php-fpm workers running as another user can connect.
	UnixMode uint32 `toml:"unix_mode"`

	// MaxSessions caps concurrent client connections (sessions). At the
	// cap a new connection takes the slot of the longest-idle session that
	// holds no transaction and has been idle for a second or more (that
	// session is closed); busy sessions are never closed to make room.
	MaxSessions int `toml:"max_sessions"`
	// AcceptWait is how long a new connection over MaxSessions, with no
	// idle session to close, waits for a free slot before it is closed.
	// At most 64 wait at once, without holding up the accept loop; further
	// ones are closed at once, so the kernel's queue keeps draining.
	AcceptWait time.Duration `toml:"accept_wait"`
	// IdleTimeout closes a session that sends nothing between calls.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// ReadTimeout is the time allowed for reading one whole message once
	// its first byte has arrived (slowloris protection). The watchdog
	// enforces ReadTimeout, CallTimeout and WriteTimeout as one sum: a
	// session still busy with one call that long after the call's first
	// byte is closed.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// WriteTimeout is the time allowed for writing one reply to a client
	// that does not read (part of the sum above).
	WriteTimeout time.Duration `toml:"write_timeout"`
	// CallTimeout is the deadline of one call's context, counted from the
	// call's first byte; backends get this or less. Keep it below the
	// client's socket timeout (PHP: 750ms).
	CallTimeout time.Duration `toml:"call_timeout"`
	// MaxMessageBytes caps one request message, and any string or binary in
	// it.
	MaxMessageBytes int32 `toml:"max_message_bytes"`
	// MaxContainerSize caps the element count of any list, set or map in a
	// request.
	MaxContainerSize int32 `toml:"max_container_size"`

	// RateLimit is calls per second allowed per client IP; 0 disables the
	// limit. Unix-socket clients share one bucket.
	RateLimit float64 `toml:"rate_limit"`
	// RateBurst is the burst size of the per-client-IP limiter.
	RateBurst int `toml:"rate_burst"`

	// DrainTimeout is how long a graceful stop lets in-flight calls finish
	// before the remaining sessions are closed. Shutdown's context enforces
	// it (cmd/faed gives it drain_timeout plus one call_timeout); here it
	// only caps the grace idle sessions get for one last call.
	DrainTimeout time.Duration `toml:"drain_timeout"`
	// SlowCall logs calls slower than this at Warn; 0 disables.
	SlowCall time.Duration `toml:"slow_call"`

	// Trace is call tracing ([server.trace]).
	Trace TraceConfig `toml:"trace"`
}

// DefaultConfig is the embedded default: loopback TCP only.
func DefaultConfig() Config {
	return Config{
		Listen:           "127.0.0.1:9001",
		UnixMode:         0o666,
		MaxSessions:      20000,
		AcceptWait:       100 * time.Millisecond,
		IdleTimeout:      5 * time.Minute,
		ReadTimeout:      5 * time.Second,
		WriteTimeout:     5 * time.Second,
		CallTimeout:      700 * time.Millisecond,
		MaxMessageBytes:  16 << 20,
		MaxContainerSize: 1 << 20,
		RateLimit:        0,
		RateBurst:        1000,
		DrainTimeout:     10 * time.Second,
		SlowCall:         200 * time.Millisecond,
		Trace:            DefaultTraceConfig(),
	}
}

// ErrConfig marks an invalid engine configuration.
var ErrConfig = errors.New("invalid engine config")

// Validate reports the first field that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Listen == "" && c.Unix == "":
		return fmt.Errorf("%w: neither listen nor unix is set", ErrConfig)
	case c.MaxSessions <= 0:
		return fmt.Errorf("%w: max_sessions must be > 0", ErrConfig)
	case c.IdleTimeout <= 0, c.ReadTimeout <= 0, c.WriteTimeout <= 0, c.CallTimeout <= 0:
		return fmt.Errorf("%w: idle_timeout, read_timeout, write_timeout and call_timeout must be > 0", ErrConfig)
	case c.AcceptWait < 0, c.DrainTimeout < 0, c.SlowCall < 0:
		return fmt.Errorf("%w: accept_wait, drain_timeout and slow_call must be >= 0", ErrConfig)
	case c.MaxMessageBytes < 1024:
		return fmt.Errorf("%w: max_message_bytes must be >= 1024", ErrConfig)
	case c.MaxContainerSize <= 0:
		return fmt.Errorf("%w: max_container_size must be > 0", ErrConfig)
	case c.RateLimit < 0:
		return fmt.Errorf("%w: rate_limit must be >= 0", ErrConfig)
	case c.RateLimit > 0 && c.RateBurst <= 0:
		return fmt.Errorf("%w: rate_burst must be > 0 when rate_limit is set", ErrConfig)
	case c.UnixMode > 0o777:
		return fmt.Errorf("%w: unix_mode must be a permission like 0o666", ErrConfig)
	}
	return c.Trace.Validate()
}

// AdminConfig is the operator's HTTP endpoint.
type AdminConfig struct {
	// Listen is the admin HTTP address; empty disables it. Keep it on
	// loopback: it serves pprof.
	Listen string `toml:"listen"`
}

// DefaultAdminConfig serves admin on loopback.
func DefaultAdminConfig() AdminConfig {
	return AdminConfig{Listen: "127.0.0.1:9101"}
}
