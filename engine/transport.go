package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/apache/thrift/lib/go/thrift"
)

// bufSize is the size of pooled read and write buffers. A buffer that grew
// past maxPooledBuf while writing a large reply is dropped, not pooled.
const (
	bufSize      = 4 << 10
	maxPooledBuf = 64 << 10
)

var (
	errMessageTooLarge = errors.New("message exceeds max_message_bytes")
	errFrameTooLarge   = errors.New("frame exceeds max_message_bytes")
	errFrameOverrun    = errors.New("read past the end of the frame")
	errFrameLost       = errors.New("no frame to skip to")
)

// bufPool hands out byte buffers. Each engine owns one, so two engines in one
// process share nothing. Buffers travel as *[]byte so that get and put
// allocate nothing.
type bufPool struct{ p sync.Pool }

func newBufPool() *bufPool {
	return &bufPool{p: sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}}
}

func (bp *bufPool) get() *[]byte { return bp.p.Get().(*[]byte) }

func (bp *bufPool) put(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:cap(*b)]
	bp.p.Put(b)
}

// transport is a session's thrift.TRichTransport over one client connection.
//
// It holds no buffer while the session is idle: the read buffer is taken from
// the pool only when the socket is readable (inside the raw read callback)
// and returned after a call when nothing is left unread; the write buffer
// lives from the first Write to Flush. This keeps thousands of idle php-fpm
// connections cheap.
//
// In framed mode it strips the 4-byte length on read and adds it on Flush,
// so one type serves both transports.
type transport struct {
	conn   net.Conn
	raw    syscall.RawConn // nil when the conn has no file descriptor (tests)
	rawFn  func(fd uintptr) bool
	rawN   int
	rawErr error
	pool   *bufPool
	rbufp  *[]byte // pooled read buffer; rbuf is *rbufp
	rbuf   []byte
	r, w   int
	wbufp  *[]byte // pooled write buffer; wbuf grows from *wbufp
	wbuf   []byte
	maxIn  int64

	framed    bool
	frameLeft int64 // framed: bytes of the current frame not yet read
	inLeft    int64 // buffered: bytes the current message may still read
	closed    atomic.Bool
}

var _ thrift.TRichTransport = (*transport)(nil)

func newTransport(conn net.Conn, pool *bufPool, maxIn int32) *transport {
	t := &transport{conn: conn, pool: pool, maxIn: int64(maxIn), inLeft: int64(maxIn)}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			t.raw = raw
			t.rawFn = t.rawRead // bound once: no closure per call
		}
	}
	return t
}

// rawRead runs when the socket may be readable: it takes a buffer from the
// pool only if there are bytes to put in it.
func (t *transport) rawRead(fd uintptr) bool {
	bp := t.pool.get()
	t.rawN, t.rawErr = syscall.Read(int(fd), *bp)
	if t.rawErr == syscall.EAGAIN {
		t.pool.put(bp)
		return false
	}
	if t.rawN > 0 {
		t.rbufp, t.rbuf, t.r, t.w = bp, *bp, 0, t.rawN
	} else {
		t.pool.put(bp)
	}
	return true
}

// buffered reports how many received bytes are not yet consumed.
func (t *transport) buffered() int { return t.w - t.r }

// waitReadable blocks until at least one byte is buffered, honouring the
// connection's read deadline, without holding a buffer while it waits.
func (t *transport) waitReadable() error {
	if t.buffered() > 0 {
		return nil
	}
	if t.raw == nil || t.rbuf != nil {
		return t.fill()
	}
	for {
		err := t.raw.Read(t.rawFn)
		switch {
		case err != nil:
			return err
		case t.rawErr == syscall.EINTR:
			continue
		case t.rawErr != nil:
			return t.rawErr
		case t.rawN == 0:
			return io.EOF
		}
		return nil
	}
}

// fill reads more bytes from the connection into the read buffer.
func (t *transport) fill() error {
	if t.rbuf == nil {
		t.rbufp = t.pool.get()
		t.rbuf = *t.rbufp
	}
	if t.r == t.w {
		t.r, t.w = 0, 0
	} else if t.w == len(t.rbuf) {
		t.w = copy(t.rbuf, t.rbuf[t.r:t.w])
		t.r = 0
	}
	n, err := t.conn.Read(t.rbuf[t.w:])
	t.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// peek returns the next n buffered bytes, reading until they are there.
func (t *transport) peek(n int) ([]byte, error) {
	for t.buffered() < n {
		if err := t.fill(); err != nil {
			return nil, err
		}
	}
	return t.rbuf[t.r : t.r+n], nil
}

// beginMessage resets the per-message read budget; in framed mode it reads
// and checks the frame length.
func (t *transport) beginMessage() error {
	t.inLeft = t.maxIn
	if !t.framed {
		return nil
	}
	t.frameLeft = -1 // until a frame is known: endMessage cannot resync
	hdr, err := t.peek(4)
	if err != nil {
		return err
	}
	size := int64(int32(binary.BigEndian.Uint32(hdr)))
	t.r += 4
	if size <= 0 || size > t.maxIn {
		return fmt.Errorf("%w: frame of %d bytes", errFrameTooLarge, size)
	}
	t.frameLeft = size
	return nil
}

// endMessage discards what is left of the current frame (unknown trailing
// bytes) and gives the read buffer back when nothing is left in it.
func (t *transport) endMessage() error {
	if t.framed && t.frameLeft < 0 {
		return errFrameLost
	}
	for t.framed && t.frameLeft > 0 {
		if t.buffered() == 0 {
			if err := t.fill(); err != nil {
				return err
			}
		}
		n := min(int64(t.buffered()), t.frameLeft)
		t.r += int(n)
		t.frameLeft -= n
	}
	if t.rbuf != nil && t.buffered() == 0 {
		t.releaseRead()
	}
	return nil
}

func (t *transport) releaseRead() {
	t.pool.put(t.rbufp)
	t.rbufp, t.rbuf, t.r, t.w = nil, nil, 0, 0
}

// limit bounds a read of n bytes by what the current message may still read.
func (t *transport) limit(n int) (int, error) {
	left := t.inLeft
	if t.framed {
		left = t.frameLeft
	}
	if left <= 0 {
		if t.framed {
			return 0, errFrameOverrun
		}
		return 0, errMessageTooLarge
	}
	return int(min(int64(n), left)), nil
}

func (t *transport) consumed(n int) {
	if t.framed {
		t.frameLeft -= int64(n)
	} else {
		t.inLeft -= int64(n)
	}
}

// Read implements io.Reader within the current message's budget.
func (t *transport) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	want, err := t.limit(len(p))
	if err != nil {
		return 0, err
	}
	if t.buffered() == 0 {
		if err := t.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p[:want], t.rbuf[t.r:t.w])
	t.r += n
	t.consumed(n)
	return n, nil
}

// ReadByte implements io.ByteReader; the protocols use it for every byte of
// a header, so it stays allocation-free.
func (t *transport) ReadByte() (byte, error) {
	if _, err := t.limit(1); err != nil {
		return 0, err
	}
	if t.buffered() == 0 {
		if err := t.fill(); err != nil {
			return 0, err
		}
	}
	c := t.rbuf[t.r]
	t.r++
	t.consumed(1)
	return c, nil
}

// RemainingBytes bounds container sizes read off the wire by the bytes the
// message may still contain.
func (t *transport) RemainingBytes() uint64 {
	if t.framed {
		return uint64(max(t.frameLeft, 0))
	}
	return uint64(max(t.inLeft, 0))
}

func (t *transport) ensureWrite() {
	if t.wbuf == nil {
		t.wbufp = t.pool.get()
		t.wbuf = (*t.wbufp)[:0]
		if t.framed {
			t.wbuf = append(t.wbuf, 0, 0, 0, 0)
		}
	}
}

// Write buffers reply bytes until Flush.
func (t *transport) Write(p []byte) (int, error) {
	t.ensureWrite()
	t.wbuf = append(t.wbuf, p...)
	return len(p), nil
}

// WriteByte implements io.ByteWriter.
func (t *transport) WriteByte(c byte) error {
	t.ensureWrite()
	t.wbuf = append(t.wbuf, c)
	return nil
}

// WriteString implements io.StringWriter.
func (t *transport) WriteString(s string) (int, error) {
	t.ensureWrite()
	t.wbuf = append(t.wbuf, s...)
	return len(s), nil
}

// discardWrites drops a partly written reply (e.g. after a panic mid-call).
func (t *transport) discardWrites() {
	if t.wbuf != nil {
		if cap(t.wbuf) <= maxPooledBuf {
			*t.wbufp = t.wbuf // keep a buffer that grew, up to the cap
		}
		t.pool.put(t.wbufp)
		t.wbufp, t.wbuf = nil, nil
	}
}

// Flush sends the buffered reply in one write and returns the buffer.
func (t *transport) Flush(context.Context) error {
	if t.wbuf == nil {
		return nil
	}
	if t.framed {
		binary.BigEndian.PutUint32(t.wbuf, uint32(len(t.wbuf)-4))
	}
	_, err := t.conn.Write(t.wbuf)
	t.discardWrites()
	return err
}

// Open is a no-op: the connection is already open.
func (t *transport) Open() error { return nil }

// IsOpen reports whether the session still owns the connection. It is safe
// to call from another goroutine.
func (t *transport) IsOpen() bool { return !t.closed.Load() }

// Close closes the connection; it may run on another goroutine than the
// session's (a stop cutting it off), so the buffers are left to release.
func (t *transport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	return t.conn.Close()
}

// release returns buffers to the pool once the session is done with them.
func (t *transport) release() {
	t.discardWrites()
	if t.rbuf != nil {
		t.releaseRead()
	}
}
