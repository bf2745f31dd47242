// Package mysql is faed's pooled MySQL client: one database/sql pool per
// configured server, sharding through lookup tables (mappings cached),
// statements classified by their first words (query, exec, or a
// transaction's begin, commit or rollback) with every value returned as a
// string, caps on result size, per-server circuit breakers and
// transactions pinned to one backend connection.
package mysql
