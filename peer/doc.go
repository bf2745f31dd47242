// Package peer owns faed's ZooKeeper session: it registers this node as an
// ephemeral member under the cluster root, watches the other members and
// publishes each membership as an immutable, sorted View; it leases this
// node's id-generator worker id and hands out fencing tokens. It knows
// nothing of RPC: proxy turns views into owners and forwards calls.
package peer
