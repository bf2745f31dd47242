package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
)

// clusterConf is the [cluster] section of a test node: short sessions so
// expiry and failover happen within the test's seconds.
func clusterConf(zk string) string {
	return fmt.Sprintf("[cluster]\nzk_servers = [%q]\nsession_timeout = \"2s\"\ncache_mode = true\n"+
		"[cluster.forward]\ndown_for = \"500ms\"\nhealth_interval = \"200ms\"\n", zk)
}

type node struct {
	*proc
	dir   string
	extra string
}

// startNode runs a cluster node on an address reserved for it: faed
// advertises its configured listen address to its peers, fixed before it
// binds, so a cluster node cannot listen on port 0 (the single-node tests
// do).
func startNode(t *testing.T, extra string) *node {
	t.Helper()
	dir := t.TempDir()
	return &node{proc: startFaedAt(t, dir, reserveAddr(t), extra), dir: dir, extra: extra}
}

// restart runs the node again on its old address.
func (n *node) restart(t *testing.T) {
	t.Helper()
	n.proc = startFaedAt(t, n.dir, n.addr, n.extra)
}

// reserveAddr is an address for a cluster node, free when returned. The
// port is released before faed binds it, so it is taken on a random
// loopback address (Linux routes all of 127/8 to lo): outgoing
// connections, which take ports on 127.0.0.1, and other tests' listeners
// on 127.0.0.1:0 cannot collide with it.
func reserveAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		host := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			continue
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	t.Fatal("no loopback address to reserve")
	return ""
}

// cluster is ZooKeeper (and MariaDB when asked) with faed nodes joined to
// it, built for one test.
type cluster struct {
	stack   *devstack.Stack
	nodes   []*node
	clients []*rpc.FunServantClient // one per node
}

// startCluster starts the backends in ports and n nodes, and waits until
// every node sees all of them.
func startCluster(t *testing.T, n int, ports devstack.Ports) *cluster {
	t.Helper()
	stack, sv := devstack.Start(t, ports)
	extra := clusterConf(sv.ZK)
	if sv.MySQL != "" {
		extra += mysqlConf(sv.MySQL)
	}
	c := &cluster{stack: stack}
	for range n {
		c.nodes = append(c.nodes, startNode(t, extra))
	}
	took := waitMembers(t, c.nodes, c.nodes)
	t.Logf("membership of %d nodes converged in %v", n, took)
	for _, nd := range c.nodes {
		c.clients = append(c.clients, client(t, "tcp", nd.addr))
	}
	return c
}

// clusterStatsOf reads /stats' cluster section.
func clusterStatsOf(t *testing.T, n *node) (members []string, registrations int64, worker int64) {
	t.Helper()
	var st struct {
		Cluster struct {
			Node struct {
				Members       []string `json:"members"`
				Registrations int64    `json:"registrations"`
				WorkerID      int64    `json:"worker_id"`
			} `json:"node"`
		} `json:"cluster"`
	}
	statsOf(t, n.admin, &st)
	return st.Cluster.Node.Members, st.Cluster.Node.Registrations, st.Cluster.Node.WorkerID
}

// waitMembers waits until every node sees exactly want as members.
func waitMembers(t *testing.T, nodes []*node, want []*node) time.Duration {
	t.Helper()
	var addrs []string
	for _, n := range want {
		addrs = append(addrs, n.addr)
	}
	slices.Sort(addrs)
	start := time.Now()
	for {
		ok := true
		for _, n := range nodes {
			if m, _, _ := clusterStatsOf(t, n); !slices.Equal(m, addrs) {
				ok = false
			}
		}
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("members did not converge to %v in 60s", addrs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCluster's subtests share one three-node cluster, so each must stand
// alone: its own keys and paths, every node left up and registered. What
// kills, stops or pauses a node or ZooKeeper is a test of its own, in
// cluster_failure_test.go.
func TestCluster(t *testing.T) {
	c := startCluster(t, 3, devstack.Ports{ZK: 18181})
	t.Run("worker ids are leased and unique", c.testWorkerIDs)
	t.Run("ids from all nodes are unique", c.testUniqueIDs)
	t.Run("keyed calls from any node reach the owner", c.testKeyedCalls)
	t.Run("a lock is exclusive across nodes", c.testLockExclusive)
	t.Run("fencing tokens only grow", c.testFencingTokens)
	t.Run("zk_* work and cannot touch faed's trees", c.testZKCalls)
}

func (c *cluster) testWorkerIDs(t *testing.T) {
	seen := map[int64]string{}
	for _, n := range c.nodes {
		_, _, w := clusterStatsOf(t, n)
		if w < 0 || w > 31 {
			t.Fatalf("%s has worker id %d", n.addr, w)
		}
		if other, dup := seen[w]; dup {
			t.Fatalf("worker id %d on %s and %s", w, other, n.addr)
		}
		seen[w] = n.addr
		body := scrape(t, n.admin)
		for _, m := range []string{"faed_cluster_members 3", "faed_cluster_zookeeper_connected 1", fmt.Sprintf("faed_cluster_worker_id %d", w),
			"faed_cluster_evict_failed_total 0"} {
			if !strings.Contains(body, m+"\n") {
				t.Fatalf("%s /metrics lacks %q", n.addr, m)
			}
		}
	}
}

func (c *cluster) testUniqueIDs(t *testing.T) {
	ctx := context.Background()
	ids := map[int64]bool{}
	for i, cl := range c.clients {
		_, _, w := clusterStatsOf(t, c.nodes[i])
		for range 3000 {
			id, err := cl.IDNext(ctx, rctx(1))
			if err != nil {
				t.Fatal(err)
			}
			if ids[id] {
				t.Fatalf("duplicate id %d", id)
			}
			ids[id] = true
			if got := id >> 12 & 31; got != w {
				t.Fatalf("id %d carries worker %d, node has %d", id, got, w)
			}
		}
	}
}

func (c *cluster) testKeyedCalls(t *testing.T) {
	ctx := context.Background()
	for k := range 60 {
		key := fmt.Sprintf("shared-%d", k)
		if _, err := c.clients[k%3].LcSet(ctx, rctx(1), key, []byte(key)); err != nil {
			t.Fatal(err)
		}
		for _, cl := range c.clients {
			v, err := cl.LcGet(ctx, rctx(1), key)
			if err != nil || string(v) != key {
				t.Fatalf("lc_get %s: %q, %v", key, v, err)
			}
		}
	}
	// The owner's declared exceptions and errors come back as they are.
	for i, cl := range c.clients {
		var miss *rpc.TCacheMissed
		if _, err := cl.LcGet(ctx, rctx(1), fmt.Sprint("missing-", i)); !errors.As(err, &miss) {
			t.Fatalf("lc_get of a missing key through node %d: %v", i, err)
		}
		_, err := cl.LcGet(ctx, rctx(1), "")
		if err == nil || strings.Count(err.Error(), "Internal error processing") != 1 || !strings.Contains(err.Error(), "empty key") {
			t.Fatalf("lc_get of an empty key through node %d: %v", i, err)
		}
	}
}

func (c *cluster) testLockExclusive(t *testing.T) {
	ctx := context.Background()
	for k := range 5 {
		key := fmt.Sprintf("lock-%d", k)
		var mu sync.Mutex
		granted, errs := 0, []error{}
		var wg sync.WaitGroup
		for g := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := client(t, "tcp", c.nodes[g%3].addr)
				ok, err := cl.Lock(ctx, rctx(int64(1000+g)), "test", key)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					granted++
				}
			}()
		}
		wg.Wait()
		if granted != 1 || len(errs) > 0 {
			t.Fatalf("%s: %d of 30 got the lock, errors %v", key, granted, errs)
		}
	}
}

func (c *cluster) testFencingTokens(t *testing.T) {
	ctx, clients := context.Background(), c.clients
	var last int64
	for i := range 30 {
		key := fmt.Sprintf("fenced-%d", i%4)
		cl := clients[i%3]
		tok, err := cl.LockFenced(ctx, rctx(int64(i+1)), "test", key, 5000)
		if err != nil || tok <= last {
			t.Fatalf("grant %d: token %d after %d, err %v", i, tok, last, err)
		}
		if again, err := clients[(i+1)%3].LockFenced(ctx, rctx(99), "test", key, 5000); err != nil || again != 0 {
			t.Fatalf("held key granted again: %d, %v", again, err)
		}
		if ok, err := cl.UnlockFenced(ctx, rctx(int64(i+1)), "test", key, tok-1); err != nil || ok {
			t.Fatalf("unlock with a wrong token: %v, %v", ok, err)
		}
		if ok, err := clients[(i+2)%3].UnlockFenced(ctx, rctx(5), "test", key, tok); err != nil || !ok {
			t.Fatalf("unlock with the token: %v, %v", ok, err)
		}
		last = tok
	}
	// An expired grant: the next holder's token is larger, and the late
	// unlock by the old token releases nothing.
	old, _ := clients[0].LockFenced(ctx, rctx(1), "test", "expiring", 100)
	time.Sleep(150 * time.Millisecond)
	next, err := clients[1].LockFenced(ctx, rctx(2), "test", "expiring", 5000)
	if err != nil || next <= old || old == 0 {
		t.Fatalf("after expiry: old %d next %d err %v", old, next, err)
	}
	if ok, _ := clients[2].UnlockFenced(ctx, rctx(1), "test", "expiring", old); ok {
		t.Fatal("a late unlock with the expired token released the new grant")
	}
}

func (c *cluster) testZKCalls(t *testing.T) {
	ctx, clients := context.Background(), c.clients
	if ok, err := clients[0].ZkCreate(ctx, rctx(1), "/app/conf/a", "1"); err != nil || !ok {
		t.Fatalf("zk_create: %v, %v", ok, err)
	}
	if _, err := clients[1].ZkCreate(ctx, rctx(1), "/app/conf/b", "2"); err != nil {
		t.Fatal(err)
	}
	kids, err := clients[2].ZkChildren(ctx, rctx(1), "/app/conf")
	if err != nil || !slices.Equal(kids, []string{"a", "b"}) {
		t.Fatalf("zk_children: %v, %v", kids, err)
	}
	if _, err := clients[0].ZkCreate(ctx, rctx(1), "/app/conf/a", "1"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("zk_create of an existing node: %v", err)
	}
	if ok, err := clients[2].ZkDel(ctx, rctx(1), "/app/conf/a"); err != nil || !ok {
		t.Fatalf("zk_del: %v, %v", ok, err)
	}
	for _, p := range []string{"/fae/" + c.nodes[0].addr, "/fae", "/fae/x", "/fae_meta/workers/00"} {
		if _, err := clients[0].ZkDel(ctx, rctx(1), p); err == nil || !strings.Contains(err.Error(), "cluster state") {
			t.Fatalf("zk_del %s: %v", p, err)
		}
		if _, err := clients[0].ZkCreate(ctx, rctx(1), p+"/y", ""); err == nil || !strings.Contains(err.Error(), "cluster state") {
			t.Fatalf("zk_create under %s: %v", p, err)
		}
	}
	if _, err := clients[0].ZkChildren(ctx, rctx(1), "/nope"); err == nil {
		t.Fatal("zk_children of a missing node succeeded")
	}
	if m, err := clients[0].ZkChildren(ctx, rctx(1), "/fae"); err != nil || len(m) != 3 {
		t.Fatalf("reading the member list: %v, %v", m, err)
	}
}

func TestClusterQueryCacheSharedThroughOwner(t *testing.T) {
	c := startCluster(t, 3, devstack.Ports{ZK: 18185, MySQL: 18308})
	ctx, clients := context.Background(), c.clients
	q := func(cl *rpc.FunServantClient) string {
		t.Helper()
		r, err := cl.MyQuery(ctx, rctx(1), "UserShard", "UserInfo", 3, "SELECT name FROM UserInfo WHERE uid = ?", []string{"3"}, "user:3")
		if err != nil || len(r.Rows) != 1 {
			t.Fatalf("my_query: %v, %v", r, err)
		}
		return r.Rows[0][0]
	}
	if got := q(clients[0]); got != "u3" {
		t.Fatalf("first read %q", got)
	}
	// A write without the cacheKey leaves the cached row in place...
	if _, err := clients[1].MyQuery(ctx, rctx(1), "UserShard", "UserInfo", 3, "UPDATE UserInfo SET name = 'changed' WHERE uid = ?", []string{"3"}, ""); err != nil {
		t.Fatal(err)
	}
	// ...so every node reads the one cached copy, wherever it runs.
	for i, cl := range clients {
		if got := q(cl); got != "u3" {
			t.Fatalf("node %d read %q: not the owner's cached copy", i, got)
		}
	}
	if err := clients[2].MyEvict(ctx, rctx(1), "user:3"); err != nil {
		t.Fatal(err)
	}
	for i, cl := range clients {
		if got := q(cl); got != "changed" {
			t.Fatalf("node %d read %q after my_evict", i, got)
		}
	}
	// Writes with the cacheKey evict it on the owner, whichever node
	// runs them: my_bulk_exec, and a transaction's write.
	for i, cl := range clients {
		name := fmt.Sprint("bulk-", i)
		if _, err := cl.MyBulkExec(ctx, rctx(1), []string{"UserShard"}, []string{"UserInfo"}, []int64{3},
			[]string{"UPDATE UserInfo SET name = ? WHERE uid = 3"}, [][]string{{name}}, []string{"user:3"}); err != nil {
			t.Fatal(err)
		}
		for j, r := range clients {
			if got := q(r); got != name {
				t.Fatalf("node %d read %q after my_bulk_exec through node %d", j, got, i)
			}
		}
		tx := client(t, "tcp", c.nodes[i].addr)
		name = fmt.Sprint("tx-", i)
		for _, sql := range []string{"BEGIN", "UPDATE UserInfo SET name = ? WHERE uid = 3", "COMMIT"} {
			var argv []string
			if strings.HasPrefix(sql, "UPDATE") {
				argv = []string{name}
			}
			if _, err := tx.MyQuery(ctx, rctx(1), "UserShard", "UserInfo", 3, sql, argv, "user:3"); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		for j, r := range clients {
			if got := q(r); got != name {
				t.Fatalf("node %d read %q after a transaction through node %d", j, got, i)
			}
		}
	}
}
