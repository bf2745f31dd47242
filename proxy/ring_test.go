package proxy

import (
	"fmt"
	"slices"
	"testing"
)

func members(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.0.%d:9001", i+1)
	}
	return out
}

func TestRingSameViewSameOwner(t *testing.T) {
	m := members(5)
	rev := slices.Clone(m)
	slices.Reverse(rev)
	a, b := NewRing(m), NewRing(rev)
	for k := range 10000 {
		key := fmt.Sprint("key-", k)
		if a.Owner(key) != b.Owner(key) {
			t.Fatalf("%s: %s vs %s for the same members in another order", key, a.Owner(key), b.Owner(key))
		}
	}
}

func TestRingMovesAboutOneNth(t *testing.T) {
	const keys = 20000
	for _, n := range []int{2, 3, 5, 10} {
		before := NewRing(members(n))
		after := NewRing(members(n + 1))
		moved, counts := 0, map[string]int{}
		for k := range keys {
			key := fmt.Sprint("k", k)
			o := before.Owner(key)
			counts[o]++
			if after.Owner(key) != o {
				moved++
				if after.Owner(key) != members(n + 1)[n] {
					t.Fatalf("%s moved between old members", key)
				}
			}
		}
		share := float64(moved) / keys
		ideal := 1 / float64(n+1)
		if share < ideal*0.6 || share > ideal*1.4 {
			t.Errorf("%d→%d members moved %.3f of keys, ideal %.3f", n, n+1, share, ideal)
		}
		for m, c := range counts {
			if f := float64(c) / keys * float64(n); f < 0.6 || f > 1.4 {
				t.Errorf("%d members: %s owns %.2f× its fair share", n, m, f)
			}
		}
	}
}

func TestRingEmpty(t *testing.T) {
	if o := NewRing(nil).Owner("x"); o != "" {
		t.Fatalf("empty ring owner %q", o)
	}
}
