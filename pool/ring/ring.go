// Package ring places keys on servers the way the older FunServant did: a
// CRC32-IEEE ring with virtual nodes keyed "<i><addr>"; a key goes to the
// first point at or after crc32(key), wrapping around. Its API matches
// proxy.Ring's (the cluster's ring of faed nodes): Owner(key) names the
// member owning key. Here a member is an index into the server list, which
// is what the pools keep their servers by.
package ring

import (
	"hash/crc32"
	"slices"
	"strconv"
)

// Ring is immutable once built; safe for concurrent use.
type Ring struct {
	points []point
}

type point struct {
	hash   uint32
	server int // index into the server list given to New
}

// New builds a ring over servers with vnodes virtual nodes each (the compat
// placement uses 32). Equal hashes keep the earlier server.
func New(servers []string, vnodes int) *Ring {
	r := &Ring{points: make([]point, 0, len(servers)*vnodes)}
	for s, addr := range servers {
		for i := range vnodes {
			r.points = append(r.points, point{crc32.ChecksumIEEE([]byte(strconv.Itoa(i) + addr)), s})
		}
	}
	slices.SortStableFunc(r.points, func(a, b point) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	return r
}

// Owner is the index (into the server list given to New) of the server
// owning key, or -1 on an empty ring.
func (r *Ring) Owner(key string) int {
	if len(r.points) == 0 {
		return -1
	}
	h := crc32.ChecksumIEEE([]byte(key))
	i, _ := slices.BinarySearchFunc(r.points, h, func(p point, h uint32) int {
		switch {
		case p.hash < h:
			return -1
		case p.hash > h:
			return 1
		}
		return 0
	})
	if i == len(r.points) {
		i = 0
	}
	return r.points[i].server
}
