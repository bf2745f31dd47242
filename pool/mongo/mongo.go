package mongo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/faed/faed/pool"
	"github.com/faed/faed/pool/breaker"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Errors of this package; the servant sends their text to the client.
var (
	// ErrNoServer: the pool and shard name no configured server.
	ErrNoServer = errors.New("no such mongo server")
	// ErrTooMany: mg_find_all matched more than max_find_all documents.
	ErrTooMany = errors.New("too many documents")
	// ErrNotSent: no server could be reached (none selectable within
	// server_selection_timeout, an open breaker): the operation did not run.
	ErrNotSent = errors.New("nothing was sent")
	// ErrUnknown: the operation was sent and no reply came (a timeout, a
	// broken connection): it may or may not have run. Writes are never
	// retried.
	ErrUnknown = errors.New("outcome unknown")
)

// errLost: the driver's monitoring has lost every server (see reach).
var errLost = errors.New("the driver has lost every server of the deployment")

// heartbeat is how often the driver checks each server (its minimum is
// 500ms): how soon a lost server is found back.
const heartbeat = 500 * time.Millisecond

// Pools are every configured MongoDB server.
type Pools struct {
	cfg     Config
	servers map[string]*Server
}

// Server is one MongoDB deployment and its database.
type Server struct {
	name    string
	sc      ServerConfig
	cfg     Config // the client settings it was built with (clientSettings)
	client  *mongo.Client
	db      *mongo.Database
	breaker *breaker.Breaker
	maxAll  int
	locks   *keyLocks
	reach   *reach // the driver's view: every server lost, or not
	calls   atomic.Int64
	errors  atomic.Int64
}

// New makes a client per server. Clients connect in the background, so no
// server has to be up to start.
func New(cfg Config) (*Pools, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	p := &Pools{cfg: cfg, servers: map[string]*Server{}}
	for name, sc := range cfg.Servers {
		s, err := newServer(name, sc, cfg)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.servers[name] = s
	}
	return p, nil
}

func newServer(name string, sc ServerConfig, cfg Config) (*Server, error) {
	r := newReach()
	opts := options.Client().ApplyURI(sc.URI).
		SetServerMonitor(r.monitor()).
		// A lost server is found back within this (the driver's minimum).
		SetHeartbeatInterval(heartbeat).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetServerSelectionTimeout(cfg.ServerSelectionTimeout).
		SetMaxPoolSize(cfg.MaxPoolSize).
		SetRetryWrites(false). // a write is never sent twice
		SetRetryReads(true)
	c, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo server %q: %w", name, err)
	}
	return &Server{name: name, sc: sc, cfg: cfg.clientSettings(), client: c, db: c.Database(sc.DB), maxAll: cfg.MaxFindAll,
		locks: newKeyLocks(), reach: r, breaker: breaker.New(cfg.Breaker, "mongo "+name, isServerFailure)}, nil
}

// clientSettings is cfg without what only picking a server uses: what
// every server's client is built with.
func (c Config) clientSettings() Config {
	c.Servers, c.ShardStrategy, c.ShardBaseNum = nil, "", 0
	return c
}

// Rebuild builds the servers of cfg for a config reload. A server whose
// entry and client settings are unchanged is taken over from p as it is
// (its client and connections); a change of shard_strategy or
// shard_base_num alone rebuilds no client. retired holds the servers of p
// not taken over; p keeps serving until the caller swaps next in, and then
// only retired may be closed, once no call uses it.
func (p *Pools) Rebuild(cfg Config) (next, retired *Pools, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("mongo: %w", err)
	}
	settings := cfg.clientSettings()
	servers, gone, err := pool.Reuse(p.servers, cfg.Servers,
		func(old *Server, sc ServerConfig) bool { return old.sc == sc && reflect.DeepEqual(old.cfg, settings) },
		func(name string, sc ServerConfig) (*Server, error) { return newServer(name, sc, cfg) },
		disconnect)
	if err != nil {
		return nil, nil, err
	}
	return &Pools{cfg: cfg, servers: servers}, &Pools{cfg: p.cfg, servers: gone}, nil
}

func disconnect(s *Server) { _ = s.client.Disconnect(context.Background()) }

// Abandon disconnects the servers of p (a Rebuild of old) that old
// does not share: for a rebuild that is not swapped in after all.
func (p *Pools) Abandon(old *Pools) { pool.Abandon(p.servers, old.servers, disconnect) }

// Close disconnects every client.
func (p *Pools) Close() error {
	var errs []error
	for _, s := range p.servers {
		errs = append(errs, s.client.Disconnect(context.Background()))
	}
	return errors.Join(errs...)
}

// Pick returns the server for pool and shardID under the configured
// shard strategy.
func (p *Pools) Pick(pool string, shardID int32) (*Server, error) {
	name := ServerName(p.cfg.ShardStrategy, p.cfg.ShardBaseNum, pool, shardID)
	s, ok := p.servers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (pool %q, shardId %d, %s strategy)", ErrNoServer, name, pool, shardID, p.cfg.ShardStrategy)
	}
	return s, nil
}

// ServerName is the shard selection rule: legacy strips an optional "db."
// prefix and ignores shardID; standard sends pools starting with "db" to
// db<shardID/base + 1>.
func ServerName(strategy string, base int32, pool string, shardID int32) string {
	if strategy == "standard" && strings.HasPrefix(pool, "db") {
		return "db" + strconv.Itoa(int(shardID/base)+1)
	}
	return strings.TrimPrefix(pool, "db.")
}

// isServerFailure: the server did not answer (network error, timeout, no
// reachable server). Command and write errors are answers, and a caller
// that hung up says nothing about the server.
func isServerFailure(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrTooMany) {
		return false
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		return false
	}
	return errors.Is(err, errLost) || mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "server selection")
}

// do runs op through the breaker, counts it and names the server in errors.
func (s *Server) do(op func() error) error {
	s.calls.Add(1)
	err := s.breaker.Do(func() error {
		if s.reach.lost() {
			return errLost // at once: no server to select
		}
		return op()
	})
	if err != nil {
		s.errors.Add(1)
		return s.describe(err)
	}
	return nil
}

// describe names the server and says whether a failed operation may have
// run; the driver's own text follows.
func (s *Server) describe(err error) error {
	var sel topology.ServerSelectionError
	switch {
	case errors.Is(err, breaker.ErrOpen):
		return fmt.Errorf("mongo %s: %w (%w)", s.name, err, ErrNotSent)
	case errors.Is(err, errLost):
		return fmt.Errorf("mongo %s: unavailable (%w; %w)", s.name, err, ErrNotSent)
	case errors.As(err, &sel):
		return fmt.Errorf("mongo %s: unavailable (no server reachable within server_selection_timeout %v; %w): %w",
			s.name, s.cfg.ServerSelectionTimeout, ErrNotSent, err)
	case mongo.IsTimeout(err):
		return fmt.Errorf("mongo %s: no reply in time: %w: %w", s.name, ErrUnknown, err)
	case mongo.IsNetworkError(err):
		return fmt.Errorf("mongo %s: connection lost: %w: %w", s.name, ErrUnknown, err)
	}
	return fmt.Errorf("mongo %s: %w", s.name, err)
}

// ServerStats are one server's figures for /stats and /metrics.
type ServerStats struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"` // the URI's hosts, without credentials or options
	Breaker string `json:"breaker"`
	Calls   int64  `json:"calls"`
	Errors  int64  `json:"errors"`
}

// Stats reports every server, sorted by name.
func (p *Pools) Stats() []ServerStats {
	out := make([]ServerStats, 0, len(p.servers))
	for _, s := range p.servers {
		out = append(out, ServerStats{Name: s.name, Addr: uriHosts(s.sc.URI), Breaker: s.breaker.State(),
			Calls: s.calls.Load(), Errors: s.errors.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// uriHosts is the host list of a mongodb:// or mongodb+srv:// URI: what
// stats may show of it (a URI can carry a password).
func uriHosts(uri string) string {
	_, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}
