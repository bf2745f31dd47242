package servant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/faed/faed/cache"
	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/servant"
)

func cacheServant(t *testing.T, cfg cache.Config) *servant.Servant {
	t.Helper()
	lc, err := cache.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return servant.New(servant.Info{}, servant.Parts{Cache: lc}, nil)
}

func TestLocalCacheMethods(t *testing.T) {
	s := cacheServant(t, cache.DefaultConfig())
	ctx, c := context.Background(), &rpc.Context{Rid: 1, Reason: "t"}
	var miss *rpc.TCacheMissed
	if _, err := s.LcGet(ctx, c, "k"); !errors.As(err, &miss) {
		t.Fatalf("miss: err = %v, want TCacheMissed", err)
	}
	if ok, err := s.LcSet(ctx, c, "k", []byte("v\x00")); !ok || err != nil {
		t.Fatalf("lc_set = %v, %v", ok, err)
	}
	if v, err := s.LcGet(ctx, c, "k"); err != nil || string(v) != "v\x00" {
		t.Fatalf("lc_get = %q, %v", v, err)
	}
	if err := s.LcDel(ctx, c, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.LcDel(ctx, c, "k"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := s.LcGet(ctx, c, "k"); !errors.As(err, &miss) {
		t.Fatalf("after delete: err = %v", err)
	}
	if _, err := s.LcSet(ctx, c, "", []byte("v")); !errors.Is(err, servant.ErrEmptyKey) {
		t.Fatalf("empty key: err = %v", err)
	}
}

func TestLocalCacheTooLargeIsAnError(t *testing.T) {
	s := cacheServant(t, cache.Config{MaxItems: 10, MaxBytes: 4096, Shards: 1})
	ok, err := s.LcSet(context.Background(), &rpc.Context{Rid: 1, Reason: "t"}, "k", make([]byte, 8192))
	if ok || !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("lc_set of a too-large value = %v, %v", ok, err)
	}
}
