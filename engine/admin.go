package engine

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"
)

// dashboard is the live page served at /: it polls /history every second
// and draws it.
//
//go:embed dashboard.html
var dashboard []byte

// AdminSources is what the admin endpoint serves. A nil Stats, History,
// Metrics or Config is answered 404; a nil Ready means always ready.
type AdminSources struct {
	// Stats returns the value served as JSON by /stats.
	Stats func() any
	// Metrics serves /metrics (a promhttp handler over main's registry).
	Metrics http.Handler
	// Ready reports why the process is not ready to serve, or nil.
	Ready func() error
	// Config returns the running configuration with secrets masked.
	Config func() ([]byte, error)
	// History returns the value served as JSON by /history?since=N: the
	// samples numbered N and later (all kept without since).
	History func(since uint64) any
	// Handlers are more routes, ServeMux pattern to handler (e.g.
	// "POST /reload"), mounted beside the built-in ones. A pattern that
	// conflicts with one of those panics, as http.ServeMux.Handle does: it
	// is a wiring mistake, made at start-up.
	Handlers map[string]http.Handler
	// Reload re-reads and applies the config file for POST /reload and
	// returns what happened, served as JSON; with an error the answer is
	// 409 when the error is ErrNoReload, else 400. Nil: 404.
	Reload func() (any, error)
}

// ErrNoReload: this process has nothing to reload (it runs on embedded
// defaults, without a file).
var ErrNoReload = errors.New("nothing to reload")

// Admin is the operator's HTTP endpoint: a live dashboard, health,
// readiness, stats, metrics, pprof and the redacted config. It never
// shares a port with clients and never uses http.DefaultServeMux.
type Admin struct {
	mux *http.ServeMux
	cfg AdminConfig
	srv *http.Server
	log *slog.Logger
	ln  net.Listener
}

// NewAdmin builds the admin endpoint; Start binds it.
func NewAdmin(cfg AdminConfig, src AdminSources, log *slog.Logger) *Admin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(dashboard)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if src.Ready != nil {
			if err := src.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		if src.Stats == nil {
			http.Error(w, "stats not available", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(src.Stats())
	})
	mux.HandleFunc("GET /history", func(w http.ResponseWriter, r *http.Request) {
		if src.History == nil {
			http.Error(w, "history not available", http.StatusNotFound)
			return
		}
		var since uint64
		if v := r.URL.Query().Get("since"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				http.Error(w, fmt.Sprintf("since: %q is not a sample number", v), http.StatusBadRequest)
				return
			}
			since = n
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(src.History(since))
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		if src.Config == nil {
			http.Error(w, "config not available", http.StatusNotFound)
			return
		}
		b, err := src.Config()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b)
	})
	if src.Metrics != nil {
		mux.Handle("GET /metrics", src.Metrics)
	}
	for pattern, h := range src.Handlers {
		mux.Handle(pattern, h)
	}
	mux.Handle("POST /reload", LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { serveReload(w, src.Reload) })))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &Admin{
		mux: mux,
		cfg: cfg,
		log: log,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
}

// Handle adds a route (e.g. "POST /upgrade") before Start.
func (a *Admin) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// serveReload answers POST /reload (mounted for loopback clients only: a
// reload changes what the process talks to).
func serveReload(w http.ResponseWriter, reload func() (any, error)) {
	if reload == nil {
		http.Error(w, "reload not available", http.StatusNotFound)
		return
	}
	res, err := reload()
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrNoReload):
		status = http.StatusConflict
	case err != nil:
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}

// Start binds the admin listener and serves it in the background; with an
// empty listen address it does nothing.
func (a *Admin) Start() error { return a.StartWith(nil) }

// StartWith is Start with the socket bound through b (nil: bound fresh).
func (a *Admin) StartWith(b Binder) error {
	if a.cfg.Listen == "" {
		return nil
	}
	bind := func() (net.Listener, error) { return net.Listen("tcp", a.cfg.Listen) }
	var ln net.Listener
	var err error
	if b == nil {
		ln, err = bind()
	} else {
		ln, err = b("tcp", "admin "+a.cfg.Listen, bind)
	}
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", a.cfg.Listen, err)
	}
	a.ln = ln
	a.log.Info("admin listening", "addr", ln.Addr().String())
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server stopped", "error", err)
		}
	}()
	return nil
}

// Addr is the bound admin address, or nil when disabled.
func (a *Admin) Addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

// Shutdown stops the admin endpoint.
func (a *Admin) Shutdown(ctx context.Context) error {
	if a.ln == nil {
		return nil
	}
	return a.srv.Shutdown(ctx)
}

// LoopbackOnly refuses, with 403, requests that do not come from this
// host: operations that change the running process (reload, upgrade,
// tracing) must not be reachable from the network even when the admin
// listener is.
func LoopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "forbidden: only from this host", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
