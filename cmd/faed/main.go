// Command faed is the local RPC daemon PHP workers call over Thrift.
//
//	faed                      run on embedded defaults (127.0.0.1:9001, admin 127.0.0.1:9101)
//	faed -conf FILE           run with a TOML config
//	faed -check [-conf FILE]  validate the config and exit
//	faed -version             print version and build
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/config"
)

func main() {
	fs := flag.NewFlagSet("faed", flag.ContinueOnError)
	confPath := fs.String("conf", "", "TOML config `file` (embedded defaults when empty)")
	check := fs.Bool("check", false, "validate the config and exit")
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
	log, err := config.NewLogger(cfg.Log, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faed: %v\n", err)
		os.Exit(1)
	}
	// The generated processor would start a goroutine per call to poll the
	// connection; faed's engine owns connection handling, so turn it off.
	thrift.ServerConnectivityCheckInterval = 0

	d, err := newDaemon(cfg, log)
	if err == nil {
		d.confPath = *confPath
		err = d.start()
	}
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	waitForStop(d)
	if err := stop(d, d.config()); err != nil {
		log.Error("stopped with errors", "error", err)
		os.Exit(1)
	}
	log.Info("stopped")
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

// waitForStop blocks until SIGTERM or SIGINT; SIGHUP reloads the config
// (d.reload logs the outcome; a bad file leaves the running config).
func waitForStop(d *daemon) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			d.reload()
			continue
		}
		d.log.Info("stopping", "signal", sig.String())
		return
	}
}
