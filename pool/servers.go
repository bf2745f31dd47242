package pool

import "strings"

// Servers flattens a configured server list: each entry may hold several
// comma-separated addresses (handy with ${ENV}); blanks are dropped and the
// order, which placement depends on, is kept.
func Servers(list []string) []string {
	var out []string
	for _, s := range list {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
