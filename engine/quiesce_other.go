//go:build !linux

package engine

import (
	"net"
	"os"
)

// quiesce only removes a unix socket's file here: other systems get no
// socket filter, so queued TCP connections may be reset by the close.
func quiesce(l net.Listener, unixFile fileID) error {
	if ul, ok := l.(*net.UnixListener); ok {
		if id, err := fileIDOf(ul.Addr().String()); err == nil && id == unixFile {
			return os.Remove(ul.Addr().String())
		}
	}
	return nil
}

func acceptQueued(net.Listener) []net.Conn { return nil }
