// Package servant implements the generated FunServant interface: one file
// per domain (id, lcache, lock, redis, memcache, couchbase, mongo, mysql,
// zk). Errors reach the wire through errors.go only; everything else returns
// plain Go errors wrapped with context.
package servant
