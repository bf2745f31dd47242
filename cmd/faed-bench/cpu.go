package main

import (
	"syscall"
	"time"
)

// cpuTimes is the CPU time this process has used so far. The summary
// reports the bench's own share of the machine with it, to show whether
// the bench rather than the server was the bottleneck; user time is the
// bench's own code, system time mostly the kernel's socket work (on
// loopback that includes handshakes done for the server's side).
type cpuTimes struct{ user, total time.Duration }

func processCPU() cpuTimes {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}
	}
	user := time.Duration(ru.Utime.Nano())
	return cpuTimes{user: user, total: user + time.Duration(ru.Stime.Nano())}
}

// cores is the CPU used between c0 and c, in cores, over wall time.
func (c cpuTimes) cores(c0 cpuTimes, wall time.Duration) (user, total float64) {
	return (c.user - c0.user).Seconds() / wall.Seconds(), (c.total - c0.total).Seconds() / wall.Seconds()
}
