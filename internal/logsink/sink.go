package logsink

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueue is the default number of lines held for the writer.
const DefaultQueue = 8192

// fileMode is the permission of a log file faed creates.
const fileMode = 0o640

// ErrNotFile: Reopen on a sink that writes to a stream, not a path.
var ErrNotFile = errors.New("log sink has no file to reopen")

// Stats are the sink's counters since it was built.
type Stats struct {
	// Written lines reached the destination.
	Written int64 `json:"written"`
	// Dropped lines were lost without a write: the queue was full, or the
	// sink was closing (or closed) before they could be written.
	Dropped int64 `json:"dropped"`
	// WriteErrors are lines the destination refused (a full disk, say);
	// they are lost too.
	WriteErrors int64 `json:"write_errors"`
	// Queued lines wait for the writer now.
	Queued int64 `json:"queued"`
}

// Sink queues lines for one writer goroutine. Its Write never blocks.
type Sink struct {
	queue chan *[]byte
	bufs  sync.Pool
	path  string // "" when writing to a stream

	mu      sync.Mutex
	pending *os.File // opened by Reopen, taken by the writer
	reopen  chan struct{}

	dst     io.Writer // the writer goroutine's alone
	closed  atomic.Bool
	quit    chan struct{}
	done    chan struct{}
	stopped sync.Once

	queued, written, dropped, errs atomic.Int64
}

// New writes to w (os.Stderr, say) through a queue of queue lines
// (DefaultQueue when queue <= 0).
func New(w io.Writer, queue int) *Sink {
	if queue <= 0 {
		queue = DefaultQueue
	}
	s := &Sink{
		queue:  make(chan *[]byte, queue),
		reopen: make(chan struct{}, 1),
		dst:    w,
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	go s.run()
	return s
}

// Open appends to the file at path (created 0640), which Reopen opens
// again after logrotate moved it.
func Open(path string, queue int) (*Sink, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	s := New(f, queue)
	s.path = path
	return s, nil
}

func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// Write queues a copy of p, or drops it when the queue is full or the sink
// is closed. It never blocks and never fails: a log line is not worth
// slowing a call for.
func (s *Sink) Write(p []byte) (int, error) {
	if s.closed.Load() {
		s.dropped.Add(1)
		return len(p), nil
	}
	b := s.bufs.Get().(*[]byte)
	*b = append((*b)[:0], p...)
	select {
	case s.queue <- b:
		s.queued.Add(1)
	default:
		s.dropped.Add(1)
		s.bufs.Put(b)
	}
	return len(p), nil
}

// Reopen opens the sink's path again (logrotate has moved the file away)
// and hands the new file to the writer, which closes the old one. It
// never waits for the writer. Lines logged after Reopen returns go to the
// new file, and so may lines still queued then. A failure keeps the old
// file.
func (s *Sink) Reopen() error {
	if s.path == "" {
		return ErrNotFile
	}
	f, err := openFile(s.path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.pending != nil {
		s.pending.Close() // an earlier reopen the writer has not taken yet
	}
	s.pending = f
	s.mu.Unlock()
	select {
	case s.reopen <- struct{}{}:
	default:
	}
	return nil
}

// Stats reads the counters.
func (s *Sink) Stats() Stats {
	return Stats{Written: s.written.Load(), Dropped: s.dropped.Load(), WriteErrors: s.errs.Load(), Queued: s.queued.Load()}
}

// Flush waits up to timeout for the lines queued so far to be written (or
// refused); it reports whether the queue drained.
func (s *Sink) Flush(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for s.queued.Load() > 0 {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// Close flushes for up to timeout, then stops the writer; lines still
// queued then (the destination blocks) are counted as dropped, as is
// every line written after Close. The file, if any, is closed once the
// writer has let go of it.
func (s *Sink) Close(timeout time.Duration) Stats {
	s.closed.Store(true)
	s.Flush(timeout)
	s.stopped.Do(func() { close(s.quit) })
	select {
	case <-s.done:
	case <-time.After(timeout):
		// The writer is stuck in a write; it will exit when that returns.
	}
	s.dropped.Add(s.queued.Swap(0))
	return s.Stats()
}

// run is the writer goroutine.
func (s *Sink) run() {
	defer close(s.done)
	defer s.closePending()
	defer s.closeDst()
	for {
		select {
		case b := <-s.queue:
			s.write(b)
		case <-s.reopen:
			s.swap()
		case <-s.quit:
			return
		}
	}
}

// write writes one line, after taking a file Reopen opened: a line
// queued after Reopen returned goes to the new file.
func (s *Sink) write(b *[]byte) {
	select {
	case <-s.reopen:
		s.swap()
	default:
	}
	if s.closed.Load() && s.quitting() {
		s.bufs.Put(b)
		return // counted as dropped by Close
	}
	if _, err := s.dst.Write(*b); err != nil {
		s.errs.Add(1)
	} else {
		s.written.Add(1)
	}
	s.queued.Add(-1)
	s.bufs.Put(b)
}

func (s *Sink) quitting() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// swap takes the file Reopen opened.
func (s *Sink) swap() {
	s.mu.Lock()
	f := s.pending
	s.pending = nil
	s.mu.Unlock()
	if f == nil {
		return
	}
	s.closeDst()
	s.dst = f
}

func (s *Sink) closeDst() {
	if f, ok := s.dst.(*os.File); ok && s.path != "" {
		f.Close()
	}
}

// closePending closes a file Reopen opened that the writer never took.
func (s *Sink) closePending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		s.pending.Close()
		s.pending = nil
	}
}
