package peer

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

func (n *Node) workersPath() string { return n.cfg.MetaRoot + "/workers" }
func (n *Node) fencePath() string   { return n.cfg.MetaRoot + "/fence" }

// lease takes a worker id as an ephemeral node <meta_root>/workers/NN
// holding this node's address: the preferred id first (the one held
// before, or node.worker_id), then the lowest free one. A node of ours
// from an earlier ZooKeeper session is taken back. No free id is not
// fatal: the node serves everything but ids, and tries again on each
// membership change.
func (n *Node) lease() error {
	order := []int{n.preferred}
	for id := 0; id <= MaxWorker; id++ {
		if id != n.preferred {
			order = append(order, id)
		}
	}
	for _, id := range order {
		if id < 0 || id > MaxWorker {
			continue
		}
		path := fmt.Sprintf("%s/%02d", n.workersPath(), id)
		_, err := n.conn.Create(path, []byte(n.self), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNodeExists) {
			data, _, gerr := n.conn.Get(path)
			if gerr != nil || string(data) != n.self {
				continue // another live node's
			}
			err = n.claim(path, []byte(n.self))
		}
		if err != nil {
			return fmt.Errorf("worker id %d: %w", id, err)
		}
		n.preferred = id
		n.worker.Store(int64(id))
		n.log.Info("worker id leased", "worker_id", id)
		return nil
	}
	n.log.Error("no worker id free: id_next fails until one is", "max", MaxWorker+1)
	return nil
}

// Worker is the leased worker id. While ZooKeeper is unreachable for more
// than half the session timeout the lease may lapse on the server side (and
// another node take the id), so the id is refused from then on until the
// ZooKeeper session is back.
func (n *Node) Worker() (int, error) {
	w := n.worker.Load()
	if w < 0 {
		return -1, fmt.Errorf("%w: all %d are taken or zookeeper is unreachable", ErrNoWorker, MaxWorker+1)
	}
	if t := n.lostAt.Load(); t != 0 {
		if off := time.Since(time.Unix(0, t)); off > n.cfg.ZKSessionTimeout/2 {
			return -1, fmt.Errorf("%w: zookeeper unreachable for %v, the lease may lapse", ErrNoWorker, off.Truncate(time.Millisecond))
		}
	}
	return int(w), nil
}

// Fence returns a fencing token: the ZooKeeper transaction id of a write to
// <meta_root>/fence. Every later token, from any node, is larger, so a
// token grows with each grant of a key even when the key's owner changes.
func (n *Node) Fence() (int64, error) {
	var st *zk.Stat
	err := n.do(func() (err error) {
		st, err = n.conn.Set(n.fencePath(), nil, -1)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("fencing token: %w", err)
	}
	return st.Mzxid, nil
}
