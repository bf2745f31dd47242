package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// defaultArmFor is how long POST /trace traces without a for parameter.
const defaultArmFor = time.Minute

// TraceHandler serves /trace on the admin endpoint, to loopback clients
// only (anyone else gets 403):
//
//	POST   /trace?rid=N[&for=60s]        trace the calls of rid N
//	POST   /trace?reason=PREFIX[&for=60s] trace calls whose reason starts with PREFIX
//	GET    /trace                         the armed matchers (JSON)
//	DELETE /trace                         disarm them all
//
// At most 16 matchers are armed at once, each for at most an hour.
func (e *Engine) TraceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			http.Error(w, "trace: loopback clients only", http.StatusForbidden)
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, e.tracer.matchers())
		case http.MethodPost:
			e.armTrace(w, r)
		case http.MethodDelete:
			e.tracer.disarm()
			writeJSON(w, http.StatusOK, []Matcher{})
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			http.Error(w, "trace: GET, POST or DELETE", http.StatusMethodNotAllowed)
		}
	})
}

func (e *Engine) armTrace(w http.ResponseWriter, r *http.Request) {
	m, d, err := parseMatcher(r)
	if err == nil {
		m, err = e.tracer.arm(m, d)
	}
	switch {
	case errors.Is(err, ErrTooManyArmed):
		http.Error(w, err.Error(), http.StatusConflict)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		e.log.Info("trace armed", "rid", m.Rid, "reason", m.Reason, "until", m.Until)
		writeJSON(w, http.StatusOK, m)
	}
}

// parseMatcher reads rid or reason, and for, from the query.
func parseMatcher(r *http.Request) (Matcher, time.Duration, error) {
	q := r.URL.Query()
	var m Matcher
	if s := q.Get("rid"); s != "" {
		rid, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Matcher{}, 0, fmt.Errorf("%w: rid %q: not an integer", ErrBadMatcher, s)
		}
		m.Rid = rid
	}
	m.Reason = q.Get("reason")
	d := defaultArmFor
	if s := q.Get("for"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return Matcher{}, 0, fmt.Errorf("%w: for %q: not a duration such as 60s", ErrBadMatcher, s)
		}
	}
	return m, d, nil
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
