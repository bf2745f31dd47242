// Command faed-ctl inspects a faed cluster through ZooKeeper.
//
//	faed-ctl [-zk HOST:PORT,...] [-root /fae] peers   members and their data
//	faed-ctl [-zk HOST:PORT,...] [-root /fae] ping    ping every member (exit 1 if one fails)
//
// -zk defaults to $FAED_ZK, else 127.0.0.1:12181 (the dev stack); -timeout
// (2s) bounds connecting to ZooKeeper and each ping.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/peer"
	"github.com/go-zookeeper/zk"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main without the process exit, so that main_test.go drives it in
// process.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("faed-ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	zkAddr := fs.String("zk", envOr("FAED_ZK", "127.0.0.1:12181"), "ZooKeeper `servers`, comma separated")
	root := fs.String("root", "/fae", "membership root in ZooKeeper")
	timeout := fs.Duration("timeout", 2*time.Second, "bound on reaching ZooKeeper and on each ping")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "peers" && fs.Arg(0) != "ping") {
		fmt.Fprintln(stderr, "usage: faed-ctl [-zk servers] [-root /fae] [-timeout 2s] peers|ping")
		return 2
	}
	members, err := readMembers(strings.Split(*zkAddr, ","), *root, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "faed-ctl: %v\n", err)
		return 1
	}
	if fs.Arg(0) == "peers" {
		printPeers(stdout, members)
		return 0
	}
	return pingAll(stdout, members, *timeout)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// readMembers lists <root>'s children with their JSON data.
func readMembers(servers []string, root string, timeout time.Duration) ([]peer.Member, error) {
	conn, events, err := zk.Connect(servers, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline := time.After(timeout)
	for conn.State() != zk.StateHasSession {
		select {
		case <-events:
		case <-deadline:
			return nil, fmt.Errorf("zookeeper %v: no session within %v", servers, timeout)
		}
	}
	names, _, err := conn.Children(root)
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", root, err)
	}
	sort.Strings(names)
	var out []peer.Member
	for _, n := range names {
		m := peer.Member{Addr: n}
		data, _, err := conn.Get(root + "/" + n)
		if err != nil {
			continue // left meanwhile
		}
		_ = json.Unmarshal(data, &m.Info) // shown as empty when unreadable
		out = append(out, m)
	}
	return out, nil
}

func printPeers(w io.Writer, members []peer.Member) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDR\tWORKER\tVERSION\tSTARTED\tADMIN")
	for _, m := range members {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", m.Addr, m.Info.WorkerID, m.Info.Version,
			m.Info.Started.Format(time.RFC3339), m.Info.Admin)
	}
	tw.Flush()
}

// pingAll pings each member; any failure makes the exit status 1.
func pingAll(w io.Writer, members []peer.Member, timeout time.Duration) int {
	status := 0
	for _, m := range members {
		start := time.Now()
		reply, err := ping(m.Addr, timeout)
		if err != nil {
			status = 1
			fmt.Fprintf(w, "%s\tFAIL\t%v\n", m.Addr, err)
			continue
		}
		fmt.Fprintf(w, "%s\tok %v\t%s\n", m.Addr, time.Since(start).Round(10*time.Microsecond), reply)
	}
	return status
}

func ping(addr string, timeout time.Duration) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	cfg := &thrift.TConfiguration{SocketTimeout: timeout}
	trans := thrift.NewTBufferedTransport(thrift.NewTSocketFromConnConf(nc, cfg), 4096)
	proto := thrift.NewTBinaryProtocolConf(trans, cfg)
	c := rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))
	return c.Ping(context.Background(), &rpc.Context{Rid: time.Now().UnixNano(), Reason: "faed-ctl.ping"})
}
