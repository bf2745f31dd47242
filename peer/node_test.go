package peer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	"github.com/go-zookeeper/zk"
)

func testConfig(servers string) Config {
	c := DefaultConfig()
	c.Servers = []string{servers}
	c.ZKSessionTimeout = 2 * time.Second
	return c
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startNode(t *testing.T, cfg Config, self string, worker int) *Node {
	t.Helper()
	n, err := New(cfg, self, Info{Version: "test"}, worker, Hooks{}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	n.Start()
	t.Cleanup(n.Close)
	if !n.Registered() {
		t.Fatalf("%s not registered within the zookeeper session timeout", self)
	}
	return n
}

func rawConn(t *testing.T, servers string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{servers}, 2*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for range 100 {
		if c.State() == zk.StateHasSession {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no zookeeper session")
	return nil
}

func waitView(t *testing.T, n *Node, want int) *View {
	t.Helper()
	for range 200 {
		if v := n.View(); len(v.Members) == want {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("view of %s never had %d members: %v", n.Self(), want, n.View().Addrs())
	return nil
}

func TestNode(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{ZK: 23181})

	t.Run("a stale member node of an earlier session is replaced", func(t *testing.T) {
		cfg := testConfig(sv.ZK)
		cfg.Root = "/stale"
		old := rawConn(t, sv.ZK)
		if _, err := old.Create("/stale", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if _, err := old.Create("/stale/127.0.0.1:7001", []byte("{}"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		n := startNode(t, cfg, "127.0.0.1:7001", 0)
		_, st, err := old.Get("/stale/127.0.0.1:7001")
		if err != nil {
			t.Fatal(err)
		}
		if st.EphemeralOwner != n.conn.SessionID() || old.State() != zk.StateHasSession {
			t.Fatalf("member node owned by zookeeper session %x, node's is %x (old session still live: %v)",
				st.EphemeralOwner, n.conn.SessionID(), old.State() == zk.StateHasSession)
		}
	})

	t.Run("views converge and follow departures; ids are unique", func(t *testing.T) {
		cfg := testConfig(sv.ZK)
		cfg.Root, cfg.MetaRoot = "/conv", "/conv_meta"
		a := startNode(t, cfg, "127.0.0.1:7101", 5)
		b := startNode(t, cfg, "127.0.0.1:7102", 5) // prefers a taken id: gets another
		c := startNode(t, cfg, "127.0.0.1:7103", 5)
		for _, n := range []*Node{a, b, c} {
			v := waitView(t, n, 3)
			if got := fmt.Sprint(v.Addrs()); got != "[127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103]" {
				t.Fatalf("view %s", got)
			}
		}
		seen := map[int]bool{}
		for _, n := range []*Node{a, b, c} {
			w, err := n.Worker()
			if err != nil || seen[w] {
				t.Fatalf("worker %d, %v (seen %v)", w, err, seen)
			}
			seen[w] = true
		}
		if w, _ := a.Worker(); w != 5 {
			t.Fatalf("first node did not get its preferred id: %d", w)
		}
		if err := c.Deregister(); err != nil {
			t.Fatal(err)
		}
		waitView(t, a, 2)
		waitView(t, b, 2)
		// A stopped node's id is free again.
		freed, _ := c.Worker()
		c.Close()
		d := startNode(t, cfg, "127.0.0.1:7104", freed)
		if w, err := d.Worker(); err != nil || w != freed {
			t.Fatalf("the id %d released by a stopped node: got %d, %v", freed, w, err)
		}
	})

	t.Run("no free worker id is a clear error", func(t *testing.T) {
		cfg := testConfig(sv.ZK)
		cfg.Root, cfg.MetaRoot = "/full", "/full_meta"
		raw := rawConn(t, sv.ZK)
		for _, p := range []string{"/full_meta", "/full_meta/workers"} {
			_, _ = raw.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		}
		for id := 0; id <= MaxWorker; id++ {
			if _, err := raw.Create(fmt.Sprintf("/full_meta/workers/%02d", id), []byte("other"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
		}
		n := startNode(t, cfg, "127.0.0.1:7201", 0)
		if _, err := n.Worker(); !errors.Is(err, ErrNoWorker) {
			t.Fatalf("Worker with every id taken: %v", err)
		}
		// One frees up: the node takes it on the next membership change.
		if err := raw.Delete("/full_meta/workers/17", -1); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Create("/full/127.0.0.1:7299", []byte("{}"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		for range 200 {
			if w, err := n.Worker(); err == nil {
				if w != 17 {
					t.Fatalf("leased %d", w)
				}
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("freed id never leased")
	})

	t.Run("fencing tokens grow; zk writes to faed's trees are refused", func(t *testing.T) {
		cfg := testConfig(sv.ZK)
		cfg.Root, cfg.MetaRoot = "/fence", "/fence_meta"
		a := startNode(t, cfg, "127.0.0.1:7301", 0)
		b := startNode(t, cfg, "127.0.0.1:7302", 0)
		var last int64
		for i := range 20 {
			tok, err := []*Node{a, b}[i%2].Fence()
			if err != nil || tok <= last {
				t.Fatalf("token %d after %d: %v", tok, last, err)
			}
			last = tok
		}
		for _, p := range []string{"/fence", "/fence/x", "/fence_meta/workers/00", "/fence_meta"} {
			if err := a.Create(p+"/y", nil); !errors.Is(err, ErrProtected) {
				t.Fatalf("create under %s: %v", p, err)
			}
			if err := a.Delete(p); !errors.Is(err, ErrProtected) {
				t.Fatalf("delete %s: %v", p, err)
			}
		}
		for _, p := range []string{"", "x", "/a/", "/a//b", "/a/../b"} {
			if err := a.Create(p, nil); !errors.Is(err, ErrBadPath) {
				t.Fatalf("create %q: %v", p, err)
			}
		}
		if err := a.Create("/fenceish/app", []byte("x")); err != nil {
			t.Fatalf("a path sharing the root's prefix is not the root's: %v", err)
		}
	})
}
