// Package cache is faed's in-process cache: a sharded LRU of string keys to
// byte values, bounded by item count and by bytes, with optional TTLs. It
// backs lc_* and the MySQL query cache.
//
// Each shard is an unsynchronised LRU core (hashicorp/golang-lru's
// simplelru) behind the shard's own mutex, so concurrent callers rarely meet
// on a lock. It uses only the standard library and golang-lru.
package cache
