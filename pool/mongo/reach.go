package mongo

import (
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
)

// reach follows the driver's view of a deployment's servers (its SDAM
// monitoring): once every server that was ever reachable is "Unknown"
// again (a failed check or a connection error), no operation can reach
// one, and faed answers at once instead of waiting out
// server_selection_timeout. The driver's monitor keeps checking (every
// heartbeatInterval), and the first server it finds back ends it.
type reach struct {
	mu   sync.Mutex
	kind map[string]string // address → last kind, for servers once reachable
}

func newReach() *reach { return &reach{kind: map[string]string{}} }

func (r *reach) monitor() *event.ServerMonitor {
	return &event.ServerMonitor{ServerDescriptionChanged: r.changed}
}

func (r *reach) changed(e *event.ServerDescriptionChangedEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	addr, kind := e.Address.String(), e.NewDescription.Kind
	if _, seen := r.kind[addr]; seen || kind != unknownKind {
		r.kind[addr] = kind
	}
}

// lost reports whether every server once reachable is unknown now (false
// before any was reached: a deployment still starting gets its selection
// timeout).
func (r *reach) lost() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.kind) == 0 {
		return false
	}
	for _, k := range r.kind {
		if k != unknownKind {
			return false
		}
	}
	return true
}

// unknownKind is the driver's kind of a server it cannot reach.
const unknownKind = "Unknown"
