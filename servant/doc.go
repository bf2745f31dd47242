// Package servant implements the generated FunServant interface: the thin
// adapter between the wire and faed's parts. One file per domain (id,
// lcache, lock, redis, memcache, couchbase, mongo, mysql with mysqltx and
// mysqlmerge, zk, system); route.go is the cluster routing policy of every
// keyed method and the one function that forwards them; errors.go is where
// errors become wire exceptions. The parts themselves (the lock table, the
// id generator, the query cache, the backend pools) live in their own
// packages behind the small interfaces each file defines, so a test can
// fake them.
package servant
