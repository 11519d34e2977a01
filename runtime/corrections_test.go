package runtime_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// The spec's v3 corrections to v2 ("Corrections to v2 (source-checked)"),
// one test each, named after the CPython source the rule stands for.

// reports runs src under policy on schedules 0..runs-1 and returns every
// "outcome/kind: message" seen.
func reports(t *testing.T, src, policy string, runs int) map[string]bool {
	t.Helper()
	s := parse(t, src)
	seen := map[string]bool{}
	for i := range runs {
		r, err := runtime.Run(s, runtime.Config{Policy: policy, Schedule: explore.Schedule(i), MaxSteps: 20000})
		if err != nil {
			t.Fatal(err)
		}
		seen[string(r.Outcome)+"/"+r.Report.Kind+": "+r.Report.Message] = true
	}
	return seen
}

// seenMessage reports whether some report in m contains text.
func seenMessage(m map[string]bool, text string) bool {
	for msg := range m {
		if strings.Contains(msg, text) {
			return true
		}
	}
	return false
}

// Two daemons wait for the GIL across the flag while main's __del__ drops
// it (teardown io): the first to take it meets must-exit after acquiring
// while the other still waits, so a drop request is pending.
const twoWaitingDaemons = `scenario "x"
preset PRESET
main {
  spawn d0
  spawn d1
  work 2
}
daemon d0 { forever { io } }
daemon d1 { forever { io } }
teardown { io }`

// cpython#110052, second way in (3.9-3.12; 3.11 ceval_gil.h 288 -> 175): a
// thread struck after acquiring hands its freed thread state to drop_gil,
// which reads tstate->interp under FORCE_SWITCHING while a drop request is
// pending. 3.13 passes NULL to drop_gil there.
func TestDropGILReadsFreedTstate_cpython110052(t *testing.T) {
	const way2 = "handed its thread state, freed by finalization, to drop_gil"
	for preset, want := range map[string]bool{
		"cpython-3.12": true, "cpython-3.9": true, "cpython-3.13.7": false, "cpython-3.14": false,
	} {
		m := reports(t, strings.Replace(twoWaitingDaemons, "PRESET", preset, 1), "hang", 600)
		if got := seenMessage(m, way2); got != want {
			t.Errorf("%s: drop_gil read the freed state = %v, want %v (seen %v)", preset, got, want, keysOf(m))
		}
	}
}

// A take that begins after the flag exits at take_gil's entry check
// without touching its thread state (bpo-39877), so it is never in the
// cpython#110052 window: here the daemon's re-take after `wait go` always
// begins after the flag.
func TestTakeAfterFlagNeverInWindow_bpo39877(t *testing.T) {
	src := func(preset string) string {
		return "scenario \"x\"\npreset " + preset + `
main {
  spawn d
  wait started
}
daemon d {
  set started
  wait go
}
teardown { set go }`
	}
	for _, preset := range []string{"cpython-3.9", "cpython-3.12", "cpython-3.13"} {
		checkSeen(t, kinds(t, src(preset), "hang", 300), []string{"clean"}, []string{"corruption"})
	}
}

// gh-108987's quiet return (3.11.6, 3.12.1, 3.13+) checks must-exit at
// the bootstrap, before thread_run's GIL take: two scheduling points (spec
// v3). A thread that passed the check before the flag meets the policy at
// take_gil's entry check ("thread start (before waiting)"); only a flag
// already set at the check returns quietly.
func TestLateBootstrapTwoPoints_gh108987_v3(t *testing.T) {
	src := `scenario "late"
preset PRESET
main { spawn d nowait }
daemon d { yield }`
	for _, preset := range []string{"cpython-3.11.6", "cpython-3.12.1", "cpython-3.13", "cpython-3.14", "cpython-3.15"} {
		m := reports(t, strings.Replace(src, "PRESET", preset, 1), "abort", 400)
		if !seenMessage(m, "at thread start (before waiting)") {
			t.Errorf("%s: a bootstrap that checked before the flag never met the policy at its GIL take (seen %v)", preset, keysOf(m))
		}
	}
}

// tlsRunners runs src under policy on schedules 0..runs-1 and returns
// where d's thread-local destructor ran: "main in PHASE", "d", or "never"
// (the run ended without it).
func tlsRunners(t *testing.T, src, policy string, runs int) map[string]bool {
	t.Helper()
	s := parse(t, src)
	seen := map[string]bool{}
	for i := range runs {
		r, err := runtime.Run(s, runtime.Config{Policy: policy, Trace: true, Schedule: explore.Schedule(i), MaxSteps: 20000})
		if err != nil {
			t.Fatal(err)
		}
		phase, where := "body", "never"
		for _, e := range r.Events {
			if e.Kind == runtime.EvPhase {
				phase = e.Detail
			}
			if e.Kind == runtime.EvNote && e.Detail == "atthreadexit of d" {
				where = "d"
				if e.Thread == 0 {
					where = "main in " + phase
				}
			}
		}
		seen[where] = true
	}
	return seen
}

// A daemon registers a thread-local destructor and loops on io; main
// returns, and drops the GIL once in a __del__ (teardown io). The policy
// meets the daemon when it re-takes the GIL after the flag (3.8: only
// after acquiring, which the teardown's io allows).
func tlsDaemon(preset, mod string) string {
	return "scenario \"x\"\npreset " + preset + `
main {
  spawn d
  wait registered
}
daemon d {
  atthreadexit ` + mod + `{ set dtor }
  set registered
  forever { io }
}
teardown { io }`
}

// 3.14 and 3.15 clear every other thread state right after the flag
// (3.14.7 pylifecycle.c 2092-2103, pystate.c 2028-2042, PR #130649; spec
// v3): Python-level thread-locals of live threads die on main in phase
// "finalizing", as in 3.9-3.13 (bpo-19466), and at step 7 in 3.8
// (zapthreads). The memory stays with the thread: no take_gil window.
func TestThreadStatesClearedAtFlag_314_pr130649(t *testing.T) {
	for preset, want := range map[string]string{
		"cpython-3.14": "main in finalizing", "cpython-3.15": "main in finalizing",
		"cpython-3.12": "main in finalizing", "cpython-3.8": "main in free-tstates",
	} {
		got := tlsRunners(t, tlsDaemon(preset, ""), "hang", 200)
		if len(got) != 1 || !got[want] {
			t.Errorf("%s: the plain atthreadexit of a hung daemon ran %v, want only %s", preset, keysOfSet(got), want)
		}
	}
	// A daemon caught between the flag and its own end keeps its state in
	// 3.14: its re-takes meet the policy, never a freed state.
	checkSeen(t, kinds(t, tlsDaemon("cpython-3.14", ""), "hang", 300), []string{"clean"}, []string{"corruption"})
}

// Thread-local destructors come in two kinds (spec v3): plain atthreadexit
// is Python-level state, cleared on main right after the flag (3.9-3.15,
// bpo-19466 and 3.14.7 pylifecycle.c 2092-2103) or at step 7 (3.8), and
// on the thread at a normal end; atthreadexit native is C++ thread_local
// and pthread-key destructors, run on the thread itself at a normal end,
// after pthread_exit's forced unwind (glibc; research note item 11) and at
// _endthreadex (Windows TLS callbacks), never when the thread hangs, never
// on main.
func TestAtThreadExitNative_specV3(t *testing.T) {
	for _, c := range []struct {
		preset, policy, mod string
		want                []string
	}{
		// The policy stops the daemon after the flag, when main has
		// already cleared its Python-level state.
		{"cpython-3.12", "unwind", "", []string{"main in finalizing"}},
		{"cpython-3.12", "terminate", "", []string{"main in finalizing"}},
		{"cpython-3.14", "hang", "", []string{"main in finalizing"}},
		// 3.8: the unwound thread never deleted its state; zapthreads
		// clears it at step 7.
		{"cpython-3.8", "unwind", "", []string{"main in free-tstates"}},
		// native: on the thread when the policy ends it (or never, when
		// the run ends first), never on main; never at a hang.
		{"cpython-3.12", "unwind", "native ", []string{"d", "never"}},
		{"cpython-3.8", "unwind", "native ", []string{"d", "never"}},
		{"cpython-3.13.7", "terminate", "native ", []string{"d", "never"}},
		{"cpython-3.14", "hang", "native ", []string{"never"}},
		{"cpython-3.12", "hang", "native ", []string{"never"}},
	} {
		got := tlsRunners(t, tlsDaemon(c.preset, c.mod), c.policy, 300)
		if want := strings.Join(c.want, ", "); strings.Join(keysOfSet(got), ", ") != want {
			t.Errorf("%s %s atthreadexit %s: ran %v, want %s", c.preset, c.policy, c.mod, keysOfSet(got), want)
		}
	}
	// At a normal end both kinds run on the thread.
	for _, mod := range []string{"", "native "} {
		src := `scenario "x"
preset cpython-3.12
main {
  spawn d
  join d
}
thread d { atthreadexit ` + mod + `{ set dtor } }`
		if got := tlsRunners(t, src, "hang", 50); len(got) != 1 || !got["d"] {
			t.Errorf("atthreadexit %s at a normal end ran %v, want on d", mod, keysOfSet(got))
		}
	}
}

// The debug facet (spec v3): from 3.12 a DECREF without a thread state is
// a fatal error, freeing or not (_Py_EnsureTstateNotNULL); up to 3.11 a
// DECREF that does not free is not checked, and one that frees is fatal
// in the debug allocator hooks (_PyMem_DebugFree) only when no thread holds
// the GIL: otherwise it runs on the holder's process-wide thread state,
// corruption, as real 3.11.2 debug builds segfaulted in the forced unwind
// at exit (research note section 14). A use is never checked.
func TestDebugFacet_EnsureTstateNotNULL312_PyMemDebugFree(t *testing.T) {
	// A foreign thread DECREFs X without the GIL while main holds the GIL
	// (in its body) or has dropped it (join). X keeps a second reference
	// when KEEP is incref.
	foreign := func(preset, keep, op string) string {
		return "scenario \"x\"\npreset " + preset + `
main {
  new X
  ` + keep + `
  spawn f
  join f
}
foreign f { ` + op + ` X }`
	}
	// A daemon's smart pointer frees X during the forced unwind at exit,
	// main holding the GIL (greenlet#325's pattern).
	const unwind = `scenario "x"
preset PRESET debug
main {
  new X
  spawn d
  work 3
}
daemon d {
  native {
    hold X
    forever { io }
  }
}`
	runV2(t, []v2Case{
		{name: "3.12 non-freeing DECREF", policy: "hang", src: foreign("cpython-3.12 debug", "incref X", "decref"),
			want: []string{"abort/fatal-no-gil"}, never: []string{"corruption"}},
		{name: "3.11 non-freeing DECREF is not checked", policy: "hang", src: foreign("cpython-3.11 debug", "incref X", "decref"),
			want: []string{"corruption/no-gil"}, never: []string{"abort"}},
		// The debug allocator checks the calling thread, whoever else holds
		// the GIL: real python3.11d aborted 12 of 12 runs (docs/conformance.md,
		// "Debug builds").
		{name: "3.11 freeing DECREF: fatal whoever holds the GIL", policy: "hang", src: foreign("cpython-3.11 debug", "", "decref"),
			want: []string{"abort/fatal-no-gil"}, never: []string{"corruption/no-gil"}},
		{name: "3.12 use is never checked", policy: "hang", src: foreign("cpython-3.12 debug", "", "use"),
			want: []string{"corruption/no-gil"}, never: []string{"abort"}},
		{name: "3.11 forced unwind at exit", policy: "unwind", src: strings.Replace(unwind, "PRESET", "cpython-3.11", 1),
			want: []string{"abort/fatal-no-gil"}, never: []string{"corruption/no-gil"}},
		{name: "3.12 forced unwind at exit", policy: "unwind", src: strings.Replace(unwind, "PRESET", "cpython-3.12", 1),
			want: []string{"abort/fatal-no-gil"}},
	})
}

// After step 7 an outermost ensure is corruption or abort in 3.14 (spec
// v3): real 3.14.10 runs of a gRPC-style poller (native threads looping
// PyGILState_Ensure / Release at exit) ended in SIGSEGV or in "Fatal Python
// error: gilstate_tss_set: failed to set current tstate (TSS)" once
// _PyGILState_Fini deleted the key (research note section 15; gh-124619).
// 3.13 and 3.12 have no such abort.
func TestEnsureAfterStep7CorruptionOrAbort_gh124619_314(t *testing.T) {
	const poller = `scenario "poller"
preset PRESET
main {
  spawn p
  work 2
}
foreign p {
  forever {
    ensure
    work 1
    unensure
  }
}`
	src := func(preset string) string { return strings.Replace(poller, "PRESET", preset, 1) }
	runV2(t, []v2Case{
		{name: "3.14", policy: "hang", runs: 1000, src: src("cpython-3.14"),
			want: []string{"corruption/tstate-use-after-free", "abort/fatal-gilstate"}},
		{name: "3.13", policy: "hang", runs: 400, src: src("cpython-3.13"), never: []string{"abort/fatal-gilstate"}},
		{name: "3.15", policy: "hang", runs: 400, src: src("cpython-3.15"), never: []string{"abort/fatal-gilstate"}},
	})
}

func keysOfSet(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		k, _, _ = strings.Cut(k, ":")
		out = append(out, k)
	}
	return out
}
