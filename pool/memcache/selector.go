package memcache

import (
	"hash/crc32"
	"net"
	"strconv"

	"github.com/faed/faed/pool/ring"
)

// selector places keys on a pool's servers; it implements gomemcache's
// ServerSelector.
type selector struct {
	addrs []net.Addr
	ring  *ring.Ring // nil for Standard
}

func newSelector(strategy string, servers []string) (*selector, error) {
	s := &selector{}
	for _, srv := range servers {
		a, err := net.ResolveTCPAddr("tcp", srv)
		if err != nil {
			return nil, err
		}
		s.addrs = append(s.addrs, a)
	}
	if strategy == Consistent {
		s.ring = ring.New(servers, 160)
	}
	return s, nil
}

// pick is the index of key's server.
func (s *selector) pick(key string) int {
	if s.ring != nil {
		return s.ring.Owner(key)
	}
	return int((crc32.ChecksumIEEE([]byte(key))>>16)&0x7fff) % len(s.addrs)
}

func (s *selector) PickServer(key string) (net.Addr, error) { return s.addrs[s.pick(key)], nil }

func (s *selector) Each(f func(net.Addr) error) error {
	for _, a := range s.addrs {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

func (s *selector) String() string { return strconv.Itoa(len(s.addrs)) + " servers" }
