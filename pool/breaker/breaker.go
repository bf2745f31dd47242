// Package breaker is the per-server circuit breaker every pool uses: after
// Failures consecutive failures a server is skipped (calls fail at once)
// for a jittered Cooldown, then one probe call decides whether it is back.
// Only failures of the server itself count (refused, reset, timeouts); a
// backend's own error replies mean it is up.
package breaker

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrOpen: the server failed repeatedly and is being skipped.
var ErrOpen = errors.New("circuit open: server skipped after repeated failures")

// Config tunes a breaker.
type Config struct {
	// Failures is how many consecutive failures open the breaker.
	Failures uint32 `toml:"failures"`
	// Cooldown is how long an open breaker skips the server before one
	// probe; each breaker adds up to 20% jitter so servers coming back are
	// not hit by every node at once.
	Cooldown time.Duration `toml:"cooldown"`
}

// DefaultConfig opens after 3 consecutive failures, probes after ~1s.
func DefaultConfig() Config { return Config{Failures: 3, Cooldown: time.Second} }

// Validate checks the settings.
func (c Config) Validate() error {
	if c.Failures == 0 || c.Cooldown <= 0 {
		return errors.New("breaker failures and cooldown must be > 0")
	}
	return nil
}

// Breaker guards one server.
type Breaker struct {
	cb *gobreaker.CircuitBreaker[any]
}

// New builds a breaker for server; isFailure tells server failures from
// answers (nil errors never count).
func New(cfg Config, server string, isFailure func(error) bool) *Breaker {
	jitter := time.Duration(rand.Int64N(int64(cfg.Cooldown)/5 + 1))
	return &Breaker{cb: gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:         server,
		MaxRequests:  1,
		Timeout:      cfg.Cooldown + jitter,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.Failures },
		IsSuccessful: func(err error) bool { return err == nil || !isFailure(err) },
	})}
}

// Do runs call unless the breaker is open.
func (b *Breaker) Do(call func() error) error {
	_, err := b.cb.Execute(func() (any, error) { return nil, call() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrOpen // the caller names the server
	}
	return err
}

// State is "closed", "half-open" or "open", for stats.
func (b *Breaker) State() string { return b.cb.State().String() }
