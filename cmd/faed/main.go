// Command faed is the local RPC daemon PHP workers call over Thrift.
//
//	faed                        run on embedded defaults (127.0.0.1:9001, admin 127.0.0.1:9101)
//	faed -conf FILE             run with a TOML config
//	faed -check [-conf FILE]    validate the config and exit
//	faed -upgrade [-conf FILE] [-admin ADDR]
//	                            make the running faed start its binary anew, handing its sockets over
//	faed -version               print version and build
//
// Signals: SIGTERM and SIGINT stop gracefully, SIGHUP reloads the config,
// SIGUSR2 upgrades (the same as -upgrade).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/config"
)

func main() {
	fs := flag.NewFlagSet("faed", flag.ContinueOnError)
	confPath := fs.String("conf", "", "TOML config `file` (embedded defaults when empty)")
	check := fs.Bool("check", false, "validate the config and exit")
	upgrade := fs.Bool("upgrade", false, "ask the running faed (found through the config's admin listener) to upgrade to the binary on disk, and wait for the result")
	adminAddr := fs.String("admin", "", "with -upgrade: the running faed's admin `address` (default: the config's admin.listen)")
	showVersion := fs.Bool("version", false, "print version and build, then exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Printf("faed %s (build %s)\n", version, buildSHA())
		return
	}
	cfg, err := loadConfig(*confPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faed: %v\n", err)
		os.Exit(1)
	}
	if *check {
		fmt.Printf("faed: config %s is valid\n", describe(*confPath))
		return
	}
	if *upgrade {
		if *adminAddr != "" {
			cfg.Admin.Listen = *adminAddr
		}
		os.Exit(requestUpgrade(cfg, os.Stdout, os.Stderr))
	}
	logs, log, err := startLogging(cfg.Log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faed: %v\n", err)
		os.Exit(1)
	}
	// The generated processor would start a goroutine per call to poll the
	// connection; faed's engine owns connection handling, so turn it off.
	thrift.ServerConnectivityCheckInterval = 0
	logs.exit(run(cfg, *confPath, log, logs))
}

// stop stops d gracefully; sessions still busy after drain_timeout plus
// one call_timeout are cut off.
func stop(d *daemon, cfg config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Server.DrainTimeout+cfg.Server.CallTimeout)
	defer cancel()
	return d.stop(ctx)
}

func loadConfig(path string) (config.Config, error) {
	if path == "" {
		cfg := config.Default()
		return cfg, cfg.Validate()
	}
	return config.Load(path)
}

func describe(path string) string {
	if path == "" {
		return "(embedded defaults)"
	}
	return path
}
