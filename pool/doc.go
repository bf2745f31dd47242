// Package pool holds faed's pooled backend clients, one sub-package per
// backend (redis, memcache, mysql, mongo), plus what they share: ring (the
// older daemon's CRC32 server placement), breaker (per-server circuit
// breakers), batch (concurrent calls to one server sent as one round trip)
// and, in this package, Servers (a configured server list flattened).
package pool
