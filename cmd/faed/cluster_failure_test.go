package main

// Cluster tests where a node or ZooKeeper fails or stops: each builds its
// own cluster, since what it breaks cannot be shared.

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
)

func TestClusterExpiredSessionReregisters(t *testing.T) {
	c := startCluster(t, 3, devstack.Ports{ZK: 18187})
	nodes, n := c.nodes, c.nodes[2]
	_, before, _ := clusterStatsOf(t, n)
	// A pause longer than the session timeout (a stuck VM, a long GC)
	// makes ZooKeeper expire the session and drop the member.
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, nodes[:2], nodes[:2])
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	took := waitMembers(t, nodes, nodes)
	_, after, _ := clusterStatsOf(t, n)
	if after != before+1 {
		t.Fatalf("registrations %d -> %d", before, after)
	}
	t.Logf("re-registered %v after the pause ended", took)
	seen := map[int64]bool{}
	for _, x := range nodes {
		_, _, w := clusterStatsOf(t, x)
		if seen[w] || w < 0 {
			t.Fatalf("worker ids after re-registration not unique: %d", w)
		}
		seen[w] = true
	}
}

func TestClusterRestartInPlaceReplacesStaleMember(t *testing.T) {
	c := startCluster(t, 3, devstack.Ports{ZK: 18189})
	nodes, n := c.nodes, c.nodes[1]
	n.kill()
	n.restart(t) // the old session is still alive in ZooKeeper
	waitMembers(t, nodes, nodes)
	time.Sleep(3 * time.Second) // the old session expires: the new node must stay
	waitMembers(t, nodes, nodes)
	if _, err := client(t, "tcp", n.addr).Ping(context.Background(), rctx(1)); err != nil {
		t.Fatalf("the restarted node does not serve: %v", err)
	}
}

func TestClusterKilledNodeKeysServedByOthers(t *testing.T) {
	c := startCluster(t, 3, devstack.Ports{ZK: 18191})
	ctx, clients := context.Background(), c.clients
	c.nodes[2].kill()
	start := time.Now()
	for k := 0; k < 40; {
		key := fmt.Sprintf("after-kill-%d", k)
		ok, err := clients[k%2].Lock(ctx, rctx(int64(k+1)), "test", key)
		if err == nil && ok {
			k++
			continue
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("key %s still failing 30s after the kill: %v", key, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("every key served %v after kill -9", time.Since(start))
	nodes := c.nodes[:2]
	waitMembers(t, nodes, nodes)
}

func TestClusterZooKeeperStopped(t *testing.T) {
	c := startCluster(t, 2, devstack.Ports{ZK: 18193, MySQL: 18310})
	ctx, clients, nodes := context.Background(), c.clients, c.nodes
	c.stack.Stop(t, "zk")
	time.Sleep(300 * time.Millisecond)
	// Data calls work without ZooKeeper.
	for k := range 20 {
		key := fmt.Sprintf("nozk-%d", k)
		if _, err := clients[k%2].LcSet(ctx, rctx(1), key, []byte("v")); err != nil {
			t.Fatalf("lc_set without zookeeper: %v", err)
		}
		if v, err := clients[(k+1)%2].LcGet(ctx, rctx(1), key); err != nil || string(v) != "v" {
			t.Fatalf("lc_get without zookeeper: %q %v", v, err)
		}
	}
	if _, err := clients[0].MyQuery(ctx, rctx(1), "Global", "", 0, "SELECT 1", nil, "one"); err != nil {
		t.Fatalf("my_query without zookeeper: %v", err)
	}
	// Locks and tokens fail clearly.
	for k := range 10 {
		_, err := clients[0].Lock(ctx, rctx(1), "test", fmt.Sprintf("nozk-lock-%d", k))
		if err == nil || !strings.Contains(err.Error(), "zookeeper") {
			t.Fatalf("lock without zookeeper: %v", err)
		}
	}
	if _, err := clients[1].LockFenced(ctx, rctx(1), "test", "nozk", 0); err == nil || !strings.Contains(err.Error(), "zookeeper") {
		t.Fatalf("lock_fenced without zookeeper: %v", err)
	}
	if _, err := clients[1].ZkChildren(ctx, rctx(1), "/app"); err == nil {
		t.Fatal("zk_children without zookeeper succeeded")
	}
	// Past half the session timeout the worker lease may lapse in
	// ZooKeeper, so ids stop rather than risk a duplicate.
	time.Sleep(1200 * time.Millisecond)
	if _, err := clients[0].IDNext(ctx, rctx(1)); err == nil || !strings.Contains(err.Error(), "worker id") {
		t.Fatalf("id_next with zookeeper gone past the lease margin: %v", err)
	}
	c.stack.Restart(t, "zk")
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := clients[0].Lock(ctx, rctx(1), "test", "zk-back")
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("locks not back 30s after zookeeper: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitMembers(t, nodes, nodes)
	// The worker id is leased again once the node has re-registered,
	// which may be just after locks are back; until then id_next refuses.
	for {
		_, err := clients[0].IDNext(ctx, rctx(1))
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "worker id") || time.Now().After(deadline) {
			t.Fatalf("id_next with zookeeper back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClusterGracefulStopDeregistersFirst(t *testing.T) {
	c := startCluster(t, 2, devstack.Ports{ZK: 18195})
	nodes := c.nodes
	if err := nodes[1].stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit: %v\n%s", err, nodes[1].stderr)
	}
	waitMembers(t, nodes[:1], nodes[:1])
	if !strings.Contains(nodes[1].stderr.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", nodes[1].stderr)
	}
}

// A node whose ZooKeeper is gone still stops gracefully: it cannot delete
// its member node (that goes with the session), warns, and exits 0.
func TestStopWithZooKeeperDown(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{ZK: 18183})
	n := startNode(t, clusterConf(sv.ZK))
	waitMembers(t, []*node{n}, []*node{n})
	stack.Stop(t, "zk")
	if err := n.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit with zookeeper down: %v\n%s", err, n.stderr)
	}
	log := n.stderr.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "leaving the cluster") || !strings.Contains(log, "msg=stopped") {
		t.Fatalf("want a warning about leaving and a clean stop in the log:\n%s", log)
	}
}

// A transaction's write whose cacheKey's owner is out of reach still
// commits, and each eviction it could not make is counted in
// faed_cluster_evict_failed_total: the write evicts at once and again at
// COMMIT, so twice per key the dead node owns. (A write outside a
// transaction is itself routed to the owner and, out of reach, runs here
// without the cache: nothing to evict, nothing counted.)
func TestClusterEvictFailedCounted(t *testing.T) {
	c := startCluster(t, 2, devstack.Ports{ZK: 18197, MySQL: 18311})
	ctx, a, admin := context.Background(), c.clients[0], c.nodes[0].admin
	read := func(key string) {
		t.Helper()
		if _, err := a.MyQuery(ctx, rctx(1), "Global", "", 0, "SELECT 1", nil, key); err != nil {
			t.Fatalf("cached read of %s: %v", key, err)
		}
	}
	forwarded := func() float64 { return scrapeMetrics(t, admin).get(t, "faed_cluster_forwarded_calls_total") }
	// Which keys node 1 owns: a cached read through node 0 is forwarded
	// exactly when it does.
	var keys []string
	owned := 0.0
	for i := range 40 {
		key := fmt.Sprint("evict-", i)
		before := forwarded()
		read(key)
		switch forwarded() - before {
		case 1:
			owned++
		case 0:
		default:
			t.Fatalf("one read of %s forwarded more than once", key)
		}
		keys = append(keys, key)
	}
	if owned == 0 || owned == 40 {
		t.Fatalf("node 1 owns %v of 40 keys: the ring is not spread", owned)
	}
	// ZooKeeper stopped first, so node 0 keeps node 1 in its view after
	// the kill and still sends node 1's keys there.
	c.stack.Stop(t, "zk")
	c.nodes[1].kill()
	run := func(sql string, argv []string, key string) {
		t.Helper()
		if _, err := a.MyQuery(ctx, rctx(1), "Global", "", 0, sql, argv, key); err != nil {
			t.Fatalf("%s (cacheKey %q) with the key's owner dead: %v", sql, key, err)
		}
	}
	run("BEGIN", nil, "")
	for _, key := range keys {
		run("INSERT INTO Event (what) VALUES (?)", []string{key}, key)
	}
	run("COMMIT", nil, "")
	if got := scrapeMetrics(t, admin).get(t, "faed_cluster_evict_failed_total"); got != 2*owned {
		t.Fatalf("evict_failed_total %v after a transaction wrote %v keys of a dead owner, want %v", got, owned, 2*owned)
	}
}
