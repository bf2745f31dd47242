package peer

import (
	"fmt"
	"sort"

	"github.com/go-zookeeper/zk"
)

// Create makes a persistent node holding data, creating missing parents.
// faed's own trees are refused.
func (n *Node) Create(path string, data []byte) error {
	if err := n.writable(path); err != nil {
		return err
	}
	return n.do(func() error {
		if err := n.ensure(parentOf(path)); err != nil {
			return err
		}
		_, err := n.conn.Create(path, data, 0, zk.WorldACL(zk.PermAll))
		return err
	})
}

// Children lists a node's children, sorted.
func (n *Node) Children(path string) ([]string, error) {
	if !validPath(path) {
		return nil, fmt.Errorf("%w: %q", ErrBadPath, path)
	}
	var out []string
	err := n.do(func() (err error) {
		out, _, err = n.conn.Children(path)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// Delete removes a node (any version). faed's own trees are refused.
func (n *Node) Delete(path string) error {
	if err := n.writable(path); err != nil {
		return err
	}
	return n.do(func() error { return n.conn.Delete(path, -1) })
}

func (n *Node) writable(path string) error {
	if !validPath(path) || path == "/" {
		return fmt.Errorf("%w: %q", ErrBadPath, path)
	}
	if Within(path, n.cfg.Root) || Within(path, n.cfg.MetaRoot) {
		return fmt.Errorf("%w: %q (root %s, meta_root %s)", ErrProtected, path, n.cfg.Root, n.cfg.MetaRoot)
	}
	return nil
}
