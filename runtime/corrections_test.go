package runtime_test

import (
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

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		k, _, _ = strings.Cut(k, ":")
		out = append(out, k)
	}
	return out
}
