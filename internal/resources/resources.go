// Package resources samples the process's resident set size and goroutine
// count, for long runs (campaigns) to show that memory and goroutines stay
// flat. The resident set is VmRSS from /proc/self/status (Linux, proc(5));
// elsewhere it is -1.
package resources

import (
	"bufio"
	"bytes"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"
)

// Sample is the process's resident set and goroutine count at one moment.
type Sample struct {
	Label          string    `json:"label"` // start, periodic, end
	Time           time.Time `json:"time"`
	ElapsedSeconds float64   `json:"elapsed_seconds"` // since the start given to Take; 0 without one
	RSSKiB         int64     `json:"rss_kib"`         // VmRSS from /proc/self/status; -1 where unavailable
	Goroutines     int       `json:"goroutines"`
}

// Take samples now. start, if not zero, is when the measured work began.
func Take(label string, start time.Time) Sample {
	now := time.Now()
	s := Sample{Label: label, Time: now.UTC(), RSSKiB: RSSKiB(), Goroutines: goruntime.NumGoroutine()}
	if !start.IsZero() {
		s.ElapsedSeconds = now.Sub(start).Seconds()
	}
	return s
}

// RSSKiB returns VmRSS from /proc/self/status in KiB, or -1 where there
// is none.
func RSSKiB() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	return parseVmRSS(data)
}

// parseVmRSS reads the VmRSS line of a /proc/PID/status file, or -1.
func parseVmRSS(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) >= 1 {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return n
			}
		}
		return -1
	}
	return -1
}
