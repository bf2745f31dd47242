package engine

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dropAll is a socket filter that drops every packet: on a listening TCP
// socket it drops incoming SYNs, so no new connection joins the queue
// (the client retries its SYN, and meets a successor or a refusal).
var dropAll = []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}

// quiesce turns new connections away from l without touching the ones the
// kernel already queued: a TCP socket gets a drop-all filter; a unix
// socket's file is removed (new clients get "no such file"), unless it is
// no longer this socket's.
func quiesce(l net.Listener, unixFile fileID) error {
	switch l := l.(type) {
	case *net.TCPListener:
		rc, err := l.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		err = rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
				&unix.SockFprog{Len: uint16(len(dropAll)), Filter: &dropAll[0]})
		})
		return errors.Join(err, serr)
	case *net.UnixListener:
		return unlinkOwn(l, unixFile)
	}
	return nil
}

// unlinkOwn removes the unix socket file if it is still the one l bound
// (a restarted faed may already have bound a new one at that path).
func unlinkOwn(l *net.UnixListener, bound fileID) error {
	path := l.Addr().String()
	if id, err := fileIDOf(path); err != nil || id != bound {
		return nil // gone, or another socket now: leave it
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// acceptQueued accepts, without waiting, every connection in l's queue,
// and stops a TCP listener listening right after the last.
func acceptQueued(l net.Listener) []net.Conn {
	sc, ok := l.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	_, isTCP := l.(*net.TCPListener)
	var fds []int
	_ = rc.Control(func(fd uintptr) {
		for {
			nfd, _, err := unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				break
			}
			fds = append(fds, nfd)
		}
		if isTCP {
			// Stop listening at once, in the same breath as the last
			// accept: the descriptor's close may come later.
			_ = unix.Shutdown(int(fd), unix.SHUT_RDWR)
		}
	})
	var conns []net.Conn
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "accepted")
		c, err := net.FileConn(f)
		f.Close()
		if err == nil {
			conns = append(conns, c)
		}
	}
	return conns
}
