package peer

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"time"
)

// Config is the cluster's ZooKeeper side. No servers means a single node:
// no membership, keyed calls served locally, the worker id from config.
type Config struct {
	// Servers are the ZooKeeper ensemble, host:port each.
	Servers []string `toml:"zk_servers"`
	// Root holds one ephemeral node per live faed, <root>/<host:port>.
	Root string `toml:"root"`
	// MetaRoot holds faed's other state: leased worker ids under
	// <meta_root>/workers and the fencing counter. Like Root, zk_* calls
	// cannot write under it.
	MetaRoot string `toml:"meta_root"`
	// ZKSessionTimeout is the ZooKeeper session timeout: how long a node may
	// be cut off before its membership, locks and worker id lapse.
	ZKSessionTimeout time.Duration `toml:"session_timeout"`
	// Timeout bounds one ZooKeeper request made for a call (zk_*, a
	// fencing token) or for leaving the cluster.
	Timeout time.Duration `toml:"zk_timeout"`
	// Advertise is the host:port peers reach this node on; empty means the
	// server's TCP listen address.
	Advertise string `toml:"advertise"`
	// LeaseWorkerID takes the worker id from ZooKeeper (unique among live
	// nodes, 0–31) instead of node.worker_id, which is then only the first
	// id tried.
	LeaseWorkerID bool `toml:"lease_worker_id"`
}

// DefaultConfig: no cluster; when servers are set, /fae and /fae_meta, 6s
// ZooKeeper sessions.
func DefaultConfig() Config {
	return Config{Servers: []string{}, Root: "/fae", MetaRoot: "/fae_meta", ZKSessionTimeout: 6 * time.Second,
		Timeout: 2 * time.Second, LeaseWorkerID: true}
}

// Enabled says whether the node runs in a cluster.
func (c Config) Enabled() bool { return len(c.ServerList()) > 0 }

// ServerList is Servers with comma-separated entries split (so one
// ${FAED_ZK} can name a whole ensemble) and empty ones dropped.
func (c Config) ServerList() []string {
	var out []string
	for _, s := range c.Servers {
		for _, one := range strings.Split(s, ",") {
			if one = strings.TrimSpace(one); one != "" {
				out = append(out, one)
			}
		}
	}
	return out
}

// Validate checks the settings.
func (c Config) Validate() error {
	for _, s := range c.ServerList() {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("zk_servers: %q is not host:port", s)
		}
	}
	for name, p := range map[string]string{"root": c.Root, "meta_root": c.MetaRoot} {
		if !validPath(p) || p == "/" {
			return fmt.Errorf("%s: %q is not an absolute ZooKeeper path below /", name, p)
		}
	}
	if Within(c.Root, c.MetaRoot) || Within(c.MetaRoot, c.Root) {
		return errors.New("root and meta_root must not contain each other")
	}
	if c.ZKSessionTimeout < time.Second || c.Timeout <= 0 {
		return errors.New("session_timeout must be >= 1s and zk_timeout > 0")
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("advertise: %q is not host:port", c.Advertise)
		}
	}
	return nil
}

// validPath: absolute, no empty, "." or ".." segments, no trailing slash.
func validPath(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.ContainsRune(p, 0)
}

// Within reports whether p is root or below it.
func Within(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+"/")
}

// ForwardConfig tunes forwarding keyed calls to their owner (proxy.Proxy);
// it is the [cluster.forward] section.
type ForwardConfig struct {
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

// DefaultForwardConfig suits peers on one LAN.
func DefaultForwardConfig() ForwardConfig {
	return ForwardConfig{Timeout: 500 * time.Millisecond, DialTimeout: 200 * time.Millisecond, MaxIdle: 32,
		DownFor: 2 * time.Second, HealthInterval: 500 * time.Millisecond}
}

// Validate checks the settings.
func (c ForwardConfig) Validate() error {
	if c.Timeout <= 0 || c.DialTimeout <= 0 || c.DownFor <= 0 || c.HealthInterval <= 0 || c.MaxIdle < 0 {
		return errors.New("timeout, dial_timeout, down_for and health_interval must be > 0, max_idle >= 0")
	}
	return nil
}
