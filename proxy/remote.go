package proxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/faed/faed/idl/fun/rpc"
)

// maxMessage bounds a reply from a peer (engine's default message limit).
const maxMessage = 16 << 20

// remote is one peer: its idle connections and whether it is down.
type remote struct {
	addr      string
	downUntil atomic.Int64 // unix ns; 0 = up

	mu   sync.Mutex
	idle []*conn
}

// conn is one framed binary Thrift connection to a peer.
type conn struct {
	used   time.Time // last returned to the pool
	sock   *thrift.TSocket
	trans  thrift.TTransport
	client *rpc.FunServantClient
}

// get takes the most recently used idle connection, or dials; reused says
// which.
func (r *remote) get(dialTimeout time.Duration) (c *conn, reused bool, err error) {
	r.mu.Lock()
	if n := len(r.idle); n > 0 {
		c = r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		return c, true, nil
	}
	r.mu.Unlock()
	c, err = r.dial(dialTimeout)
	return c, false, err
}

// dropIdle closes connections unused for longer than max (the oldest are
// at the front).
func (r *remote) dropIdle(max time.Duration) {
	cut := time.Now().Add(-max)
	r.mu.Lock()
	i := 0
	for i < len(r.idle) && r.idle[i].used.Before(cut) {
		i++
	}
	old := append([]*conn(nil), r.idle[:i]...)
	r.idle = append(r.idle[:0], r.idle[i:]...)
	r.mu.Unlock()
	for _, c := range old {
		c.close()
	}
}

func (r *remote) dial(timeout time.Duration) (*conn, error) {
	nc, err := net.DialTimeout("tcp", r.addr, timeout)
	if err != nil {
		return nil, err
	}
	// A peer's answer is bounded like a client's call.
	cfg := &thrift.TConfiguration{ConnectTimeout: timeout, MaxMessageSize: maxMessage, MaxFrameSize: maxMessage}
	sock := thrift.NewTSocketFromConnConf(nc, cfg)
	trans := thrift.NewTFramedTransportConf(sock, cfg)
	proto := thrift.NewTBinaryProtocolConf(trans, cfg)
	return &conn{sock: sock, trans: trans, client: rpc.NewFunServantClient(thrift.NewTStandardClient(proto, proto))}, nil
}

func (r *remote) put(c *conn, maxIdle int) {
	c.used = time.Now()
	r.mu.Lock()
	if len(r.idle) < maxIdle {
		r.idle = append(r.idle, c)
		c = nil
	}
	r.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// drain closes every idle connection (the peer is down or gone).
func (r *remote) drain() {
	r.mu.Lock()
	idle := r.idle
	r.idle = nil
	r.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

func (c *conn) close() { _ = c.trans.Close() }
