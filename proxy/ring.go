package proxy

import (
	"sort"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// Replicas is the number of points each member has on the ring: enough for
// an even spread over a few dozen nodes.
const Replicas = 160

// Ring maps keys to members. It depends only on the member list, so every
// node with the same view computes the same owner for every key, and
// adding or removing one of N members moves about 1/N of the keys. Its
// Owner(key) is pool/ring's (the backends' placement); here a member is a
// node's address.
type Ring struct {
	points []uint64
	owners map[uint64]string
}

// NewRing builds the ring over members (any order).
func NewRing(members []string) *Ring {
	r := &Ring{owners: make(map[uint64]string, len(members)*Replicas)}
	sorted := append([]string(nil), members...)
	sort.Strings(sorted) // a point two members share goes to the same one everywhere
	for _, m := range sorted {
		for i := range Replicas {
			h := xxhash.Sum64String(strconv.Itoa(i) + "#" + m)
			if _, taken := r.owners[h]; taken {
				continue
			}
			r.owners[h] = m
			r.points = append(r.points, h)
		}
	}
	sort.Slice(r.points, func(i, j int) bool { return r.points[i] < r.points[j] })
	return r
}

// Owner is the member owning key: the first point at or after the key's
// hash, wrapping around; "" for an empty ring.
func (r *Ring) Owner(key string) string {
	if len(r.points) == 0 {
		return ""
	}
	h := xxhash.Sum64String(key)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i] >= h })
	if i == len(r.points) {
		i = 0
	}
	return r.owners[r.points[i]]
}
