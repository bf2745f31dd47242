// Package mysql is faed's pooled MySQL client: one database/sql pool per
// configured server, sharding through lookup tables, statements classified
// as query or exec with every value returned as a string, caps on result
// size, per-server circuit breakers and transactions pinned to one backend
// connection.
package mysql
