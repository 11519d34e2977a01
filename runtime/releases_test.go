package runtime_test

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The release rules (what changes between CPython releases), one test each, named after the
// CPython source they stand for. Each case runs under each listed preset's
// own default policy (or the policy given) and checks the exact outcome set
// over sampled schedules.

type v2case struct {
	preset, policy string
	want           string // the exact outcome set, comma separated, in the language's order
}

func outcomeSet(t *testing.T, src, preset, policy string, runs int) string {
	t.Helper()
	s := parse(t, strings.Replace(src, "PRESET", preset, 1))
	seen := reach(t, s, policy, runs)
	var out []string
	for _, o := range scenario.Outcomes {
		if seen[o] {
			out = append(out, o)
		}
	}
	return strings.Join(out, ", ")
}

func checkSets(t *testing.T, src string, cases []v2case) {
	t.Helper()
	for _, c := range cases {
		p, err := runtime.LookupPreset(strings.Fields(c.preset))
		if err != nil {
			t.Fatal(err)
		}
		policy := c.policy
		if policy == "" {
			policy = p.DefaultPolicy
		}
		if got := outcomeSet(t, src, c.preset, policy, 600); got != c.want {
			t.Errorf("%s under %s: outcomes {%s}, want {%s}", c.preset, policy, got, c.want)
		}
	}
}

// A __del__ (teardown) that joins a busy daemon: research note item 1.
const joinBusyDaemon = `scenario "join"
preset PRESET
main { spawn z
  work 3 }
daemon z { forever { work 1
    io } }
teardown { join z }`

// gh-123940 / PR #130402 (3.14 raises PythonFinalizationError), bpo-19466
// (3.9-3.12 return: _PyThreadState_DeleteExcept released the join lock),
// 3.8 zapthreads and 3.13 thread_is_exiting (block for ever).
func TestJoinAfterFlagPerRelease_gh123940_bpo19466(t *testing.T) {
	checkSets(t, joinBusyDaemon, []v2case{
		{"cpython-3.14", "", "clean"},
		// 3.9-3.13 also crash at random: the daemon can pass take_gil's
		// must-exit check before the flag and read its thread state after
		// it was freed (cpython#110052, the take_gil window; open in
		// every 3.13 patch release, spec v3).
		{"cpython-3.13", "", "deadlock, corruption"},
		{"cpython-3.13.7", "", "deadlock, corruption"},
		{"cpython-3.12", "", "clean, corruption"},
		{"cpython-3.11", "", "clean, corruption"},
		{"cpython-3.9", "", "clean, corruption"},
		{"cpython-3.8", "", "deadlock"},
	})
}

// A join returns for a target that exited normally, in every release
// (thread_is_exiting / the join lock released by the thread's own end).
func TestJoinOfExitedTarget_threadIsExiting(t *testing.T) {
	src := `scenario "join"
preset PRESET
main { spawn z
  wait done }
daemon z { set done }
teardown { join z }`
	for _, p := range []string{"cpython-3.8", "cpython-3.13", "cpython-3.14"} {
		checkSets(t, src, []v2case{{p, "", "clean"}})
	}
}

// Raising statements (spec v2): 3.14's join raises in a teardown block; the
// block's native frames are left normally (their cleanup runs, with the
// GIL), the rest of the block is skipped, and the next block runs
// (gh-123940: "Exception ignored" and finalization goes on).
func TestRaiseEndsPythonBlock_gh123940(t *testing.T) {
	s := parse(t, `scenario "raise"
preset cpython-3.14
main { spawn z
  work 2 }
daemon z { forever { io } }
teardown {
  native { cleanup { print "cleanup" }
    join z }
  print "skipped" }
teardown { print "next" }`)
	for seed := uint64(0); seed < 50; seed++ {
		r, err := runtime.Run(s, runtime.Config{Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome != runtime.Clean || r.Stdout != "cleanup\nnext\n" {
			t.Fatalf("seed %d: %s, stdout %q; want clean with cleanup and next only\n%s", seed, r.Outcome, r.Stdout, r.Text())
		}
	}
}

// gh-104690 (refused from 3.12, RuntimeError; PythonFinalizationError from
// 3.13): a spawn in __del__ raises, ending the block; up to 3.11 the thread
// starts, and Thread.start() waits for ever for a thread that meets the
// policy or returns at bootstrap (bpo-43784).
func TestSpawnAfterFlag_gh104690_bpo43784(t *testing.T) {
	src := `scenario "spawn"
preset PRESET
main { work 1 }
daemon late { work 1 }
teardown { spawn late
  print "after" }`
	checkSets(t, src, []v2case{
		{"cpython-3.12", "", "clean"},
		{"cpython-3.14", "", "clean"},
		{"cpython-3.11", "", "deadlock"},
		{"cpython-3.8", "", "deadlock"},
		{"cpython-3.8", "abort", "abort"},
	})
}

// gh-113964 (3.12.0-3.12.2, fixed by PR #117029 in 3.12.3): the refusal used
// interp->finalizing, set at the top of Py_FinalizeEx, so an atexit handler
// could not start a thread either.
func TestSpawnRefusedInAtexit_gh113964(t *testing.T) {
	src := `scenario "atexit spawn"
preset PRESET
main { work 1 }
thread w { set ran }
atexit { spawn w
  wait ran }`
	checkSets(t, src, []v2case{
		{"cpython-3.12.2", "", "clean"},
		{"cpython-3.12.3", "", "clean"},
	})
	for _, c := range []struct {
		preset string
		ran    bool
	}{{"cpython-3.12.2", false}, {"cpython-3.12.3", true}, {"cpython-3.11", true}} {
		s := parse(t, strings.Replace(src, "PRESET", c.preset, 1))
		r, err := runtime.Run(s, runtime.Config{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		ran := false
		for _, e := range r.Events {
			if e.Kind == runtime.EvSet {
				ran = true
			}
		}
		if ran != c.ran {
			t.Errorf("%s: thread started from atexit ran = %v, want %v", c.preset, ran, c.ran)
		}
	}
}

// threading.Thread.start() ends with self._started.wait(): a thread started
// by main always takes the GIL and begins before start() returns, so it can
// never meet the policy at its bootstrap; `spawn NAME nowait`
// (_thread.start_new_thread) can. 3.11.5 has no quiet bootstrap.
func TestSpawnWaitsForStart_threadingStart(t *testing.T) {
	src := `scenario "start"
preset cpython-3.11.5
main { spawn d SUFFIX }
daemon d { yield }`
	waits := outcomeSet(t, strings.Replace(src, "SUFFIX", "", 1), "", "abort", 600)
	nowait := outcomeSet(t, strings.Replace(src, "SUFFIX", "nowait", 1), "", "abort", 600)
	// nowait: the bootstrap may also sit in the cpython#110052 window.
	if waits != "clean" || nowait != "clean, abort, corruption" {
		t.Errorf("spawn: {%s} (want {clean}); spawn nowait: {%s} (want {clean, abort, corruption})", waits, nowait)
	}
}

// gh-108987 (3.11.6 PR #109272, 3.12.1 PR #110342, 3.13+): a thread whose
// bootstrap finds the flag set returns without taking the GIL: no policy,
// not hung, and a join of it returns. Earlier releases meet the policy at
// the bootstrap's GIL take ("thread start (before waiting)"). A bootstrap
// that checked before the flag still meets the policy at its GIL take, in
// every release (TestLateBootstrapTwoPoints_gh108987_v3).
func TestQuietLateBootstrap_gh108987(t *testing.T) {
	src := `scenario "late"
preset PRESET
main { spawn d nowait }
daemon d { yield }
teardown { join d }`
	for preset, strikes := range map[string]bool{
		"cpython-3.11.5": true, "cpython-3.11.6": false, "cpython-3.12.0": true, "cpython-3.12.1": false, "cpython-3.13": false,
	} {
		s := parse(t, strings.Replace(src, "PRESET", preset, 1))
		struck, quiet := false, false
		for seed := uint64(0); seed < 300; seed++ {
			r, err := runtime.Run(s, runtime.Config{Policy: "abort", Trace: true, Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}})
			if err != nil {
				t.Fatal(err)
			}
			struck = struck || strings.Contains(r.Report.Message, "thread start (before waiting)")
			for _, e := range r.Events {
				quiet = quiet || (e.Kind == runtime.EvEnd && e.Detail == "returned at bootstrap")
			}
		}
		if !struck || quiet == strikes {
			t.Errorf("%s: late bootstrap met the policy = %v, returned quietly = %v; want true, %v", preset, struck, quiet, !strikes)
		}
	}
}

// 3.14's must-exit is per thread state (pystate.c 3141-3145, PR #130649,
// gh-124878): a foreign thread's outermost ensure after the flag builds an
// unmarked thread state, takes the GIL and runs alongside finalization
// (research note item 2, seen on real 3.14.10). 3.9-3.13 test globally, so
// the ensure meets the policy and the __del__ waits for ever.
func TestPerThreadMustExit_pr130649(t *testing.T) {
	src := `scenario "ensure"
preset PRESET
main { spawn lib
  work 1 }
foreign lib { wait go
  ensure
  set done
  unensure }
teardown { set go
  wait done }`
	checkSets(t, src, []v2case{
		{"cpython-3.14", "", "clean"},
		{"cpython-3.13", "", "deadlock"},
		{"cpython-3.11", "", "deadlock"},
	})
}

// When other threads' thread states are freed: right after the flag in
// 3.9-3.13 (_PyThreadState_DeleteExcept, bpo-19466), at step 7 in 3.8
// (zapthreads); 3.14 and 3.15 clear them right after the flag and never
// free them on main (each thread frees its own when it lets go; 3.14.7
// pylifecycle.c 2092-2103, spec v3).
func TestThreadStatesFreed_bpo19466(t *testing.T) {
	src := `scenario "tstates"
preset PRESET
main { spawn d }
daemon d { yield }`
	for preset, want := range map[string]string{
		"cpython-3.8": "freed in free-tstates", "cpython-3.9": "freed in finalizing", "cpython-3.13": "freed in finalizing",
		"cpython-3.14": "cleared (not freed) in finalizing", "cpython-3.15": "cleared (not freed) in finalizing",
	} {
		r, err := runtime.Run(parse(t, strings.Replace(src, "PRESET", preset, 1)), runtime.Config{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		at, got := "", ""
		for _, e := range r.Events {
			if e.Kind == runtime.EvPhase {
				at = e.Detail
			}
			if rest, ok := strings.CutPrefix(e.Detail, "thread states of other threads "); ok && e.Kind == runtime.EvNote && got == "" {
				got = rest + " in " + at
			}
		}
		if got != want {
			t.Errorf("%s: thread states %q, want %q", preset, got, want)
		}
	}
}

// gh-96387 (Misc/NEWS.d/3.10.8.rst; PR #96869): from 3.10.8 a waiter that
// meets must-exit resets its drop request, so main never waits for ever in
// the FORCE_SWITCHING hand-off.
func TestDropRequestReset_gh96387_3108(t *testing.T) {
	src := `scenario "x"
preset PRESET
main { spawn d
  wait started }
daemon d { set started
  forever { io } }
teardown { work 4 }`
	// corruption: the cpython#110052 take_gil window of 3.9-3.12.
	checkSets(t, src, []v2case{
		{"cpython-3.10.7", "hang", "clean, deadlock, corruption"},
		{"cpython-3.10.8", "hang", "clean, corruption"},
		{"cpython-3.9", "hang", "clean, deadlock, corruption"},
	})
}

// gh-96387 is in the 3.11.1 changelog (Misc/NEWS.d/3.11.1.rst), not 3.11.0
// (spec v3): 3.11.0 can still leave main waiting for ever in the
// FORCE_SWITCHING hand-off; 3.11.1 cannot. 3.12.0 has the reset.
func TestDropRequestReset_gh96387_3111(t *testing.T) {
	src := `scenario "x"
preset PRESET
main { spawn d
  wait started }
daemon d { set started
  forever { io } }
teardown { work 4 }`
	// corruption: the cpython#110052 take_gil window of 3.9-3.13.
	checkSets(t, src, []v2case{
		{"cpython-3.11.0", "hang", "clean, deadlock, corruption"},
		{"cpython-3.11.0", "unwind", "clean, deadlock, corruption"},
		{"cpython-3.11.1", "hang", "clean, corruption"},
		{"cpython-3.11.1", "unwind", "clean, corruption"},
		{"cpython-3.12.0", "hang", "clean, corruption"},
	})
}

// print appends to the buffer without dropping the GIL; print flush drops
// it around write() while holding the buffer lock (bufferedio.c). Only the
// latter can leave the stdout lock with a stopped daemon (bpo-23309).
func TestBufferedPrintVersusFlush_bpo23309(t *testing.T) {
	src := `scenario "print"
preset cpython-3.14
main { spawn d
  work 2 }
daemon d { forever { print FLUSH"." } }`
	checkSets(t, strings.Replace(src, "FLUSH", "", 1), []v2case{{"", "hang", "clean"}})
	// Flushing on every print, the daemon only ever drops the GIL inside
	// its write(), holding the lock: the flag always finds it there.
	checkSets(t, strings.Replace(src, "FLUSH", "flush ", 1), []v2case{{"", "hang", "abort"}})
}

// Step 5's flush drops the GIL only when the buffer holds data
// (_bufferedwriter_flush_unlocked; research note item 10).
func TestFlushDropsGILOnlyWithData(t *testing.T) {
	for body, drops := range map[string]bool{`work 1`: false, `print "x"`: true, `print flush "x"`: false} {
		s := parse(t, "scenario \"x\"\nmain { "+body+" }")
		r, err := runtime.Run(s, runtime.Config{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		phase, dropped := "", false
		for _, e := range r.Events {
			if e.Kind == runtime.EvPhase {
				phase = e.Detail
			}
			if phase == "flush" && e.Kind == runtime.EvDropGIL {
				dropped = true
			}
		}
		if dropped != drops {
			t.Errorf("main { %s }: step 5 dropped the GIL = %v, want %v", body, dropped, drops)
		}
	}
}
