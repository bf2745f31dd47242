package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/peer"
	"github.com/faed/faed/servant"
	"github.com/go-zookeeper/zk"
)

// member registers addr under /fae the way faed does.
func member(t *testing.T, conn *zk.Conn, addr string, worker int) {
	t.Helper()
	data, _ := json.Marshal(peer.Info{Version: "9.9.9", Started: time.Unix(1.7e9, 0).UTC(), Admin: "127.0.0.1:1", WorkerID: worker})
	if _, err := conn.Create("/fae/"+addr, data, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
}

func TestPeersAndPing(t *testing.T) {
	_, sv := devstack.Start(t, devstack.Ports{ZK: 18182})
	conn, _, err := zk.Connect([]string{sv.ZK}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if _, err := conn.Create("/fae", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	// A live faed engine with the real servant, and an address nothing
	// listens on.
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(servant.New(servant.Info{Version: "9.9.9", WorkerID: 3}, servant.Parts{}, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(t.Context()) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	member(t, conn, e.Addr().String(), 3)
	member(t, conn, dead, 4)

	var out, errOut bytes.Buffer
	if code := run([]string{"-zk", sv.ZK, "peers"}, &out, &errOut); code != 0 {
		t.Fatalf("peers: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{e.Addr().String(), dead, "9.9.9", "2023-11-14T22:13:20Z"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("peers output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if code := run([]string{"-zk", sv.ZK, "-timeout", "500ms", "ping"}, &out, &errOut); code != 1 {
		t.Fatalf("ping with a dead member: exit %d, want 1\n%s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("ping output:\n%s", out.String())
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, e.Addr().String()) && strings.Contains(l, "myid:3"):
		case strings.HasPrefix(l, dead) && strings.Contains(l, "FAIL"):
		default:
			t.Fatalf("unexpected ping line %q", l)
		}
	}

	if code := run([]string{"-zk", "127.0.0.1:1", "-timeout", "300ms", "peers"}, &out, &errOut); code != 1 {
		t.Fatalf("unreachable zookeeper: exit %d", code)
	}
	if code := run([]string{"bogus"}, &out, &errOut); code != 2 {
		t.Fatalf("bad subcommand: exit %d", code)
	}
}
