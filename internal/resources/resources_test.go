package resources

import (
	"os"
	"testing"
	"time"
)

func TestParseVmRSS(t *testing.T) {
	for status, want := range map[string]int64{
		"Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\nThreads: 3\n": 12345,
		"Name:\tx\n":                  -1,
		"VmRSS:\tlots kB\n":           -1,
		"VmRSS:\n":                    -1,
		"VmRSSx: 5 kB\nVmRSS: 7 kB\n": 7,
	} {
		if got := parseVmRSS([]byte(status)); got != want {
			t.Errorf("%q: %d, want %d", status, got, want)
		}
	}
}

func TestTake(t *testing.T) {
	start := time.Now().Add(-time.Second)
	s := Take("start", start)
	if s.Label != "start" || s.Goroutines < 1 || s.ElapsedSeconds < 1 {
		t.Errorf("sample %+v", s)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && s.RSSKiB <= 0 {
		t.Errorf("RSS %d KiB on a system with /proc", s.RSSKiB)
	}
	if Take("x", time.Time{}).ElapsedSeconds != 0 {
		t.Error("elapsed without a start")
	}
}
