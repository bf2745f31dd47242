package pool_test

import (
	"slices"
	"testing"

	"github.com/faed/faed/pool"
)

func TestServers(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"a:1"}, []string{"a:1"}},
		{[]string{"a:1,b:2", " c:3 ", ""}, []string{"a:1", "b:2", "c:3"}},
		{[]string{",,a:1,"}, []string{"a:1"}},
	}
	for _, tc := range cases {
		if got := pool.Servers(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Servers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
