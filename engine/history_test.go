package engine_test

import (
	"slices"
	"testing"

	"github.com/faed/faed/engine"
)

func TestHistoryRing(t *testing.T) {
	h := engine.NewHistory[int](3)
	if got, next := h.Since(0); got != nil || next != 0 {
		t.Fatalf("empty: %v, %d", got, next)
	}
	for i := range 5 {
		h.Add(i * 10)
	}
	cases := []struct {
		since uint64
		want  []int
	}{
		{0, []int{20, 30, 40}}, // 0 and 1 left the ring
		{2, []int{20, 30, 40}},
		{4, []int{40}},
		{5, nil},
		{99, nil}, // from another process's numbering: nothing, and the next number
	}
	for _, tc := range cases {
		got, next := h.Since(tc.since)
		if !slices.Equal(got, tc.want) || next != 5 {
			t.Errorf("Since(%d) = %v, %d; want %v, 5", tc.since, got, next, tc.want)
		}
	}
	if got, _ := engine.NewHistory[int](0).Since(0); got != nil {
		t.Errorf("a ring of 0 is one: %v", got)
	}
}
