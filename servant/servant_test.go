package servant_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/faed/faed/idl/fun/rpc"
	"github.com/faed/faed/servant"
)

func newServant(now time.Time) *servant.Servant {
	started := now.Add(-90 * time.Minute)
	return servant.New(servant.Info{Version: "1.2.3", Build: "abc123", WorkerID: 7, Started: started}, servant.Parts{},
		func() time.Time { return now })
}

func TestPingReportsVersionBuildWorkerUptime(t *testing.T) {
	s := newServant(time.Unix(1_700_000_000, 500))
	got, err := s.Ping(context.Background(), &rpc.Context{Rid: 1, Reason: "t"})
	if err != nil {
		t.Fatal(err)
	}
	s = servant.New(servant.Info{Version: "1", Build: "b", Started: time.Unix(100, 0)}, servant.Parts{},
		func() time.Time { return time.Unix(102, 250_000_000) })
	if up, _ := s.Ping(context.Background(), &rpc.Context{Rid: 1, Reason: "t"}); !strings.HasSuffix(up, "uptime:2.25s") {
		t.Fatalf("ping = %q, want uptime:2.25s", up)
	}
	want := "ver:1.2.3, build:abc123, myid:7, uptime:1h30m0s" // sub-second digits appear when there are any
	if got != want {
		t.Fatalf("ping = %q, want %q", got, want)
	}
}

func TestNoopReturnsArgument(t *testing.T) {
	s := newServant(time.Now())
	for _, x := range []int32{0, 1, -1, 1<<31 - 1, -1 << 31} {
		if got, err := s.Noop(context.Background(), x); err != nil || got != x {
			t.Fatalf("noop(%d) = %d, %v", x, got, err)
		}
	}
}

func TestContextValidation(t *testing.T) {
	s := newServant(time.Now())
	cases := []struct {
		name string
		c    *rpc.Context
		ok   bool
	}{
		{"valid", &rpc.Context{Rid: 1, Reason: "r"}, true},
		{"valid without uid", &rpc.Context{Rid: -5, Reason: "r"}, true},
		{"rid zero", &rpc.Context{Rid: 0, Reason: "r"}, false},
		{"empty reason", &rpc.Context{Rid: 1}, false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Ping(context.Background(), tc.c)
			if tc.ok && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !tc.ok && (!errors.Is(err, servant.ErrInvalidContext) || !strings.Contains(err.Error(), "invalid context")) {
				t.Fatalf("err = %v, want invalid context", err)
			}
		})
	}
}

// Parts the caller did not build say so, naming the part.
func TestUnconfiguredPartsNameThemselves(t *testing.T) {
	s := newServant(time.Now())
	ctx, good := context.Background(), &rpc.Context{Rid: 1, Reason: "r"}
	calls := map[string]func(*rpc.Context) error{
		"id generator": func(c *rpc.Context) error { _, err := s.IDNext(ctx, c); return err },
		"local cache":  func(c *rpc.Context) error { _, err := s.LcGet(ctx, c, "k"); return err },
		"locks":        func(c *rpc.Context) error { _, err := s.Lock(ctx, c, "r", "k"); return err },
		"redis":        func(c *rpc.Context) error { _, err := s.RdCall(ctx, c, "GET", "p", []string{"k"}); return err },
		"memcache":     func(c *rpc.Context) error { _, err := s.McGet(ctx, c, "p", "k"); return err },
		"couchbase":    func(c *rpc.Context) error { _, err := s.CbGet(ctx, c, "b", "k"); return err },
		"mongodb":      func(c *rpc.Context) error { _, err := s.MgCount(ctx, c, "p", "t", 0, nil); return err },
		"zookeeper":    func(c *rpc.Context) error { _, err := s.ZkDel(ctx, c, "/x"); return err },
		"mysql": func(c *rpc.Context) error {
			_, err := s.MyQuery(ctx, c, "Global", "t", 0, "SELECT 1", nil, "")
			return err
		},
	}
	for part, call := range calls {
		err := call(good)
		if !errors.Is(err, servant.ErrNotConfigured) || !strings.Contains(err.Error(), part) {
			t.Errorf("%s: err = %v, want not configured naming the part", part, err)
		}
		if err := call(&rpc.Context{}); !errors.Is(err, servant.ErrInvalidContext) {
			t.Errorf("%s with empty context: err = %v, want invalid context", part, err)
		}
	}
}
