package ring_test

import (
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"
	"testing"

	"github.com/faed/faed/pool/ring"
)

// naive is the compat placement written the obvious way, independently of
// the ring's code: all points, sorted, scanned linearly.
func naive(servers []string, vnodes int, key string) int {
	type pt struct {
		h uint32
		s int
	}
	var pts []pt
	for s, addr := range servers {
		for i := range vnodes {
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

func TestOwnerMatchesCompatPlacement(t *testing.T) {
	servers := []string{"127.0.0.1:16379", "127.0.0.1:16380", "10.0.0.7:6379"}
	r := ring.New(servers, 32)
	seen := map[int]int{}
	for i := range 20000 {
		key := fmt.Sprint("user:", i)
		got, want := r.Owner(key), naive(servers, 32, key)
		if got != want {
			t.Fatalf("key %q: ring picks %d, compat placement %d", key, got, want)
		}
		seen[got]++
	}
	for s := range servers {
		if seen[s] < 20000/len(servers)/3 {
			t.Errorf("server %d got only %d of 20000 keys", s, seen[s])
		}
	}
}

func TestDegenerateRings(t *testing.T) {
	one := ring.New([]string{"a"}, 32)
	if one.Owner("anything") != 0 {
		t.Fatal("single server")
	}
	if ring.New(nil, 32).Owner("k") != -1 {
		t.Fatal("empty ring")
	}
}
