package engine

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedClients bounds the per-client limiter table; past it, limiters
// idle for a minute are dropped.
const (
	maxTrackedClients = 1 << 16
	clientIdleAfter   = time.Minute
)

// clientLimits keeps one token bucket per client IP.
type clientLimits struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*clientLimit
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newClientLimits(perSecond float64, burst int) *clientLimits {
	if perSecond <= 0 {
		return nil
	}
	return &clientLimits{limit: rate.Limit(perSecond), burst: burst, clients: map[string]*clientLimit{}}
}

// allow reports whether the client may make one more call now.
func (cl *clientLimits) allow(ip string) bool {
	now := time.Now()
	cl.mu.Lock()
	c, ok := cl.clients[ip]
	if !ok {
		if len(cl.clients) >= maxTrackedClients {
			cl.sweep(now)
		}
		c = &clientLimit{lim: rate.NewLimiter(cl.limit, cl.burst)}
		cl.clients[ip] = c
	}
	c.seen = now
	cl.mu.Unlock()
	return c.lim.AllowN(now, 1)
}

// sweep drops idle clients; if all are active it starts over rather than
// grow without bound. Called with mu held.
func (cl *clientLimits) sweep(now time.Time) {
	for ip, c := range cl.clients {
		if now.Sub(c.seen) > clientIdleAfter {
			delete(cl.clients, ip)
		}
	}
	if len(cl.clients) >= maxTrackedClients {
		clear(cl.clients)
	}
}

// client is the other end of a session, as seen by rate limits and logs.
type client struct{ addr net.Addr }

// ip is the client's IP, or "unix" for unix-socket clients (one bucket).
func (c *client) ip() string {
	if c == nil || c.addr == nil {
		return "unknown"
	}
	if tcp, ok := c.addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	return c.addr.Network()
}

// String is the client's address as its connection reports it (host:port
// over TCP; usually empty over a unix socket), or "unknown".
func (c *client) String() string {
	if c == nil || c.addr == nil {
		return "unknown"
	}
	return c.addr.String()
}

// LogValue logs a client as its address string; without it a JSON log
// line would show the struct's (unexported, so empty) fields as {}.
func (c *client) LogValue() slog.Value { return slog.StringValue(c.String()) }
