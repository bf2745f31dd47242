// Command faed-bench is faed's load generator: workers each sending one
// pre-encoded call after another, over short connections (connect, one
// call, close: how php-fpm talks to faed) or persistent ones.
//
//	faed-bench -addr 127.0.0.1:9001 -mode short -c 16 -d 10s -call noop
//	faed-bench -addr /run/faed.sock -mode persistent -framed -compact -json
//	faed-bench -report results.jsonl    # markdown tables from -json lines
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// options are the command line.
type options struct {
	addr, mode, call, label string
	direct                  string
	c                       int
	d, warmup               time.Duration
	framed, compact, asJSON bool
	owner, members          string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("faed-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9001", "host:port, or a unix socket path (anything containing /)")
	fs.StringVar(&o.mode, "mode", "persistent", "short (connect, one call, close), persistent (one connection per worker), or idle (open -c connections, one call each, hold them for -d)")
	fs.StringVar(&o.call, "call", "noop", callNames())
	fs.StringVar(&o.label, "label", "", "name of the target in the summary and -json output")
	fs.IntVar(&o.c, "c", 16, "concurrent workers")
	fs.DurationVar(&o.d, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before -d")
	fs.BoolVar(&o.framed, "framed", false, "TFramedTransport instead of buffered")
	fs.BoolVar(&o.compact, "compact", false, "compact protocol instead of binary")
	fs.BoolVar(&o.asJSON, "json", false, "print the summary as one JSON object")
	fs.StringVar(&o.owner, "owner", "", "keyed calls use only keys this cluster member (host:port) owns; needs -members")
	fs.StringVar(&o.members, "members", "", "the cluster's members, comma separated, for -owner")
	fs.StringVar(&o.direct, "direct", "", "redis, memcache or mysql: send the same reads straight to the backend at -addr (the baseline of rd_get, mc_get and my_hit/my_miss; for mysql -addr is a DSN)")
	report := fs.String("report", "", "print markdown tables from a file of -json lines, then exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *report != "" {
		return renderReport(*report, stdout, stderr)
	}
	res, err := bench(o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "faed-bench:", err)
		return 1
	}
	if o.asJSON {
		_ = json.NewEncoder(stdout).Encode(res)
	} else {
		res.print(stdout)
	}
	return 0
}
