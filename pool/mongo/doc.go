// Package mongo is faed's pooled MongoDB client on mongo-driver v2: named
// servers, the legacy and standard shard selection of mg_*, per-server
// breakers, and the operations mg_* need, on raw BSON documents.
package mongo
