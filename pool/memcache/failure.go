package memcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/faed/faed/pool/breaker"
)

// Errors that say whether a failed call reached the server.
var (
	// ErrNotSent: the server could not be reached (a refused or timed-out
	// connect, an open breaker): the command did not run.
	ErrNotSent = errors.New("nothing was sent")
	// ErrUnknown: the command was sent and no reply came (timeout, broken
	// connection): it may or may not have run.
	ErrUnknown = errors.New("outcome unknown")
)

// describe names server and says what happened to a failed call: memcached's
// own error replies pass as they are.
func (p *serverPool) describe(addr net.Addr, err error) error {
	at := "memcache " + addr.String()
	var cte *memcache.ConnectTimeoutError
	var oe *net.OpError
	var errno syscall.Errno
	switch {
	case errors.Is(err, breaker.ErrOpen):
		return fmt.Errorf("%s: %w (%w)", at, err, ErrNotSent)
	case errors.As(err, &cte):
		return fmt.Errorf("%s: unavailable (connect timed out after timeout %v; %w)", at, p.cfg.Timeout, ErrNotSent)
	case errors.As(err, &oe) && oe.Op == "dial":
		why := oe.Err.Error()
		if errors.As(err, &errno) {
			why = errno.Error()
		}
		return fmt.Errorf("%s: unavailable (%s; %w)", at, why, ErrNotSent)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, ErrNotSent):
		return fmt.Errorf("%s: %w", at, err)
	case errors.As(err, &oe) && oe.Timeout():
		return fmt.Errorf("%s: no reply within timeout %v: %w", at, p.cfg.Timeout, ErrUnknown)
	case errors.As(err, &errno):
		return fmt.Errorf("%s: connection lost after the command was sent (%s): %w", at, errno.Error(), ErrUnknown)
	case errors.As(err, &oe), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: connection lost after the command was sent (%v): %w", at, err, ErrUnknown)
	}
	return fmt.Errorf("%s: %w", at, err)
}
