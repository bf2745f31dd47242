// Package pool holds faed's pooled backend clients, one sub-package per
// backend (redis, memcache; mysql and mongo to come), plus what they share:
// ring (compat server placement) and breaker (per-server circuit breakers).
package pool
