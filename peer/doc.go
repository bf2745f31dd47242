// Package peer owns faed's ZooKeeper session: it registers this node as an
// ephemeral member under the cluster root, watches the other members and
// publishes each membership as an immutable, sorted View; it leases this
// node's id-generator worker id, hands out fencing tokens and runs zk_*
// requests outside faed's own trees. It knows nothing of RPC: proxy turns
// views into owners and forwards calls.
package peer
