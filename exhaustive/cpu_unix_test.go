//go:build unix

package exhaustive

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time so far, so that the
// benchmark can report a rate that a loaded machine does not distort.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
