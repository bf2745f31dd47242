package proxy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/faed/faed/engine"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/peer"
	"github.com/faed/faed/proxy"
	"github.com/faed/faed/servant"
)

type fixedView struct{ v *peer.View }

func (f fixedView) View() *peer.View { return f.v }

// A pooled connection to a peer that has since gone away: the retry on a
// fresh connection fails too, and the call reports the peer unreachable.
func TestCallToAPeerThatWentAway(t *testing.T) {
	cfg := engine.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	e, err := engine.New(cfg, rpc.NewFunServantProcessor(servant.New(servant.Info{}, servant.Parts{}, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	addr := e.Addr().String()
	p, err := proxy.New(peer.DefaultForwardConfig(), fixedView{&peer.View{Self: "127.0.0.1:1"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ping := func(ctx context.Context, c rpc.FunServant) error {
		_, err := c.Ping(ctx, &rpc.Context{Rid: 1, Reason: "test"})
		return err
	}
	if err := p.Call(context.Background(), addr, ping); err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Call(context.Background(), addr, ping); !errors.Is(err, proxy.ErrUnreachable) {
		t.Fatalf("call to a stopped peer: %v", err)
	}
	if err := p.Call(context.Background(), addr, ping); !errors.Is(err, proxy.ErrUnreachable) || p.Snapshot().FastFails != 1 {
		t.Fatalf("next call while marked down: %v, %+v", err, p.Snapshot())
	}
}
