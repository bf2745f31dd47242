package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/faed/faed/idl/fun/rpc"
)

// stubServant answers the calls the bench sends and records each as text,
// so tests can check what the server decoded. id_next fails the way faed's
// unbuilt methods do; lc_get misses until lc_set stored the key.
type stubServant struct {
	rpc.FunServant // every other method: nil, never called
	mu             sync.Mutex
	got            []string
	cache          map[string][]byte
}

func newStubServant() *stubServant { return &stubServant{cache: map[string][]byte{}} }

func (s *stubServant) record(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, fmt.Sprintf(format, args...))
}

func (s *stubServant) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func (s *stubServant) Noop(_ context.Context, x int32) (int32, error) {
	s.record("noop %d", x)
	return x, nil
}

func (s *stubServant) Ping(_ context.Context, c *rpc.Context) (string, error) {
	s.record("ping %d %s", c.Rid, c.Reason)
	return "pong", nil
}

func (s *stubServant) IDNext(_ context.Context, c *rpc.Context) (int64, error) {
	s.record("id_next %d %s", c.Rid, c.Reason)
	return 0, errors.New("id_next: not built")
}

func (s *stubServant) LcSet(_ context.Context, c *rpc.Context, key string, value []byte) (bool, error) {
	s.record("lc_set %d %s %dB", c.Rid, key, len(value))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[key] = value
	return true, nil
}

func (s *stubServant) LcGet(_ context.Context, c *rpc.Context, key string) ([]byte, error) {
	s.record("lc_get %d %s", c.Rid, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache[key]
	if !ok {
		return nil, &rpc.TCacheMissed{}
	}
	return v, nil
}

func (s *stubServant) Lock(_ context.Context, c *rpc.Context, reason, key string) (bool, error) {
	s.record("lock %d %s %s", c.Rid, reason, key)
	return true, nil
}

func (s *stubServant) Unlock(_ context.Context, c *rpc.Context, reason, key string) error {
	s.record("unlock %d %s %s", c.Rid, reason, key)
	return nil
}

func (s *stubServant) RdCall(_ context.Context, c *rpc.Context, cmd, pool string, args []string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cmd {
	case "SET":
		s.got = append(s.got, fmt.Sprintf("rd_call %d SET %s %s %dB", c.Rid, pool, args[0], len(args[1])))
		s.cache["rd:"+args[0]] = []byte(args[1])
		return "OK", nil
	default:
		s.got = append(s.got, fmt.Sprintf("rd_call %d %s %s %s", c.Rid, cmd, pool, args[0]))
		v, ok := s.cache["rd:"+args[0]]
		if !ok {
			return "", errors.New("key not exists")
		}
		return string(v), nil
	}
}

func (s *stubServant) McSet(_ context.Context, c *rpc.Context, pool, key string, v *rpc.TMemcacheData, _ int32) (bool, error) {
	s.record("mc_set %d %s %s %dB", c.Rid, pool, key, len(v.Data))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache["mc:"+key] = v.Data
	return true, nil
}

func (s *stubServant) McGet(_ context.Context, c *rpc.Context, pool, key string) (*rpc.TMemcacheData, error) {
	s.record("mc_get %d %s %s", c.Rid, pool, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache["mc:"+key]
	if !ok {
		return nil, &rpc.TCacheMissed{}
	}
	return &rpc.TMemcacheData{Data: v}, nil
}

func (s *stubServant) MyQuery(_ context.Context, c *rpc.Context, pool, table string, _ int64, sql string, argv []string, cacheKey string) (*rpc.MysqlResult_, error) {
	s.record("my_query %d %s %s %q %v %s", c.Rid, pool, table, sql, argv, cacheKey)
	return &rpc.MysqlResult_{Cols: []string{"id", "data"}, Rows: [][]string{{argv[0], "{}"}}}, nil
}
