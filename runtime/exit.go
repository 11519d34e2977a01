package runtime

import (
	"fmt"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The thread-exit policies of the bpo-42969 discussion: what a thread that
// is not the finalizing thread does when it (re)takes the GIL once the
// finalizing flag is set.
const (
	PolicyAbort     = "abort"     // the process aborts
	PolicyExit      = "exit"      // the process exits at once; main's cleanup is lost
	PolicyHang      = "hang"      // the thread blocks for ever (CPython 3.14, gh-87135)
	PolicyUnwind    = "unwind"    // pthread_exit: forced unwind through native frames
	PolicyTerminate = "terminate" // _endthreadex: the thread ends, its stack is freed
)

// The exit callbacks (the proposed Py_SetThreadExitCallback). hang, exit and
// abort act like the policies; a callback that returns or ends the thread
// breaks its contract.
const (
	CallbackReturn          = "return"
	CallbackTerminateThread = "terminate-thread"
)

// Preset adjusts the model to a CPython version and platform. Each flag is
// one fact of CPython's history; Facts cites where it comes from.
type Preset struct {
	Name     string // as written, e.g. "cpython-3.12 windows"
	Version  string // "3.8" ... "3.14"
	Platform string // "posix" or "windows"

	// CheckEntry: take_gil checks must-exit before waiting (bpo-39877, 3.9).
	CheckEntry bool
	// CheckWaiting: take_gil re-checks must-exit after each timed-out wait
	// (bpo-40010 work, commit a36adfa6, 3.9).
	CheckWaiting bool
	// ResetDropRequest: a waiter that meets the policy while waiting first
	// resets its own drop request, so the holder does not wait for ever in
	// the FORCE_SWITCHING hand-off (gh-96387, 3.12, backported to 3.11).
	ResetDropRequest bool
	// StdoutFatal: during finalization, a stdout lock held by a thread that
	// can never release it is a fatal error, not a hang (bpo-23309, 3.5).
	StdoutFatal bool
	// SpawnWhileFinalizing: new threads may still start once the finalizing
	// flag is set (refused from 3.12: gh-104690, gh-113964).
	SpawnWhileFinalizing bool
	// CatchallAborts: glibc's C++ runtime aborts with "FATAL: exception not
	// rethrown" when catch(...) swallows the forced unwind (pybind11 #1208).
	CatchallAborts bool

	DefaultPolicy string
}

// Fact is one row of the preset table: what a preset flag stands for and
// where CPython's history records it.
type Fact struct {
	Flag, Versions, Source string
}

// Facts is the table behind the presets.
var Facts = []Fact{
	{"must-exit checked after acquiring the GIL", "3.3+ (every take_gil caller from 3.8)", "bpo-1856 (0d5e52d3), bpo-36475 (f781d202)"},
	{"CheckEntry: must-exit checked before waiting", "3.9+", "bpo-39877 (eb4e2ae2, 85f5a69a)"},
	{"CheckWaiting: must-exit checked after a timed-out wait", "3.9+", "bpo-39877/bpo-40010 (a36adfa6)"},
	{"ResetDropRequest: exiting waiter resets its drop request", "3.11+", "gh-96387 / gh-91414 (PR #96869, backport #96941)"},
	{"StdoutFatal: stdout lock held at shutdown is a fatal error", "3.5+", "bpo-23309 (25f85d4b)"},
	{"SpawnWhileFinalizing: threads may start once finalizing", "up to 3.11", "gh-104690 (ce558e69), gh-113964"},
	{"3.8 (no CheckEntry): take_gil reads tstate->async_exc after acquiring, before the must-exit check", "3.8", "bpo-39877 (29356e03)"},
	{"default policy unwind (pthread_exit) on POSIX, terminate (_endthreadex) on Windows", "3.3-3.13", "bpo-1856, gh-87135 / bpo-42969"},
	{"default policy hang (PyThread_hang_thread)", "3.14", "gh-87135 (GH-105805, 8cc5aa47)"},
	{"CatchallAborts: catch(...) without rethrow of the forced unwind aborts", "glibc", "pybind11 #1208, gh-87135"},
	{"ensure after thread states are freed builds a thread state first", "all, open in 3.14", "gh-124619, gh-132948"},
}

var versionOrder = []string{"3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}

func versionAtLeast(v, min string) bool {
	iv, im := -1, -1
	for i, x := range versionOrder {
		if x == v {
			iv = i
		}
		if x == min {
			im = i
		}
	}
	return iv >= im
}

// LookupPreset composes preset names left to right ("cpython-3.12",
// "windows", "glibc"). No names means the default model: CPython 3.14 on
// POSIX.
func LookupPreset(names []string) (Preset, error) {
	version, platform, glibc := "3.14", "posix", false
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "cpython-") && scenario.IsPreset(n):
			version = strings.TrimPrefix(n, "cpython-")
		case n == "posix" || n == "windows":
			platform = n
		case n == "glibc":
			platform, glibc = "posix", true
		default:
			return Preset{}, fmt.Errorf("unknown preset %q (want one of %s)", n, strings.Join(scenario.Presets, ", "))
		}
	}
	p := Preset{
		Name:                 strings.Join(names, " "),
		Version:              version,
		Platform:             platform,
		CheckEntry:           versionAtLeast(version, "3.9"),
		CheckWaiting:         versionAtLeast(version, "3.9"),
		ResetDropRequest:     versionAtLeast(version, "3.11"),
		StdoutFatal:          true,
		SpawnWhileFinalizing: !versionAtLeast(version, "3.12"),
		CatchallAborts:       glibc,
	}
	switch {
	case versionAtLeast(version, "3.14"):
		p.DefaultPolicy = PolicyHang
	case platform == "windows":
		p.DefaultPolicy = PolicyTerminate
	default:
		p.DefaultPolicy = PolicyUnwind
	}
	if p.Name == "" {
		p.Name = "default (cpython-3.14 posix)"
	}
	return p, nil
}

// strike applies the thread-exit policy (or the exit callback) to t, which
// met the must-exit check at site. It does not return.
func (in *Interp) strike(t *thread, site, when string) {
	if in.result.Strikes == 0 {
		in.result.FirstStrike = in.ctl.Steps()
	}
	in.result.Strikes++
	action := in.policy
	by := "policy " + action
	if in.sc.Callback != "" {
		action = in.sc.Callback
		by = "callback " + action
	}
	in.event(t, EvStrike, fmt.Sprintf("%s at %s (%s)", by, site, when))
	msg := fmt.Sprintf("%s met the must-exit check at %s (%s) during finalization", t.name, site, when)
	switch action {
	case PolicyAbort:
		in.halt(t, Abort, KindPolicyAbort, msg+": "+by+" aborts the process")
	case PolicyExit:
		in.halt(t, LostCleanup, KindProcessExit, msg+": "+by+" exits the process before main's finalization finished")
	case PolicyHang:
		if t.hasGIL {
			in.dropGIL(t)
		}
		t.hung = true
		in.event(t, EvHang, by)
		in.ctl.Block(t.id, chaos.Forever("nothing: "+t.name+" is hung by the exit policy"))
		panic("unreachable: a hung thread ran again")
	case PolicyUnwind:
		in.unwind(t)
	case PolicyTerminate:
		in.terminate(t)
	case CallbackReturn:
		in.halt(t, Contract, KindCallbackReturned, msg+": the exit callback returned into the interpreter")
	case CallbackTerminateThread:
		in.halt(t, Contract, KindCallbackEndedThread, msg+": the exit callback ended the thread")
	default:
		panic("unknown policy " + action)
	}
}

// unwind is pthread_exit's forced unwind: drop the GIL, then run each native
// frame's hold and cleanup items, innermost frame first, items in reverse,
// without the GIL. A noexcept frame aborts before its items; a catchall frame
// swallows the unwind after its items (corruption, or an abort under glibc).
// An unwind that starts inside a cleanup body aborts: destructors are
// noexcept. Then the thread ends and its stack is freed.
func (in *Interp) unwind(t *thread) {
	if t.inCleanup > 0 {
		in.halt(t, Abort, KindUnwindInDestructor, t.name+": forced unwind started inside a cleanup body (destructors are noexcept): std::terminate")
	}
	if t.hasGIL {
		in.dropGIL(t)
	}
	t.unwinding = true
	in.event(t, EvUnwind, fmt.Sprintf("%d native frame(s)", len(t.frames)))
	for len(t.frames) > 0 {
		f := t.frames[len(t.frames)-1]
		if f.stmt.Noexcept {
			in.haltAt(t, f.stmt, Abort, KindNoexcept, t.name+": forced unwind reached a noexcept native frame: std::terminate")
		}
		in.runFrameItems(t, f)
		t.frames = t.frames[:len(t.frames)-1]
		if f.stmt.Catchall {
			if in.preset.CatchallAborts {
				in.haltAt(t, f.stmt, Abort, KindNotRethrown, t.name+": catch(...) swallowed the forced unwind: FATAL: exception not rethrown")
			}
			in.haltAt(t, f.stmt, Corruption, KindSwallowedUnwind, t.name+": catch(...) swallowed the forced unwind and returned into the interpreter")
		}
	}
	in.endThread(t, "unwound")
}

// terminate is _endthreadex: the thread ends at once, runs nothing, keeps
// its locks, and its stack is freed.
func (in *Interp) terminate(t *thread) {
	if t.hasGIL {
		in.dropGIL(t)
	}
	t.frames = nil
	in.endThread(t, "terminated")
}
