package redis_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faed/faed/internal/devstack"
	"github.com/faed/faed/pool/breaker"
	"github.com/faed/faed/pool/redis"
	goredis "github.com/redis/go-redis/v9"
)

// Ports of this package's own redis servers (other packages use others).
var redisPorts = []int{26379, 26380}

func startPools(t *testing.T, mod func(*redis.Config)) (*redis.Pools, *devstack.Stack, []string) {
	t.Helper()
	stack, sv := devstack.Start(t, devstack.Ports{Redis: redisPorts})
	cfg := redis.DefaultConfig()
	cfg.Servers = []string{strings.Join(sv.Redis, ",")} // the comma form
	cfg.Breaker = breaker.Config{Failures: 3, Cooldown: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	ps, err := redis.New(map[string]redis.Config{"default": cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps, stack, sv.Redis
}

func TestReplyConversion(t *testing.T) {
	ps, _, _ := startPools(t, nil)
	ctx := context.Background()
	call := func(cmd string, args ...string) (string, error) { return ps.Call(ctx, "default", cmd, args) }
	key := fmt.Sprint("conv:", time.Now().UnixNano())
	steps := []struct {
		cmd  string
		args []string
		want string
		err  string
	}{
		{"GET", []string{key}, "", "key not exists"},
		{"SET", []string{key, "v\x00\xff"}, "OK", ""},
		{"GET", []string{key}, "v\x00\xff", ""},
		{"INCR", []string{key + ":n"}, "1", ""},
		{"INCRBY", []string{key + ":n", "41"}, "42", ""},
		{"RPUSH", []string{key + ":l", "a", "b", `c"d`}, "3", ""},
		{"LRANGE", []string{key + ":l", "0", "-1"}, `["a","b","c\"d"]`, ""},
		{"HGET", []string{key + ":h", "nope"}, "", ""},
		{"LPOP", []string{key + ":empty"}, "", ""},
		{"INCR", []string{key}, "", "not an integer"},
		{"NOSUCHCMD", []string{key}, "", "unknown command"},
		{"FLUSHALL", []string{key}, "", "refused"},
		{"config", []string{"get"}, "", "refused"},
	}
	for _, s := range steps {
		got, err := call(s.cmd, s.args...)
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Errorf("%s %q: err = %v, want %q", s.cmd, s.args, err, s.err)
			}
			continue
		}
		if err != nil || got != s.want {
			t.Errorf("%s %q = %q, %v; want %q", s.cmd, s.args, got, err, s.want)
		}
	}
	if _, err := ps.Call(ctx, "default", "GET", nil); !errors.Is(err, redis.ErrNoKey) {
		t.Errorf("empty keysAndArgs: err = %v", err)
	}
	if _, err := ps.Call(ctx, "nope", "GET", []string{"k"}); !errors.Is(err, redis.ErrUnknownPool) {
		t.Errorf("unknown pool: err = %v", err)
	}
}

func TestAllowDangerous(t *testing.T) {
	ps, _, _ := startPools(t, func(c *redis.Config) { c.AllowDangerous = true })
	if got, err := ps.Call(context.Background(), "default", "CONFIG", []string{"GET", "maxmemory"}); err != nil || !strings.Contains(got, "maxmemory") {
		t.Fatalf("CONFIG GET with allow_dangerous = %q, %v", got, err)
	}
}

// compatOwner is the compat placement computed independently of the code
// under test: all virtual points "<i><addr>" sorted, first >= crc32(key).
func compatOwner(servers []string, key string) int {
	type pt struct {
		h uint32
		s int
	}
	var pts []pt
	for s, addr := range servers {
		for i := range 32 {
			pts = append(pts, pt{crc32.ChecksumIEEE([]byte(strconv.Itoa(i) + addr)), s})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].h < pts[j].h })
	h := crc32.ChecksumIEEE([]byte(key))
	for _, p := range pts {
		if p.h >= h {
			return p.s
		}
	}
	return pts[0].s
}

func TestKeysLandWhereTheCompatFormulaSays(t *testing.T) {
	ps, _, addrs := startPools(t, nil)
	ctx := context.Background()
	direct := make([]*goredis.Client, len(addrs))
	for i, a := range addrs {
		direct[i] = goredis.NewClient(&goredis.Options{Addr: a, Protocol: 2})
		defer direct[i].Close()
	}
	prefix := fmt.Sprint("place:", time.Now().UnixNano(), ":")
	for i := range 500 {
		key := prefix + strconv.Itoa(i)
		if _, err := ps.Call(ctx, "default", "SET", []string{key, "x"}); err != nil {
			t.Fatal(err)
		}
		want := compatOwner(addrs, key)
		for s, c := range direct {
			n, err := c.Exists(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if (n == 1) != (s == want) {
				t.Fatalf("key %q: on server %d = %v, compat owner is %d", key, s, n == 1, want)
			}
		}
	}
}

// keyOn finds a key the compat ring places on server s.
func keyOn(addrs []string, s int, prefix string) string {
	for i := 0; ; i++ {
		if k := prefix + strconv.Itoa(i); compatOwner(addrs, k) == s {
			return k
		}
	}
}

func TestServerKilledFailsFastThenRecovers(t *testing.T) {
	ps, stack, addrs := startPools(t, nil)
	ctx := context.Background()
	onDead, onLive := keyOn(addrs, 1, "dead:"), keyOn(addrs, 0, "live:")
	for _, k := range []string{onDead, onLive} {
		if _, err := ps.Call(ctx, "default", "SET", []string{k, "1"}); err != nil {
			t.Fatal(err)
		}
	}
	stack.Stop(t, "redis2")
	var sawOpen bool
	for range 10 {
		_, err := ps.Call(ctx, "default", "GET", []string{onDead})
		if err == nil {
			t.Fatal("GET on a dead server succeeded")
		}
		if errors.Is(err, breaker.ErrOpen) {
			sawOpen = true // answered by the breaker: nothing was sent
		}
		if got, err := ps.Call(ctx, "default", "GET", []string{onLive}); err != nil || got != "1" {
			t.Fatalf("key on the live server: %q %v", got, err)
		}
	}
	if !sawOpen {
		t.Fatal("breaker never opened")
	}
	stack.Restart(t, "redis2") // empty: no persistence
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := ps.Call(ctx, "default", "SET", []string{onDead, "2"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUnreachableServerIsAnErrorNotAHang(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := redis.DefaultConfig()
	cfg.Servers = []string{l.Addr().String()}
	ps, err := redis.New(map[string]redis.Config{"p": cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = ps.Call(ctx, "p", "GET", []string{"k"})
	if err == nil {
		t.Fatal("a silent server answered")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a silent server: %v, want the call's deadline", err)
	}
}
