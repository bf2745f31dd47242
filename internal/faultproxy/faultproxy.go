// Package faultproxy puts a Toxiproxy proxy (github.com/Shopify/toxiproxy/v2,
// in process) on a link between faed and a backend or a peer, so a test can
// delay, cut or reset that link while calls run. Only for tests.
package faultproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Link is one proxied link: clients dial Addr, the proxy dials the upstream.
type Link struct {
	p *toxiproxy.Proxy
	// Addr is where the link listens (127.0.0.1, a port the kernel picked).
	Addr string
}

// New starts a link to upstream, stopped at the end of the test.
func New(t testing.TB, name, upstream string) *Link {
	t.Helper()
	return NewAt(t, name, "127.0.0.1:0", upstream)
}

// NewAt is New listening on listen (e.g. an address on a bridge that
// processes in other network namespaces reach).
func NewAt(t testing.TB, name, listen, upstream string) *Link {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, listen, upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("faultproxy %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return &Link{p: p, Addr: p.Listen}
}

// Toxic adds a Toxiproxy toxic: typ as Toxiproxy names it ("latency",
// "timeout", "reset_peer", "limit_data", "slicer", ...), stream
// "upstream" (towards the server) or "downstream" (the replies), and its
// attributes. It returns the toxic's name for Remove.
func (l *Link) Toxic(t testing.TB, typ, stream string, attrs map[string]any) string {
	t.Helper()
	name := fmt.Sprintf("%s_%s_%d", typ, stream, len(l.p.Toxics.GetToxicArray()))
	body, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": stream, "toxicity": 1.0, "attributes": attrs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.p.Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
		t.Fatalf("faultproxy toxic %s: %v", typ, err)
	}
	return name
}

// Remove takes a toxic off the link.
func (l *Link) Remove(t testing.TB, name string) {
	t.Helper()
	if err := l.p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		t.Fatalf("faultproxy remove %s: %v", name, err)
	}
}

// Clear takes every toxic off the link.
func (l *Link) Clear() { l.p.Toxics.ResetToxics(context.Background()) }

// Cut stops the link: its listener closes and every open connection
// through it is closed (clients see the peer go away); Heal restarts it on
// the same address.
func (l *Link) Cut() { l.p.Stop() }

// Heal restarts a cut link on its address.
func (l *Link) Heal(t testing.TB) {
	t.Helper()
	l.p.Listen = l.Addr
	if err := l.p.Start(); err != nil {
		t.Fatalf("faultproxy heal: %v", err)
	}
}
