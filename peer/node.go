package peer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Errors of the ZooKeeper side.
var (
	// ErrNoZKSession: ZooKeeper is not reachable right now.
	ErrNoZKSession = errors.New("no zookeeper session")
	// ErrTimeout: a ZooKeeper request took longer than zk_timeout.
	ErrTimeout = errors.New("zookeeper request timed out")
	// ErrNoWorker: no worker id is leased to this node.
	ErrNoWorker = errors.New("no worker id leased")
	// ErrProtected: zk_* may not write faed's own trees.
	ErrProtected = errors.New("path belongs to faed's cluster state")
	// ErrBadPath: not an absolute ZooKeeper path.
	ErrBadPath = errors.New("invalid zookeeper path")
)

// MaxWorker is the highest worker id (the id layout has 5 bits).
const MaxWorker = 31

// Info is what a node publishes in its member node, as JSON.
type Info struct {
	Version  string    `json:"version"`
	Started  time.Time `json:"started"`
	Admin    string    `json:"admin"`
	WorkerID int       `json:"worker_id"`
}

// Member is one live faed.
type Member struct {
	Addr string // host:port peers call it on; its node name under Root
	Info Info
}

// View is one membership, never modified once published.
type View struct {
	Members []Member // sorted by Addr
	Self    string   // this node's Addr
}

// Addrs lists the members' addresses, sorted.
func (v *View) Addrs() []string {
	out := make([]string, len(v.Members))
	for i, m := range v.Members {
		out[i] = m.Addr
	}
	return out
}

// Hooks let the owner of the node react to its ZooKeeper session. They run
// on the ZooKeeper client's event goroutine and must return at once.
type Hooks struct {
	// ZKSessionLost: the ZooKeeper session expired; what was held through it
	// (locks) is lost.
	ZKSessionLost func()
}

// Node is this faed's ZooKeeper presence.
type Node struct {
	cfg   Config
	self  string
	info  Info
	hooks Hooks
	log   *slog.Logger
	conn  *zk.Conn

	view      atomic.Pointer[View]
	worker    atomic.Int64 // leased id, -1 when none
	preferred int
	lostAt    atomic.Int64 // unix ns the connection was lost, 0 while connected
	leaving   atomic.Bool  // deregistered: never register again
	started   atomic.Bool
	closeOnce sync.Once
	stats     Stats

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// New builds the node and starts connecting to ZooKeeper; Start
// registers it. Until then the view is empty (every key is local).
func New(cfg Config, self string, info Info, preferredWorker int, hooks Hooks, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("no zk_servers configured")
	}
	n := &Node{cfg: cfg, self: self, info: info, hooks: hooks, log: log, preferred: preferredWorker,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	n.worker.Store(-1)
	n.view.Store(&View{Self: self})
	conn, _, err := zk.Connect(cfg.ServerList(), cfg.ZKSessionTimeout, zk.WithLogger(zkLogger{log}),
		zk.WithEventCallback(n.onEvent))
	if err != nil {
		return nil, fmt.Errorf("zookeeper %v: %w", cfg.ServerList(), err)
	}
	n.conn = conn
	return n, nil
}

// Start registers the node and keeps it registered until Close.
// It waits up to the session timeout for the first registration; a
// ZooKeeper that is down is not fatal: the node runs, without peers or a
// worker id, and registers once it can. Call it once the node serves.
func (n *Node) Start() {
	n.started.Store(true)
	registered := make(chan struct{})
	go n.run(registered)
	select {
	case <-registered:
	case <-time.After(n.cfg.ZKSessionTimeout):
		n.log.Warn("zookeeper not reachable yet; serving without peers until it is", "zk_servers", n.cfg.ServerList())
	}
}

// onEvent runs on the ZooKeeper client's goroutine: only atomics and a
// non-blocking wake-up.
func (n *Node) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	switch ev.State {
	case zk.StateDisconnected:
		n.lostAt.CompareAndSwap(0, time.Now().UnixNano())
	case zk.StateHasSession:
		n.lostAt.Store(0)
	case zk.StateExpired:
		n.worker.Store(-1)
		n.stats.Expired.Add(1)
		if n.hooks.ZKSessionLost != nil {
			n.hooks.ZKSessionLost()
		}
	}
	n.poke()
}

func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run keeps the registration and the watch on the member list alive,
// retrying a failed step shortly.
func (n *Node) run(registered chan struct{}) {
	defer close(n.done)
	st := runState{registered: registered}
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		if err := n.sync(&st); err != nil {
			n.log.Warn("zookeeper: retrying", "error", err)
			retry.Reset(200 * time.Millisecond)
		}
		select {
		case <-n.stop:
			return
		case <-st.watch:
			st.watch = nil
		case <-n.wake:
		case <-retry.C:
		}
	}
}

// runState is what run carries between steps.
type runState struct {
	zkSession  int64           // the ZooKeeper session registered under
	watch      <-chan zk.Event // the live watch on the member list
	registered chan struct{}   // closed at the first registration
}

// sync brings ZooKeeper in line with st: once per ZooKeeper session it
// (re)creates the member node and the worker lease, and without a live
// watch it re-reads the members and watches again.
func (n *Node) sync(st *runState) error {
	if n.conn.State() != zk.StateHasSession {
		return nil // the ZooKeeper session's events wake run again
	}
	if sid := n.conn.SessionID(); sid != st.zkSession {
		st.watch = nil
		if err := n.establish(); err != nil {
			return fmt.Errorf("registration: %w", err)
		}
		st.zkSession = sid
		n.stats.Registrations.Add(1)
		if st.registered != nil {
			close(st.registered)
			st.registered = nil
		}
	}
	if st.watch != nil {
		return nil
	}
	children, _, ch, err := n.conn.ChildrenW(n.cfg.Root)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	st.watch = ch
	n.publish(children)
	if n.cfg.LeaseWorkerID && n.worker.Load() < 0 && !n.leaving.Load() {
		_ = n.lease() // an id may have been freed by a node that left
	}
	return nil
}

// establish runs once per ZooKeeper session: the trees, the worker lease,
// the member node (in that order, so the member data carries the worker
// id).
func (n *Node) establish() error {
	for _, p := range []string{n.cfg.Root, n.cfg.MetaRoot, n.workersPath(), n.fencePath()} {
		if err := n.ensure(p); err != nil {
			return err
		}
	}
	if n.cfg.LeaseWorkerID {
		if err := n.lease(); err != nil {
			return err
		}
	}
	if n.leaving.Load() {
		return nil
	}
	info := n.info
	info.WorkerID = int(n.worker.Load())
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return n.claim(n.cfg.Root+"/"+n.self, data)
}

// claim creates an ephemeral node, replacing one left by an earlier
// ZooKeeper session of this node (same path, another session): the address
// is ours, so whoever held it is gone.
func (n *Node) claim(path string, data []byte) error {
	for range 3 {
		_, err := n.conn.Create(path, data, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		if !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
		_, st, err := n.conn.Get(path)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		if st.EphemeralOwner == n.conn.SessionID() {
			_, err := n.conn.Set(path, data, st.Version)
			return err
		}
		n.log.Info("replacing a node left by an earlier zookeeper session", "path", path)
		if err := n.conn.Delete(path, st.Version); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
	}
	return fmt.Errorf("%s: keeps being recreated by another zookeeper session", path)
}

// ensure creates a persistent node and its parents.
func (n *Node) ensure(path string) error {
	if path == "/" {
		return nil
	}
	if ok, _, err := n.conn.Exists(path); err != nil || ok {
		return err
	}
	if err := n.ensure(parentOf(path)); err != nil {
		return err
	}
	_, err := n.conn.Create(path, nil, 0, zk.WorldACL(zk.PermAll))
	if errors.Is(err, zk.ErrNodeExists) {
		return nil
	}
	return err
}

func parentOf(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

// publish reads every member's data and swaps in a new view.
func (n *Node) publish(children []string) {
	old := n.view.Load()
	known := map[string]Info{}
	for _, m := range old.Members {
		known[m.Addr] = m.Info
	}
	members := make([]Member, 0, len(children))
	for _, c := range children {
		info, ok := known[c]
		if !ok {
			data, _, err := n.conn.Get(n.cfg.Root + "/" + c)
			if err != nil {
				continue // gone already, or unreadable: the next event re-reads
			}
			if err := json.Unmarshal(data, &info); err != nil {
				n.log.Warn("member node with bad data", "member", c, "error", err)
			}
		}
		members = append(members, Member{Addr: c, Info: info})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Addr < members[j].Addr })
	n.view.Store(&View{Members: members, Self: n.self})
	n.stats.Views.Add(1)
	n.log.Info("cluster membership", "members", len(members), "addrs", (&View{Members: members}).Addrs())
}

// View is the latest membership (possibly empty, never nil). Connection
// loss keeps the last one.
func (n *Node) View() *View { return n.view.Load() }

// Registered says whether the node has been a member at least once.
func (n *Node) Registered() bool { return n.stats.Registrations.Load() > 0 }

// Self is this node's address.
func (n *Node) Self() string { return n.self }

// Connected reports whether the node has a live ZooKeeper session.
func (n *Node) Connected() bool { return n.conn.State() == zk.StateHasSession }

// Deregister removes this node from the member list (first step of a
// graceful stop: peers stop sending it keys). The ZooKeeper session, and
// with it the worker lease, stays until Close.
//
// Only this session's node is removed: after a binary upgrade the member
// node at this address belongs to the successor, which registered first.
func (n *Node) Deregister() error {
	n.leaving.Store(true)
	path := n.cfg.Root + "/" + n.self
	err := n.do(func() error {
		_, st, err := n.conn.Get(path)
		if err != nil {
			return err
		}
		if st.EphemeralOwner != n.conn.SessionID() {
			n.log.Info("leaving the cluster: the member node is a successor's now", "path", path)
			return nil
		}
		return n.conn.Delete(path, st.Version)
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}

// Close ends the ZooKeeper session, which releases the worker id. Later
// calls do nothing.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.leaving.Store(true)
		if n.started.Load() {
			close(n.stop)
			<-n.done
		}
		n.conn.Close()
	})
}

// do runs one ZooKeeper request on a caller's behalf: at once an error
// without a ZooKeeper session, and never longer than zk_timeout.
func (n *Node) do(f func() error) error {
	if !n.Connected() {
		return ErrNoZKSession
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(n.cfg.Timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("%w after %v", ErrTimeout, n.cfg.Timeout)
	}
}

// Stats count the node's ZooKeeper events.
type Stats struct {
	Registrations atomic.Int64 // member node (re)created, once per ZooKeeper session
	Expired       atomic.Int64 // ZooKeeper sessions expired
	Views         atomic.Int64 // views published
}

// StatsSnapshot is the node's state and Stats as plain values, for /stats.
type StatsSnapshot struct {
	Self          string   `json:"self"`
	Connected     bool     `json:"connected"`
	WorkerID      int64    `json:"worker_id"`
	Members       []string `json:"members"`
	Registrations int64    `json:"registrations"`
	Expired       int64    `json:"sessions_expired"`
	Views         int64    `json:"views"`
}

// Snapshot reads the stats.
func (n *Node) Snapshot() StatsSnapshot {
	return StatsSnapshot{Self: n.self, Connected: n.Connected(), WorkerID: n.worker.Load(),
		Members: n.View().Addrs(), Registrations: n.stats.Registrations.Load(),
		Expired: n.stats.Expired.Load(), Views: n.stats.Views.Load()}
}

// zkLogger sends the ZooKeeper client's chatter to the debug log. Its text
// goes under "detail": a second "msg" key would make JSON lines ambiguous.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zookeeper client", "detail", fmt.Sprintf(format, args...))
}
