package devstack

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Signal sends sig to one server of the stack (e.g. "redis1", "mysql"),
// found by the pid file backends.sh keeps for it: SIGKILL to crash it,
// SIGSTOP to make it silent (connections stay open, nothing answers).
// A stopped server is continued when the test ends, so that the stack's
// own stop can end it. After SIGKILL, Signal returns once the server is
// gone (a zombie nobody reaps counts as gone) and Restart starts it again.
func (s *Stack) Signal(t testing.TB, name string, sig syscall.Signal) {
	t.Helper()
	pidFile := filepath.Join(s.dir, name+".pid")
	pid := readPid(t, name, pidFile)
	if sig == syscall.SIGSTOP {
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("%v to %s (pid %d): %v", sig, name, pid, err)
	}
	if sig == syscall.SIGSTOP {
		// kill returns before every thread has stopped: a thread busy
		// answering could still send its reply. Wait until all have.
		deadline := time.Now().Add(30 * time.Second)
		for !stopped(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d) not stopped 30s after SIGSTOP", name, pid)
			}
			time.Sleep(time.Millisecond)
		}
		return
	}
	if sig != syscall.SIGKILL {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still running 30s after SIGKILL", name, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// backends.sh takes a live pid in the file (a zombie is one) for a
	// running server
	if err := os.Remove(pidFile); err != nil {
		t.Fatal(err)
	}
}

// stopped reports whether every thread of pid is stopped (state T).
func stopped(pid int) bool {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread is gone
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || !strings.HasPrefix(string(b[i+1:]), " T") && !strings.HasPrefix(string(b[i+1:]), " t") {
			return false
		}
	}
	return true
}

// gone reports whether pid has exited, reaped or not.
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// the state follows the command name in parentheses
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || strings.HasPrefix(string(b[i+1:]), " Z") || strings.HasPrefix(string(b[i+1:]), " X")
}

func readPid(t testing.TB, name, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("pid of %s: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file of %s: %q", name, b)
	}
	return pid
}
