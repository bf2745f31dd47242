package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/faed/faed/cache"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idgen"
	"github.com/faed/faed/lock"
	"github.com/faed/faed/peer"
	"github.com/faed/faed/pool/memcache"
	"github.com/faed/faed/pool/mongo"
	"github.com/faed/faed/pool/mysql"
	"github.com/faed/faed/pool/redis"
)

// ErrInvalid marks a config that cannot be used; the message names the key.
var ErrInvalid = errors.New("invalid config")

// Config is the whole file.
type Config struct {
	// Server is the Thrift side: listeners, limits, timeouts.
	Server engine.Config `toml:"server"`
	// Admin is the operator's HTTP endpoint.
	Admin engine.AdminConfig `toml:"admin"`
	// Log is where and how faed logs.
	Log LogConfig `toml:"log"`
	// Node identifies this faed.
	Node NodeConfig `toml:"node"`
	// ID is the id generator.
	ID idgen.Config `toml:"id"`
	// Lock is the lock table.
	Lock lock.Config `toml:"lock"`
	// LocalCache is the in-process cache behind lc_*.
	LocalCache cache.Config `toml:"local_cache"`
	// Redis pools by name ([redis.NAME]); rd_call names the pool.
	Redis map[string]redis.Config `toml:"redis"`
	// Memcache pools by name ([memcache.NAME]); mc_* name the pool, cb_*
	// name it as their bucket.
	Memcache map[string]memcache.Config `toml:"memcache"`
	// MySQL is every MySQL server and the pools and shards over them; no
	// servers means my_* say MySQL is not configured.
	MySQL mysql.Config `toml:"mysql"`
	// QueryCache holds my_query results cached under their cacheKey.
	QueryCache cache.Config `toml:"query_cache"`
	// Mongo is every MongoDB server mg_* may use; no servers means mg_*
	// say MongoDB is not configured.
	Mongo mongo.Config `toml:"mongo"`
	// Cluster is membership in ZooKeeper and forwarding of keyed calls to
	// their owner; no zk_servers means a single node.
	Cluster ClusterConfig `toml:"cluster"`
}

// ClusterConfig is the [cluster] section: ZooKeeper (peer.Config's keys),
// forwarding ([cluster.forward]) and cache mode.
type ClusterConfig struct {
	peer.Config
	// Forward tunes calls to peers.
	Forward peer.ForwardConfig `toml:"forward"`
	// CacheMode routes lc_* to the key's owner, so every node sees one
	// cache instead of its own.
	CacheMode bool `toml:"cache_mode"`
}

// Validate checks both halves.
func (c ClusterConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if err := c.Forward.Validate(); err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	return nil
}

// NodeConfig identifies this faed among its peers.
type NodeConfig struct {
	// WorkerID is baked into every id this node issues (0–31); two live
	// nodes must never share one.
	WorkerID int `toml:"worker_id"`
}

// Default is the embedded configuration: loopback only, local servants on,
// backends off.
func Default() Config {
	return Config{
		Server: engine.DefaultConfig(),
		Admin:  engine.DefaultAdminConfig(),
		Log:    DefaultLogConfig(),
		Node:   NodeConfig{WorkerID: 0},
		ID:     idgen.DefaultConfig(),
		Lock:   lock.DefaultConfig(),
		// lc_* entries live until evicted, as with the older daemon.
		LocalCache: cache.DefaultConfig(),
		Redis:      map[string]redis.Config{},
		Memcache:   map[string]memcache.Config{},
		MySQL:      mysql.DefaultConfig(),
		// Results stay until an exec with their cacheKey or my_evict.
		QueryCache: cache.Config{MaxItems: 100_000, MaxBytes: 64 << 20, Shards: 64},
		Mongo:      mongo.DefaultConfig(),
		Cluster:    ClusterConfig{Config: peer.DefaultConfig(), Forward: peer.DefaultForwardConfig()},
	}
}

// Validate reports the first unusable setting, prefixed by its section.
func (c Config) Validate() error {
	checks := []struct {
		section string
		err     error
	}{
		{"server", c.Server.Validate()},
		{"log", c.Log.Validate()},
		{"node", c.Node.Validate()},
		{"id", c.ID.Validate()},
		{"lock", c.Lock.Validate()},
		{"local_cache", c.LocalCache.Validate()},
		{"mysql", c.MySQL.Validate()},
		{"query_cache", c.QueryCache.Validate()},
		{"mongo", c.Mongo.Validate()},
		{"cluster", c.Cluster.Validate()},
		{"cluster", c.peerAddress()},
	}
	for name, p := range c.Redis {
		checks = append(checks, struct {
			section string
			err     error
		}{"redis." + name, p.Validate()})
	}
	for name, p := range c.Memcache {
		checks = append(checks, struct {
			section string
			err     error
		}{"memcache." + name, p.Validate()})
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("%w: [%s] %w", ErrInvalid, ch.section, ch.err)
		}
	}
	return nil
}

// peerAddress: in a cluster, peers dial this node on advertise, or on
// server.listen when that names one host. A wildcard or absent TCP
// listener would give peers an address that is not this node.
func (c Config) peerAddress() error {
	if !c.Cluster.Enabled() || c.Cluster.Advertise != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Server.Listen)
	if err != nil || host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		return fmt.Errorf("advertise must be set: server.listen %q is not an address peers can call", c.Server.Listen)
	}
	return nil
}

// Validate checks the worker id range.
func (n NodeConfig) Validate() error {
	if n.WorkerID < 0 || n.WorkerID > 31 {
		return fmt.Errorf("worker_id %d out of range 0-31", n.WorkerID)
	}
	return nil
}

// Load reads path over the defaults, expands ${ENV} in string values and
// validates the result.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load without the file system or the process environment.
func Parse(data []byte, env func(string) (string, bool)) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		return Config{}, fmt.Errorf("%w: unknown key %s", ErrInvalid, strings.Join(names, ", "))
	}
	if err := applyPoolDefaults(string(data), &cfg); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := expandEnv(&cfg, env); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
