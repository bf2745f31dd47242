package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/faed/faed/pool"
	gomysql "github.com/go-sql-driver/mysql"
)

// Errors of this package; the servant sends their text to the client.
var (
	// ErrUnknownPool: neither a global pool nor a sharded pool with a
	// lookup table.
	ErrUnknownPool = errors.New("no such mysql pool")
	// ErrNoServer: the pool or shard names a server that is not configured.
	ErrNoServer = errors.New("no such mysql server")
	// ErrTooLarge: the result passed max_rows or max_result_bytes.
	ErrTooLarge = errors.New("result too large")
	// ErrPoolBusy: every connection of the server stayed busy for
	// pool_timeout.
	ErrPoolBusy = errors.New("no free connection")
	// ErrUnknownOutcome: the statement was sent and no reply came (the
	// connection broke, read_timeout or the call's deadline passed): it
	// may or may not have been applied. Never retried.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrNotSent: the server could not be reached (a refused or timed-out
	// connect, an open breaker, no free connection): the statement did not
	// run.
	ErrNotSent = errors.New("nothing was sent")
)

// Result is one statement's outcome; every value is a string, SQL NULL is
// "NULL".
type Result struct {
	RowsAffected int64
	LastInsertID int64
	Cols         []string
	Rows         [][]string
}

// Pools are every configured MySQL server and the sharding over them.
type Pools struct {
	cfg     Config
	servers map[string]*Server
	router  *router
	txOpen  *atomic.Int64 // open transactions, all servers
}

// New opens a pool per server. Nothing connects until a call needs it, so
// no server has to be up to start.
func New(cfg Config, log *slog.Logger) (*Pools, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pools{cfg: cfg, servers: map[string]*Server{}, txOpen: new(atomic.Int64)}
	for name, sc := range cfg.Servers {
		s, err := newServer(p, name, sc, log)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("mysql server %q: %w", name, err)
		}
		p.servers[name] = s
	}
	p.router = newRouter(p, new(atomic.Uint64))
	return p, nil
}

// limits is c without what only routing uses: the settings every server's
// pool is built with. A server is kept over a reload only if they are the
// same.
func (c Config) limits() Config {
	c.Servers, c.GlobalPools, c.LookupPool, c.LookupTables = nil, nil, "", nil
	c.LookupCacheSize, c.LookupCacheTTL = 0, 0
	return c
}

// Rebuild builds the pools of cfg for a config reload. A server whose
// entry and limits (every setting but the routing ones: global_pools,
// lookup_pool, lookup_tables, lookup_cache_*) are unchanged is taken over
// from p as it is, connections and breaker; the router is always new, with
// an empty lookup cache, and shares p's invalidations (a write through p
// that is still running also forgets what next may have cached). The count
// of open transactions, and so max_transactions, spans both.
//
// retired holds the servers of p not taken over; p keeps serving until the
// caller swaps next in, and then only retired may be closed, once no call
// uses it. A transaction still open on a retired server stays usable:
// database/sql keeps a connection that is taken out (pinned) working after
// its DB is closed, and closes it when the transaction gives it back.
func (p *Pools) Rebuild(cfg Config, log *slog.Logger) (next, retired *Pools, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("mysql: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	next = &Pools{cfg: cfg, txOpen: p.txOpen}
	limits := cfg.limits()
	servers, gone, err := pool.Reuse(p.servers, cfg.Servers,
		func(old *Server, sc ServerConfig) bool { return old.sc == sc && reflect.DeepEqual(old.cfg, limits) },
		func(name string, sc ServerConfig) (*Server, error) {
			s, err := newServer(next, name, sc, log)
			if err != nil {
				return nil, fmt.Errorf("mysql server %q: %w", name, err)
			}
			return s, nil
		},
		closeServer)
	if err != nil {
		return nil, nil, err
	}
	next.servers, retired = servers, &Pools{cfg: p.cfg, servers: gone, txOpen: p.txOpen}
	next.router = newRouter(next, p.router.gen)
	p.router.next.Store(next.router)
	return next, retired, nil
}

// Abandon closes the servers of p (a Rebuild of old) that old does not
// share: for a rebuild that is not swapped in after all.
func (p *Pools) Abandon(old *Pools) { pool.Abandon(p.servers, old.servers, closeServer) }

func closeServer(s *Server) { _ = s.db.Close() }

// Close closes every server's pool.
func (p *Pools) Close() error {
	var errs []error
	for _, s := range p.servers {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// Server returns the server of a global pool, or of a sharded pool's shard
// for the entity hint, resolving it through the lookup table.
func (p *Pools) Server(ctx context.Context, pool string, hint int64) (*Server, error) {
	return p.router.resolve(ctx, pool, hint)
}

// IsLookupPool reports whether exec statements on pool may change shard
// mappings (see Invalidate).
func (p *Pools) IsLookupPool(pool string) bool {
	return pool == p.cfg.LookupPool && len(p.cfg.LookupTables) > 0
}

// Invalidate forgets the cached shard of entity, after a write on the
// lookup pool.
func (p *Pools) Invalidate(entity int64) { p.router.invalidate(entity) }

// Shards returns the servers whose names start with prefix, in shard
// order: by name, with a numeric suffix compared as a number (P2 before
// P10).
func (p *Pools) Shards(prefix string) []*Server {
	var out []*Server
	for name, s := range p.servers {
		if strings.HasPrefix(name, prefix) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return shardLess(out[i].name, out[j].name) })
	return out
}

func shardLess(a, b string) bool {
	ai, bi := len(strings.TrimRight(a, "0123456789")), len(strings.TrimRight(b, "0123456789"))
	if a[:ai] != b[:bi] {
		return a < b
	}
	an, bn := strings.TrimLeft(a[ai:], "0"), strings.TrimLeft(b[bi:], "0")
	if len(an) != len(bn) {
		return len(an) < len(bn)
	}
	if an != bn {
		return an < bn
	}
	return a < b
}

// ServerStats are one server's figures for /stats and /metrics.
type ServerStats struct {
	Name      string `json:"name"`
	Addr      string `json:"addr"`
	Breaker   string `json:"breaker"`
	Calls     int64  `json:"calls"`
	Errors    int64  `json:"errors"`
	Open      int    `json:"open"`
	InUse     int    `json:"in_use"`
	Idle      int    `json:"idle"`
	WaitCount int64  `json:"wait_count"`
	Pinned    int64  `json:"pinned"`
}

// Stats reports every server, sorted by name.
func (p *Pools) Stats() []ServerStats {
	out := make([]ServerStats, 0, len(p.servers))
	for _, s := range p.servers {
		out = append(out, s.stats())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// OpenTransactions is how many transactions are open now.
func (p *Pools) OpenTransactions() int64 { return p.txOpen.Load() }

// connector builds the driver settings of one server: no multi-statements,
// no LOAD DATA LOCAL, placeholders interpolated by the driver (one round
// trip per statement; values are escaped by it, never spliced by us).
func connector(sc ServerConfig, cfg Config, log *slog.Logger) (*gomysql.Config, error) {
	mc := gomysql.NewConfig()
	mc.User, mc.Passwd, mc.DBName = sc.User, sc.Password, sc.DB
	mc.Net, mc.Addr = "tcp", sc.Addr
	if strings.HasPrefix(sc.Addr, "/") {
		mc.Net = "unix"
	}
	mc.Timeout, mc.ReadTimeout, mc.WriteTimeout = cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout
	mc.MultiStatements = false
	mc.AllowAllFiles = false
	mc.InterpolateParams = true
	mc.CheckConnLiveness = true
	mc.Collation = "utf8mb4_general_ci"
	mc.Logger = driverLogger{log: log.With("mysql_server", sc.Addr)}
	return mc, nil
}

// driverLogger sends the driver's own messages (dropped connections and
// the like) to faed's log at debug level instead of stderr, under
// "detail": a second "msg" key would make JSON lines ambiguous.
type driverLogger struct{ log *slog.Logger }

func (l driverLogger) Print(v ...any) { l.log.Debug("mysql driver", "detail", fmt.Sprint(v...)) }

// Concat joins results of one statement run on several shards: rows in
// the order given, rowsAffected summed, held to the same caps as one
// result.
func (p *Pools) Concat(results []*Result) (*Result, error) {
	out := &Result{Cols: []string{}, Rows: [][]string{}}
	size := 0
	for _, r := range results {
		if len(out.Cols) == 0 {
			out.Cols = r.Cols
		}
		out.RowsAffected += r.RowsAffected
		for _, row := range r.Rows {
			if len(out.Rows) == p.cfg.MaxRows {
				return nil, fmt.Errorf("%w: more than max_rows %d across shards", ErrTooLarge, p.cfg.MaxRows)
			}
			for _, v := range row {
				size += len(v)
			}
			if size > p.cfg.MaxResultBytes {
				return nil, fmt.Errorf("%w: more than max_result_bytes %d across shards", ErrTooLarge, p.cfg.MaxResultBytes)
			}
			out.Rows = append(out.Rows, row)
		}
	}
	return out, nil
}

// ValidIdentifier reports whether s may be spliced into SQL as a table or
// column name (letters, digits, _ and $, with an optional db. prefix).
func ValidIdentifier(s string) bool { return identifier.MatchString(s) }
