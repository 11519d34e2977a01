package chaos

import (
	"strings"
	"testing"
	"time"
)

// owned is a flag only its owner can set (BlockerOnly).
type owned struct{ flag }

func (owned) BlockerOnly() bool { return true }

// hopeless is a wait that says it can never be ready.
type hopeless struct{}

func (hopeless) Ready() bool    { return false }
func (hopeless) Blocker() int   { return -1 }
func (hopeless) String() string { return "event e" }
func (hopeless) Never() (string, string, bool) {
	return "nobody sets it", ChainNever, true
}

// spinAndBlock runs thread 0 blocked on w while thread 1 (and 2, hung
// when hang is set) spin, and returns how the run ended.
func spinAndBlock(t *testing.T, w func(*bool) Wait, hang bool) End {
	t.Helper()
	var never bool
	c := NewController(Random(1), Options{MaxSteps: 5000})
	c.Spawn(0, func() {
		c.Spawn(1, func() {
			for {
				c.Yield(1)
			}
		})
		if hang {
			c.Spawn(2, func() { c.Block(2, Forever("hung")) })
		}
		for range 3 {
			c.Yield(0)
		}
		c.Block(0, w(&never))
		c.Halt("unblocked")
	})
	return c.Run(0)
}

// Thread 0 blocked for good is a deadlock at once, while another thread
// spins (the spec's v2 "Deadlock includes livelock").
func TestBlockedForGoodIsDeadlockAtOnce(t *testing.T) {
	cases := []struct {
		name string
		wait func(*bool) Wait
		hang bool
		how  string
	}{
		{"hopeless wait", func(*bool) Wait { return hopeless{} }, false, ChainNever},
		{"owned by a hung thread", func(b *bool) Wait { return owned{flag{b, 2, "lock L"}} }, true, ChainForever},
		{"owned by itself", func(b *bool) Wait { return owned{flag{b, 0, "lock L"}} }, false, ChainCycle},
	}
	for _, tc := range cases {
		end := spinAndBlock(t, tc.wait, tc.hang)
		if end.Kind != EndDeadlock || end.ChainEnd != tc.how || !end.OthersRunnable || end.Steps >= 100 {
			t.Errorf("%s: %v (%s) after %d steps, %q; want a deadlock (%s) at once", tc.name, end.Kind, end.ChainEnd, end.Steps, end.Cycle, tc.how)
		}
		if !strings.HasPrefix(end.Cycle[0], "thread 0 waits for ") {
			t.Errorf("%s: chain %q does not say what thread 0 waits for", tc.name, end.Cycle)
		}
	}
}

// A wait that another thread might still satisfy (not BlockerOnly, not
// Hopeless) is never called a deadlock early, even if its blocker is hung.
func TestOpenWaitIsNotDeadlockEarly(t *testing.T) {
	end := spinAndBlock(t, func(b *bool) Wait { return flag{b, 2, "hand-off"} }, true)
	if end.Kind == EndDeadlock && end.Steps < 5000 {
		t.Errorf("deadlock after %d steps on a wait any thread may satisfy", end.Steps)
	}
}

// A wild run checks its own goroutines: a thread goroutine that never
// returns (here it blocks on a channel the scheduler knows nothing of) is
// reported in End.Leaked once ExitTimeout passes.
func TestWildReportsItsOwnLeakedThread(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	w := NewWild(WildOptions{Seed: 1, ExitTimeout: 20 * time.Millisecond})
	w.Spawn(0, func() {
		w.Spawn(1, func() {
			w.mu.Unlock()
			<-stuck
			w.mu.Lock()
		})
		w.Yield(0)
		w.Halt(nil)
	})
	end, _ := w.Run(0)
	if len(end.Leaked) != 1 || end.Leaked[0] != 1 {
		t.Errorf("leaked %v, want [1]", end.Leaked)
	}
}
