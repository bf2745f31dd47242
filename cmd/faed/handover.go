package main

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"

	"github.com/cloudflare/tableflip"
	"github.com/faed/faed/engine"
	"golang.org/x/sys/unix"
)

// sessionsFile names, among the files an upgrade hands over, the socket
// the old process passes its idle client connections through.
const sessionsFile = "faed-sessions"

// sessionChannel is the old process's end of that socket: each message
// carries one client connection's descriptor (SCM_RIGHTS).
type sessionChannel struct {
	c   *net.UnixConn
	log *slog.Logger
}

// openSessionChannel makes the socket pair and hands its other end to the
// next process the upgrader starts.
func openSessionChannel(upg *tableflip.Upgrader, log *slog.Logger) (*sessionChannel, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sessions"), os.NewFile(uintptr(fds[1]), "sessions")
	defer theirs.Close() // the upgrader keeps its own copy
	if err := upg.AddFile(sessionsFile, theirs); err != nil {
		ours.Close()
		return nil, err
	}
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("session channel is not a unix socket")
	}
	return &sessionChannel{c: uc, log: log}, nil
}

// pass sends conn's descriptor to the new process (engine.Passer).
func (ch *sessionChannel) pass(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var sendErr error
	err = rc.Control(func(fd uintptr) {
		_, _, sendErr = ch.c.WriteMsgUnix([]byte{'s'}, unix.UnixRights(int(fd)), nil)
	})
	if err = errors.Join(err, sendErr); err != nil {
		ch.log.Warn("upgrade: a client connection could not be passed; closing it", "error", err)
		return false
	}
	return true
}

func (ch *sessionChannel) Close() error { return ch.c.Close() }

// adoptSessions serves, in the new process, the client connections the
// old one passes until it exits.
func adoptSessions(f *os.File, eng *engine.Engine, log *slog.Logger) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Warn("upgrade: no session channel from the old process", "error", err)
		return
	}
	defer c.Close()
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return
	}
	buf, oob := make([]byte, 16), make([]byte, unix.CmsgSpace(4*8))
	for {
		_, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
		if err != nil {
			return // the old process is gone
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			continue
		}
		for _, m := range msgs {
			fds, err := unix.ParseUnixRights(&m)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				adopt(fd, eng, log)
			}
		}
	}
}

func adopt(fd int, eng *engine.Engine, log *slog.Logger) {
	f := os.NewFile(uintptr(fd), "client")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Warn("upgrade: a passed client connection is unusable", "error", err)
		return
	}
	eng.Adopt(conn)
}
