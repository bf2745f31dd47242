package engine

import (
	"fmt"
	"os"
	"syscall"
)

// fileID tells two files apart: device and inode.
type fileID struct{ dev, ino uint64 }

func fileIDOf(path string) (fileID, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fmt.Errorf("%s: no inode", path)
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, nil
}
