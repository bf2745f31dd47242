package querycache_test

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/faed/faed/querycache"
)

// mapStore is the byte store, in a map: the cache's own rules are pure
// logic (cache.Cache is tested in its package).
type mapStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *mapStore) Get(k string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok
}
func (s *mapStore) Set(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
	return nil
}
func (s *mapStore) Delete(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[k]
	delete(s.m, k)
	return ok
}

type text struct{}

func (text) Encode(v string) ([]byte, error) { return []byte(v), nil }
func (text) Decode(b []byte) (string, error) {
	if string(b) == "garbage" {
		return "", errors.New("undecodable")
	}
	return string(b), nil
}

func TestConcurrentMissesRunOnce(t *testing.T) {
	q := querycache.New[string](&mapStore{m: map[string][]byte{}}, text{})
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := q.Load("k", func() (string, error) { runs.Add(1); <-release; return "v", nil })
			if err != nil || v != "v" {
				t.Errorf("load: %q, %v", v, err)
			}
		}()
	}
	for runs.Load() == 0 {
		runtime.Gosched() // one query runs; the rest join it or, later, hit the cache
	}
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("the query ran %d times", runs.Load())
	}
	if v, _ := q.Load("k", func() (string, error) { return "", errors.New("must not run") }); v != "v" {
		t.Fatalf("hit: %q", v)
	}
}

func TestEvictionDuringAQueryWins(t *testing.T) {
	st := &mapStore{m: map[string][]byte{}}
	q := querycache.New[string](st, text{})
	v, err := q.Load("k", func() (string, error) { q.Evict("k"); return "stale", nil })
	if err != nil || v != "stale" {
		t.Fatalf("load: %q, %v", v, err)
	}
	if _, ok := st.Get("k"); ok {
		t.Fatal("a result read before an eviction was stored after it")
	}
}

func TestUndecodableEntryIsRefilled(t *testing.T) {
	st := &mapStore{m: map[string][]byte{"k": []byte("garbage")}}
	q := querycache.New[string](st, text{})
	if v, err := q.Load("k", func() (string, error) { return "fresh", nil }); err != nil || v != "fresh" {
		t.Fatalf("load: %q, %v", v, err)
	}
	if b, _ := st.Get("k"); string(b) != "fresh" {
		t.Fatalf("stored %q", b)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	q := querycache.New[string](&mapStore{m: map[string][]byte{}}, text{})
	if _, err := q.Load("k", func() (string, error) { return "", errors.New("down") }); err == nil {
		t.Fatal("error lost")
	}
	if v, _ := q.Load("k", func() (string, error) { return "up", nil }); v != "up" {
		t.Fatalf("after an error: %q", v)
	}
}
