package idgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// state persists a high-water mark: no id of this worker was ever issued
// with a timestamp above it. The mark is written ahead of use (now +
// reserve) so the id path touches the disk at most once per reserve.
type state struct {
	path    string
	reserve int64 // ms
	mark    int64 // ms since epochMs, as saved
}

// openState reads the saved mark (0 when the file does not exist yet).
func openState(path string, reserve time.Duration) (*state, int64, error) {
	st := &state{path: path, reserve: reserve.Milliseconds()}
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return st, -1, nil
	case err != nil:
		return nil, 0, fmt.Errorf("%w %s: %w", ErrState, path, err)
	}
	mark, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || mark < 0 {
		return nil, 0, fmt.Errorf("%w %s: not a timestamp: %q", ErrState, path, b)
	}
	st.mark = mark
	return st, mark, nil
}

// cover makes sure the saved mark is at least ms before an id with that
// timestamp is issued. Called with the generator's lock held; nil-safe.
func (st *state) cover(ms int64) error {
	if st == nil || ms <= st.mark {
		return nil
	}
	return st.save(ms + st.reserve)
}

// close records the exact last timestamp, so a restart waits no longer
// than needed.
func (st *state) close(lastMs int64) error {
	if st == nil || lastMs < 0 {
		return nil
	}
	return st.save(lastMs)
}

// save writes the mark durably: temp file, fsync, rename.
func (st *state) save(mark int64) error {
	// A temp file of its own: during a binary upgrade two processes save
	// the same mark file.
	f, err := os.CreateTemp(filepath.Dir(st.path), filepath.Base(st.path)+".tmp*")
	tmp := ""
	if err == nil {
		tmp = f.Name()
		_, err = f.WriteString(strconv.FormatInt(mark, 10) + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, st.path)
	}
	if err != nil && tmp != "" {
		_ = os.Remove(tmp)
	}
	if err == nil {
		err = syncDir(filepath.Dir(st.path))
	}
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrState, st.path, err)
	}
	st.mark = mark
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
