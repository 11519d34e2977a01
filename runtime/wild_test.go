package runtime_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func wildRun(t *testing.T, s *scenario.Scenario, policy string, seed uint64) *runtime.Result {
	t.Helper()
	r, err := runtime.Run(s, runtime.Config{Policy: policy, Wild: &chaos.WildOptions{Seed: seed, DeadlockTimeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A wild run's recorded interleaving replays under the controlled
// scheduler to the same outcome.
func TestWildReplaysUnderControl(t *testing.T) {
	s := parse(t, detScenario)
	for _, policy := range scenario.Policies {
		for seed := uint64(0); seed < 20; seed++ {
			w := wildRun(t, s, policy, seed)
			if w.Outcome == runtime.Deadlock && len(w.Detector) > 0 {
				continue // found by go-deadlock's timeout: the wait was real
			}
			c, _ := runtime.Run(s, runtime.Config{Policy: policy, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: w.Schedule}})
			if c.Signature() != w.Signature() || c.Diverged >= 0 {
				t.Fatalf("%s seed %d: wild %s, controlled replay %s (diverged %d)\n%s", policy, seed, w.Signature(), c.Signature(), c.Diverged, w.ReplayLine())
			}
		}
	}
}

// go-deadlock reports the hang of main on a lock a hung daemon holds.
func TestWildGoDeadlockFindsHang(t *testing.T) {
	s := parse(t, testscn.HeldLock("x"))
	for seed := uint64(0); seed < 200; seed++ {
		r := wildRun(t, s, "hang", seed)
		if r.Outcome == runtime.Deadlock && len(r.Detector) > 0 {
			if !strings.Contains(r.Detector[0], "POTENTIAL DEADLOCK") {
				t.Errorf("go-deadlock report: %s", r.Detector[0])
			}
			if !strings.Contains(strings.Join(r.Detected, "\n"), "main waits for mutex L") || strings.Contains(r.Text(), ".go:") {
				t.Errorf("the hang is not told in scenario terms: %q\n%s", r.Detected, r.Text())
			}
			return
		}
	}
	t.Fatal("no hang reported by go-deadlock in 200 wild runs")
}

// go-deadlock reports the GIL / C-level lock order inversion.
func TestWildGoDeadlockFindsInversion(t *testing.T) {
	s := parse(t, `scenario "x"
main { spawn d
  lock L
  unlock L
  join d }
thread d { release
  lock L
  acquire
  unlock L }`)
	for seed := uint64(0); seed < 50; seed++ {
		r := wildRun(t, s, "hang", seed)
		for _, d := range r.Detector {
			if strings.Contains(d, "Inconsistent locking") {
				// In scenario terms: both orders, with statements and threads.
				want := "lock-order inversion: the GIL wanted while holding mutex L (acquire@8:3 in d); mutex L wanted while holding the GIL (lock@3:3 in main)"
				if !slices.Contains(r.Detected, want) || strings.Contains(r.Text(), ".go:") {
					t.Errorf("translated %q, want %q\n%s", r.Detected, want, r.Text())
				}
				return
			}
		}
	}
	t.Fatal("no lock-order inversion reported by go-deadlock in 50 wild runs")
}

// lockAndSpinner leaves goroutines for the leak checks to find: a daemon
// that can hang holding lock L, teardown waiting for L, and a foreign
// thread that spins for ever.
const lockAndSpinner = `scenario "x"
main { spawn d
  spawn f
  wait started }
daemon d { lock L
  set started
  io
  unlock L }
foreign f { forever { yield } }
teardown { lock L }`

// No goroutine outlives its run, hung threads and real lock waiters
// included, in either mode.
func TestNoGoroutineOutlivesARun(t *testing.T) {
	s := parse(t, lockAndSpinner)
	for seed := uint64(0); seed < 20; seed++ {
		for _, p := range scenario.Policies {
			runtime.Run(s, runtime.Config{Policy: p, Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}})
		}
		if r := wildRun(t, s, "hang", seed); len(r.Leaked) > 0 {
			t.Errorf("goleak in the run: %v", r.Leaked)
		}
		goleak.VerifyNone(t)
	}
}

// Wild runs check their own goroutines, not the process: with wild and
// controlled runs going on in parallel, no wild run reports another run's
// goroutines as its leak (30 of 30 did with a process-wide scan).
func TestParallelWildRunsReportNoLeak(t *testing.T) {
	s := parse(t, lockAndSpinner)
	stop := make(chan struct{})
	var busy, wild sync.WaitGroup
	for range 3 { // controlled runs, going on for as long as the wild ones
		busy.Add(1)
		go func() {
			defer busy.Done()
			for seed := uint64(0); ; seed++ {
				select {
				case <-stop:
					return
				default:
				}
				runtime.Run(s, runtime.Config{Policy: "hang", Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}})
			}
		}()
	}
	for g := range 3 {
		wild.Add(1)
		go func() {
			defer wild.Done()
			for seed := range uint64(4) {
				r, err := runtime.Run(s, runtime.Config{Policy: "hang", Wild: &chaos.WildOptions{Seed: seed}})
				if err != nil || len(r.Leaked) > 0 {
					t.Errorf("wild run %d/%d: %v, leaked %d goroutines: %.300q", g, seed, err, len(r.Leaked), r.Leaked)
				}
			}
		}()
	}
	wild.Wait()
	close(stop)
	busy.Wait()
}
