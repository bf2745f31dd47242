package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
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

func startNode(t *testing.T, extra string) *node {
	t.Helper()
	dir := t.TempDir()
	return &node{proc: startFaed(t, dir, extra), dir: dir, extra: extra}
}

// restart runs the node again on its old addresses.
func (n *node) restart(t *testing.T) {
	t.Helper()
	n.proc = startFaedAt(t, n.dir, n.addr, n.admin, n.extra)
}

// clusterStatsOf reads /stats' cluster section.
func clusterStatsOf(t *testing.T, n *node) (members []string, registrations int64, worker int64) {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Cluster struct {
			Node struct {
				Members       []string `json:"members"`
				Registrations int64    `json:"registrations"`
				WorkerID      int64    `json:"worker_id"`
			} `json:"node"`
		} `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
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

func TestCluster(t *testing.T) {
	stack, sv := devstack.Start(t, devstack.Ports{ZK: 18181, MySQL: 18308})
	extra := clusterConf(sv.ZK) + mysqlConf(sv.MySQL)
	nodes := []*node{startNode(t, extra), startNode(t, extra), startNode(t, extra)}
	took := waitMembers(t, nodes, nodes)
	t.Logf("membership converged in %v", took)
	ctx := context.Background()
	outer := t // what must outlive a subtest is cleaned up by the whole test
	clients := make([]*rpc.FunServantClient, len(nodes))
	for i, n := range nodes {
		clients[i] = client(t, "tcp", n.addr)
	}

	t.Run("worker ids are leased and unique", func(t *testing.T) {
		seen := map[int64]string{}
		for _, n := range nodes {
			_, _, w := clusterStatsOf(t, n)
			if w < 0 || w > 31 {
				t.Fatalf("%s has worker id %d", n.addr, w)
			}
			if other, dup := seen[w]; dup {
				t.Fatalf("worker id %d on %s and %s", w, other, n.addr)
			}
			seen[w] = n.addr
			resp, err := http.Get("http://" + n.admin + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, m := range []string{"faed_cluster_members 3", "faed_cluster_zookeeper_connected 1", fmt.Sprintf("faed_cluster_worker_id %d", w)} {
				if !strings.Contains(string(body), m+"\n") {
					t.Fatalf("%s /metrics lacks %q", n.addr, m)
				}
			}
		}
	})

	t.Run("ids from all nodes are unique", func(t *testing.T) {
		ids := map[int64]bool{}
		for i, c := range clients {
			_, _, w := clusterStatsOf(t, nodes[i])
			for range 3000 {
				id, err := c.IDNext(ctx, rctx(1))
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
	})

	t.Run("keyed calls from any node reach the owner", func(t *testing.T) {
		for k := range 60 {
			key := fmt.Sprintf("shared-%d", k)
			if _, err := clients[k%3].LcSet(ctx, rctx(1), key, []byte(key)); err != nil {
				t.Fatal(err)
			}
			for _, c := range clients {
				v, err := c.LcGet(ctx, rctx(1), key)
				if err != nil || string(v) != key {
					t.Fatalf("lc_get %s: %q, %v", key, v, err)
				}
			}
		}
		// The owner's declared exceptions and errors come back as they are.
		for i, c := range clients {
			var miss *rpc.TCacheMissed
			if _, err := c.LcGet(ctx, rctx(1), fmt.Sprint("missing-", i)); !errors.As(err, &miss) {
				t.Fatalf("lc_get of a missing key through node %d: %v", i, err)
			}
			_, err := c.LcGet(ctx, rctx(1), "")
			if err == nil || strings.Count(err.Error(), "Internal error processing") != 1 || !strings.Contains(err.Error(), "empty key") {
				t.Fatalf("lc_get of an empty key through node %d: %v", i, err)
			}
		}
	})

	t.Run("a lock is exclusive across nodes", func(t *testing.T) {
		for k := range 5 {
			key := fmt.Sprintf("lock-%d", k)
			var mu sync.Mutex
			granted, errs := 0, []error{}
			var wg sync.WaitGroup
			for g := range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := client(t, "tcp", nodes[g%3].addr)
					ok, err := c.Lock(ctx, rctx(int64(1000+g)), "test", key)
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
	})

	t.Run("fencing tokens only grow", func(t *testing.T) {
		var last int64
		for i := range 30 {
			key := fmt.Sprintf("fenced-%d", i%4)
			c := clients[i%3]
			tok, err := c.LockFenced(ctx, rctx(int64(i+1)), "test", key, 5000)
			if err != nil || tok <= last {
				t.Fatalf("grant %d: token %d after %d, err %v", i, tok, last, err)
			}
			if again, err := clients[(i+1)%3].LockFenced(ctx, rctx(99), "test", key, 5000); err != nil || again != 0 {
				t.Fatalf("held key granted again: %d, %v", again, err)
			}
			if ok, err := c.UnlockFenced(ctx, rctx(int64(i+1)), "test", key, tok-1); err != nil || ok {
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
	})

	t.Run("the query cache is shared through the owner", func(t *testing.T) {
		stack.ResetMySQL(t)
		q := func(c *rpc.FunServantClient) string {
			t.Helper()
			r, err := c.MyQuery(ctx, rctx(1), "UserShard", "UserInfo", 3, "SELECT name FROM UserInfo WHERE uid = ?", []string{"3"}, "user:3")
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
		for i, c := range clients {
			if got := q(c); got != "u3" {
				t.Fatalf("node %d read %q: not the owner's cached copy", i, got)
			}
		}
		if err := clients[2].MyEvict(ctx, rctx(1), "user:3"); err != nil {
			t.Fatal(err)
		}
		for i, c := range clients {
			if got := q(c); got != "changed" {
				t.Fatalf("node %d read %q after my_evict", i, got)
			}
		}
		// Writes with the cacheKey evict it on the owner, whichever node
		// runs them: my_bulk_exec, and a transaction's write.
		for i, c := range clients {
			name := fmt.Sprint("bulk-", i)
			if _, err := c.MyBulkExec(ctx, rctx(1), []string{"UserShard"}, []string{"UserInfo"}, []int64{3},
				[]string{"UPDATE UserInfo SET name = ? WHERE uid = 3"}, [][]string{{name}}, []string{"user:3"}); err != nil {
				t.Fatal(err)
			}
			for j, r := range clients {
				if got := q(r); got != name {
					t.Fatalf("node %d read %q after my_bulk_exec through node %d", j, got, i)
				}
			}
			tx := client(t, "tcp", nodes[i].addr)
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
	})

	t.Run("zk_* work and cannot touch faed's trees", func(t *testing.T) {
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
		for _, p := range []string{"/fae/" + nodes[0].addr, "/fae", "/fae/x", "/fae_meta/workers/00"} {
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
	})

	t.Run("an expired session re-registers", func(t *testing.T) {
		n := nodes[2]
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
	})

	t.Run("a node restarted in place replaces its stale member node", func(t *testing.T) {
		n := nodes[1]
		_ = n.cmd.Process.Kill()
		<-n.done
		n.restart(outer) // the old session is still alive in ZooKeeper
		clients[1] = client(outer, "tcp", n.addr)
		waitMembers(t, nodes, nodes)
		time.Sleep(3 * time.Second) // the old session expires: the new node must stay
		waitMembers(t, nodes, nodes)
	})

	t.Run("kill -9 of a node: the others serve every key within seconds", func(t *testing.T) {
		dead := nodes[2]
		_ = dead.cmd.Process.Kill()
		<-dead.done
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
		nodes = nodes[:2]
		waitMembers(t, nodes, nodes)
	})

	t.Run("zookeeper stopped: data calls work, locks and tokens fail clearly", func(t *testing.T) {
		stack.Stop(t, "zk")
		time.Sleep(300 * time.Millisecond)
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
		stack.Restart(t, "zk")
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
		if _, err := clients[0].IDNext(ctx, rctx(1)); err != nil {
			t.Fatalf("id_next with zookeeper back: %v", err)
		}
	})

	t.Run("graceful stop deregisters first", func(t *testing.T) {
		if err := nodes[1].stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("exit: %v\n%s", err, nodes[1].stderr)
		}
		waitMembers(t, nodes[:1], nodes[:1])
		if !strings.Contains(nodes[1].stderr.String(), "stopped") {
			t.Fatalf("no clean stop in the log:\n%s", nodes[1].stderr)
		}
	})
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
