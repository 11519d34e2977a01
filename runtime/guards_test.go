package runtime_test

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// The five observations of real CPython 3.15.2 behind PEP 788's guards
// (research note section 13; spec v3 "PEP 788: interpreter guards"), one
// case each, and the pitfalls the spec names. A bad unlock (corruption)
// marks what must never happen.
func TestGuardsPEP788_observed3152(t *testing.T) {
	runV2(t, []v2Case{
		// (a) main runs atexit, then waits with the GIL released until no
		// guard is held: a daemon runs Python meanwhile without meeting the
		// policy, and the guard holder sees is_finalizing() false.
		{name: "guard wait after atexit", policy: "hang", src: `scenario "x"
preset cpython-3.15
main {
  spawn g
  spawn d
  wait taken
}
daemon g {
  interp_guard G
  set taken
  wait atexit_ran
  wait d_ran
  if finalizing {
    unlock L
  }
  close G
}
daemon d {
  wait atexit_ran
  work 3
  set d_ran
}
atexit { set atexit_ran }`, want: []string{"clean"}, never: []string{"corruption", "deadlock"}},
		// (b) new guards are granted during the wait (h's is granted
		// while g holds G), and refused once no guard is held (k asks
		// after teardown began).
		{name: "granted during the wait, refused once none is held", policy: "hang", src: `scenario "x"
preset cpython-3.15
main {
  spawn g
  spawn h
  spawn k
  wait taken
}
daemon g {
  interp_guard G
  set taken
  wait granted
  close G
}
daemon h {
  wait atexit_ran
  interp_guard H {
    set granted
  } else {
    unlock L
  }
}
foreign k {
  wait td
  interp_guard K {
    unlock L
  } else {
    set refused
  }
}
atexit { set atexit_ran }
teardown {
  set td
  wait refused
}`, want: []string{"clean"}, never: []string{"corruption", "deadlock"}},
		// (b') as real 3.15.2 does (make pep788-probes: granted in 5 of 5
		// runs): a guard asked for right after the last close is granted
		// until main, woken, refuses them; main then goes round its
		// pre-finalization calls and waits again (make_pre_finalization_calls).
		// Here g holds the GIL from its close to its next take, so main,
		// which needs the GIL to refuse, always comes too late.
		{name: "granted after the last close, before main refuses", policy: "hang", src: `scenario "x"
preset cpython-3.15
main {
  spawn g
  wait taken
}
daemon g {
  interp_guard G
  set taken
  wait atexit_ran
  close G
  interp_guard H {
    set again
  }
}
atexit { set atexit_ran }
teardown { wait again }`, want: []string{"clean"}, never: []string{"corruption", "deadlock"}},
		// (c) after that, ensure view runs its else block
		// (PyThreadState_EnsureFromView returns NULL) ...
		{name: "ensure view refused after the flag", policy: "hang", src: `scenario "x"
preset cpython-3.15
main { spawn f }
foreign f {
  wait td
  ensure view {
    unlock L
  } else {
    set refused
  }
}
teardown {
  set td
  wait refused
}`, want: []string{"clean"}, never: []string{"corruption", "deadlock"}},
		// ... and PyGILState_Ensure never returns: (e) unlike 3.14.10, a
		// native thread's first ensure during module teardown hangs.
		{name: "fresh ensure in teardown hangs (3.15)", policy: "hang", src: freshEnsure("cpython-3.15"),
			want: []string{"deadlock"}, never: []string{"clean", "corruption"}},
		{name: "fresh ensure in teardown runs (3.14)", policy: "hang", src: freshEnsure("cpython-3.14"),
			want: []string{"clean"}, never: []string{"deadlock"}},
		// (d) a guard that is never closed hangs the process after atexit.
		{name: "forgotten guard", policy: "hang", src: `scenario "x"
preset cpython-3.15
main {
  spawn g
  wait taken
}
daemon g {
  interp_guard G
  set taken
}`, want: []string{"deadlock/deadlock-on-ended"}, never: []string{"clean"}},
	})
}

func freshEnsure(preset string) string {
	return `scenario "x"
preset ` + preset + `
main { spawn f }
foreign f {
  wait td
  ensure
  set ran
  unensure
}
teardown {
  set td
  wait ran
}`
}

// The pitfalls of migrating to guards (spec v3): a guard held while its
// holder waits for something main gives only after the guard wait, guards
// taken and closed so that one is always held (the livelock rule makes it
// a deadlock), and ensure G after close G (undefined behaviour).
func TestGuardPitfallsPEP788(t *testing.T) {
	runV2(t, []v2Case{
		{name: "guard held while waiting for teardown", policy: "hang", src: `scenario "x"
preset cpython-3.15
main {
  spawn g
  wait taken
}
daemon g {
  interp_guard G {
    set taken
    wait td
  }
}
teardown { set td }`, want: []string{"deadlock"}, never: []string{"clean"}},
		{name: "guard churn", policy: "hang", runs: 20, src: `scenario "x"
preset cpython-3.15
main {
  spawn a
  wait taken
}
daemon a {
  interp_guard A
  set taken
  forever {
    work 1
    interp_guard B
    close A
    work 1
    interp_guard A
    close B
  }
}`, want: []string{"deadlock"}, never: []string{"clean", "budget"}},
		{name: "ensure G after close G", policy: "hang", src: `scenario "x"
preset cpython-3.15
main { spawn f }
foreign f {
  interp_guard G
  close G
  ensure G
  unensure
  set done
}
teardown { wait done }`, want: []string{"corruption/closed-guard"}, never: []string{"clean"}},
	})
}

// A deadlock on a guard names the guard, its holder and why it can never
// be closed.
func TestGuardDeadlockNamesTheGuard(t *testing.T) {
	s := parse(t, `scenario "x"
preset cpython-3.15
main {
  spawn g
  wait taken
}
daemon g {
  interp_guard G
  set taken
}`)
	rep, err := explore.Policy(s, "hang", explore.Options{Runs: 20})
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Outcomes[runtime.Deadlock]
	if w == nil {
		t.Fatalf("no deadlock: %v", rep.Outcomes)
	}
	msg := w.Result.Report.Message
	for _, want := range []string{"main waits for the interpreter guards to be closed: guard G (held by g)", "g has ended"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the report does not say %q: %s", want, msg)
		}
	}
}
