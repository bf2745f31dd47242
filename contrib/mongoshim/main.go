// Command mongoshim is the dev stack's and the tests' stand-in for
// MongoDB: FerretDB's embeddable server (SQLite storage) speaking the
// MongoDB wire protocol. Production targets MongoDB itself; mongoshim
// exists because no mongod can be installed where the tests run. It is its
// own module so FerretDB's dependencies stay out of faed's go.mod.
//
//	mongoshim -listen 127.0.0.1:27018 -sqlite-url file:/path/to/dir/
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP listen address")
	unix := flag.String("unix", "", "unix socket path (optional)")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URL: file:<existing dir>/")
	flag.Parse()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen, Unix: *unix},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongoshim:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Println(f.MongoDBURI())
	f.Run(ctx)
}
