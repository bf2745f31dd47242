package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/faed/faed/config"
	"github.com/faed/faed/engine"
	"github.com/faed/faed/idgen"
)

// run is the process's life: start (on sockets inherited from the process
// before it, when this is an upgrade), serve until a stop or a successful
// upgrade, stop. It returns the exit code.
func run(cfg config.Config, confPath string, log *slog.Logger, logs *logging) int {
	upg, err := tableflip.New(tableflip.Options{UpgradeTimeout: upgradeTimeout(cfg)})
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	d, err := newDaemon(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	d.confPath = confPath
	d.logStats, d.logLevel = logs.Stats, logs.level
	up := &upgrader{upg: upg, d: d, log: log}
	d.admin.Handle("POST /upgrade", engine.LoopbackOnly(http.HandlerFunc(up.serveHTTP)))
	if upg.HasParent() {
		// The old process still serves with the even sequence numbers
		// until it is gone (see idgen.Split).
		_ = d.ids.Split(idgen.Odd)
	}
	if err := d.startWith(listenVia(upg)); err != nil {
		log.Error("cannot start", "error", err)
		d.closeParts()
		return 1
	}
	if f, err := upg.File(sessionsFile); err != nil {
		log.Warn("upgrade: the old process's session channel", "error", err)
	} else if f != nil {
		go adoptSessions(f, d.engine, log)
	}
	d.awaitRegistration(cfg.Cluster.Timeout)
	if err := upg.Ready(); err != nil {
		log.Error("cannot tell the old process we are ready", "error", err)
	}
	notify(log, sd.SdNotifyReady, "MAINPID="+strconv.Itoa(os.Getpid()))
	if upg.HasParent() {
		go up.awaitParent()
	}

	upgraded := waitForStop(d, up)
	if upgraded {
		log.Info("stopping: the new process serves now; draining")
		if ch := up.sessionChannel(); ch != nil {
			d.engine.HandOverSessions(ch.pass) // idle clients keep their connections
			defer ch.Close()
		} else {
			d.engine.HandOver()
		}
	} else {
		notify(log, sd.SdNotifyStopping)
	}
	if err := stop(d, d.config()); err != nil { // a reloaded drain_timeout applies
		log.Error("stopped with errors", "error", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// upgradeTimeout bounds how long the new process may take to get ready:
// building the daemon, and in a cluster registering in ZooKeeper.
func upgradeTimeout(cfg config.Config) time.Duration {
	return time.Minute + cfg.Cluster.Timeout
}

// listenVia binds through tableflip: a socket the old process handed over
// when there is one, else a fresh one (which a later upgrade hands on).
func listenVia(upg *tableflip.Upgrader) engine.Binder {
	return func(network, key string, bind func() (net.Listener, error)) (net.Listener, error) {
		return upg.ListenWithCallback(network, key, func(string, string) (net.Listener, error) { return bind() })
	}
}

// waitForStop blocks until SIGTERM or SIGINT (false) or until an upgrade
// has handed the sockets to a new process that is ready (true). SIGHUP
// reloads the config; SIGUSR2 upgrades.
func waitForStop(d *daemon, up *upgrader) (upgraded bool) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	for {
		select {
		case <-up.upg.Exit():
			return true
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				d.reload() // logs the outcome; a bad file leaves the running config
			case syscall.SIGUSR2:
				go func() { _, _ = up.upgrade() }()
			default:
				d.log.Info("stopping", "signal", sig.String())
				return false
			}
		}
	}
}

// upgrader runs binary upgrades: the binary on disk is started with this
// process's sockets; once it is ready this process stops accepting,
// drains and exits. A failed start leaves this process serving as before.
type upgrader struct {
	upg     *tableflip.Upgrader
	d       *daemon
	log     *slog.Logger
	mu      sync.Mutex
	channel *sessionChannel // to the new process, once one is ready
}

// upgrade starts the successor and waits until it is ready (nil) or has
// failed.
func (u *upgrader) upgrade() (time.Duration, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	start := time.Now()
	u.log.Info("upgrade: starting the new binary", "path", os.Args[0])
	notify(u.log, sd.SdNotifyReloading)
	if err := u.d.ids.Split(idgen.Even); err != nil {
		u.log.Error("upgrade: cannot save the id mark; not upgrading", "error", err)
		notify(u.log, sd.SdNotifyReady)
		return 0, err
	}
	ch, err := openSessionChannel(u.upg, u.log)
	if err != nil {
		u.log.Warn("upgrade: no session channel: idle client connections will be closed, not passed", "error", err)
	}
	err = u.upg.Upgrade()
	if err != nil {
		if ch != nil {
			ch.Close()
		}
		_ = u.d.ids.Split(idgen.Whole)
		u.log.Error("upgrade failed: this process goes on serving", "error", err)
		notify(u.log, sd.SdNotifyReady)
		return 0, err
	}
	u.channel = ch
	took := time.Since(start)
	u.log.Info("upgrade: the new process is ready", "took", took)
	return took, nil
}

// sessionChannel is the channel to the new process once an upgrade has
// succeeded; it waits for an upgrade still finishing (the old process may
// learn of its success before upgrade returns).
func (u *upgrader) sessionChannel() *sessionChannel {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.channel
}

// awaitParent gives the successor the whole id sequence once the old
// process has exited.
func (u *upgrader) awaitParent() {
	if err := u.upg.WaitForParent(context.Background()); err != nil {
		u.log.Warn("upgrade: waiting for the old process", "error", err)
		return
	}
	if err := u.d.ids.Split(idgen.Whole); err != nil {
		u.log.Error("upgrade: saving the id mark", "error", err)
	}
	u.log.Info("upgrade: the old process has exited")
}

// upgradeReply is POST /upgrade's answer.
type upgradeReply struct {
	OK    bool   `json:"ok"`
	PID   int    `json:"old_pid"`
	Took  string `json:"took,omitempty"`
	Error string `json:"error,omitempty"`
}

func (u *upgrader) serveHTTP(w http.ResponseWriter, _ *http.Request) {
	took, err := u.upgrade()
	reply := upgradeReply{OK: err == nil, PID: os.Getpid(), Took: took.String()}
	status := http.StatusOK
	if err != nil {
		reply.Error, reply.Took, status = err.Error(), "", http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply)
}

// requestUpgrade is faed -upgrade: POST /upgrade to the running faed's
// admin listener, and report what it answered.
func requestUpgrade(cfg config.Config, stdout, stderr io.Writer) int {
	if cfg.Admin.Listen == "" {
		fmt.Fprintln(stderr, "faed: the admin listener is off in this config: send SIGUSR2 to the running faed instead")
		return 1
	}
	client := &http.Client{Timeout: upgradeTimeout(cfg) + 10*time.Second}
	resp, err := client.Post("http://"+cfg.Admin.Listen+"/upgrade", "", nil)
	if err != nil {
		fmt.Fprintf(stderr, "faed: upgrade: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	var reply upgradeReply
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		fmt.Fprintf(stderr, "faed: upgrade: %s: unreadable answer: %v\n", resp.Status, err)
		return 1
	}
	if !reply.OK {
		fmt.Fprintf(stderr, "faed: upgrade failed, pid %d goes on serving: %s\n", reply.PID, reply.Error)
		return 1
	}
	fmt.Fprintf(stdout, "faed: upgraded: the new process is ready after %s; pid %d drains and exits\n", reply.Took, reply.PID)
	return 0
}

// notify tells systemd (Type=notify) about the process's state; outside
// systemd it does nothing.
func notify(log *slog.Logger, states ...string) {
	if _, err := sd.SdNotify(false, strings.Join(states, "\n")); err != nil {
		log.Warn("sd_notify", "error", err)
	}
}
