package logsink_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faed/faed/internal/logsink"
)

// blockingWriter blocks every Write until released, like a log pipe
// nobody reads or a disk that hangs.
type blockingWriter struct {
	entered chan struct{} // gets a value when a Write starts
	release chan struct{}
	once    sync.Once
}

func newBlockingWriter(t *testing.T) *blockingWriter {
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(w.unblock)
	return w
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	return len(p), nil
}

func (w *blockingWriter) unblock() { w.once.Do(func() { close(w.release) }) }

// hangGuard fails the test if f does not return; it is no latency
// threshold, only a bound on a hang.
func hangGuard(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return in 30s: a log call blocked", what)
	}
}

// The blocking-log test: the destination blocks forever, yet every log
// call returns; the lines beyond the queue are dropped and counted.
func TestBlockedWriterNeverBlocksLogCalls(t *testing.T) {
	const queue, n = 8, 1000
	w := newBlockingWriter(t)
	s := logsink.New(w, queue)
	log := slog.New(slog.NewTextHandler(s, nil))

	log.Info("first")
	<-w.entered // the writer holds "first" and is stuck in Write
	hangGuard(t, "log calls with a blocked writer", func() {
		for i := 1; i < n; i++ {
			log.Info("call", "i", i)
		}
	})
	st := s.Stats()
	if st.Written != 0 || st.Queued != queue+1 || st.Dropped != n-queue-1 {
		t.Fatalf("stats with the writer blocked = %+v, want 0 written, %d queued (one in the writer), %d dropped",
			st, queue+1, n-queue-1)
	}
	if st.Written+st.Dropped+st.Queued+st.WriteErrors != n {
		t.Fatalf("stats %+v do not add up to %d lines", st, n)
	}

	w.unblock()
	if !s.Flush(30 * time.Second) {
		t.Fatalf("queue not drained once the writer was released: %+v", s.Stats())
	}
	if st := s.Stats(); st.Written != queue+1 || st.Dropped != n-queue-1 || st.Queued != 0 {
		t.Fatalf("stats after release = %+v", st)
	}
}

// Close with a writer that never returns gives up after its timeout and
// counts what was still queued as dropped; later lines are dropped too.
func TestCloseWithBlockedWriterCountsLostLines(t *testing.T) {
	w := newBlockingWriter(t)
	s := logsink.New(w, 4)
	fmt.Fprintln(s, "held")
	<-w.entered
	for range 3 {
		fmt.Fprintln(s, "queued")
	}
	var st logsink.Stats
	hangGuard(t, "Close", func() { st = s.Close(50 * time.Millisecond) })
	if st.Written != 0 || st.Queued != 0 || st.Dropped != 4 {
		t.Fatalf("stats after Close = %+v, want the 4 unwritten lines dropped", st)
	}
	fmt.Fprintln(s, "after close")
	if got := s.Stats().Dropped; got != 5 {
		t.Fatalf("dropped after a write past Close = %d, want 5", got)
	}
}

// fullDisk refuses every write as a full disk does.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "faed.log", Err: syscall.ENOSPC}
}

func TestFullDiskCountsErrorsAndNeverBlocks(t *testing.T) {
	const n = 500
	s := logsink.New(fullDisk{}, n)
	log := slog.New(slog.NewJSONHandler(s, nil))
	hangGuard(t, "log calls on a full disk", func() {
		for i := range n {
			log.Warn("disk full", "i", i)
		}
	})
	if !s.Flush(30 * time.Second) {
		t.Fatalf("queue not drained: %+v", s.Stats())
	}
	if st := s.Stats(); st.WriteErrors != n || st.Written != 0 || st.Dropped != 0 {
		t.Fatalf("stats = %+v, want %d write errors", st, n)
	}
}

// logrotate moves the file; after Reopen new lines go to a new file at
// the path and the old lines stay in the moved one.
func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "faed.log")
	s, err := logsink.Open(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(time.Second) })
	for i := range 3 {
		fmt.Fprintf(s, "old %d\n", i)
	}
	if !s.Flush(30 * time.Second) {
		t.Fatal("not flushed")
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(s, "old 3 (written to the moved file before the reopen)")
	s.Flush(30 * time.Second)
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(s, "new 0")
	fmt.Fprintln(s, "new 1")
	if !s.Flush(30 * time.Second) {
		t.Fatal("not flushed")
	}
	moved, cur := read(t, path+".1"), read(t, path)
	if strings.Count(moved, "old ") != 4 || strings.Contains(moved, "new") {
		t.Fatalf("moved file:\n%s", moved)
	}
	if cur != "new 0\nnew 1\n" {
		t.Fatalf("new file:\n%s", cur)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&^0o640 != 0 {
		t.Fatalf("new file mode %v, %v: want at most 0640", fi.Mode(), err)
	}
	if st := s.Stats(); st.Written != 6 || st.Dropped != 0 || st.WriteErrors != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestReopenFailsKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "faed.log")
	os.Mkdir(filepath.Dir(path), 0o755)
	s, err := logsink.Open(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(time.Second) })
	os.Rename(filepath.Dir(path), filepath.Join(dir, "moved"))
	if err := s.Reopen(); err == nil {
		t.Fatal("reopen in a directory that is gone succeeded")
	}
	fmt.Fprintln(s, "still logged")
	s.Flush(30 * time.Second)
	if got := read(t, filepath.Join(dir, "moved", "faed.log")); got != "still logged\n" {
		t.Fatalf("old file = %q", got)
	}
	stream := logsink.New(os.Stderr, 1)
	defer stream.Close(time.Second)
	if err := stream.Reopen(); !errors.Is(err, logsink.ErrNotFile) {
		t.Fatalf("reopen of a stream sink = %v", err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
