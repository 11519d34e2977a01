package runtime

import (
	"fmt"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Release is CPython 3.Minor.Patch. A negative Patch stands for the latest
// patch release of the branch: the preset cpython-3.Y (spec v2, "Presets
// name releases"), which has every fact that any 3.Y.Z has.
type Release struct{ Minor, Patch int }

// Latest marks a Release as the latest patch release of its branch.
const Latest = -1

func (r Release) String() string {
	if r.Patch < 0 {
		return fmt.Sprintf("3.%d", r.Minor)
	}
	return fmt.Sprintf("3.%d.%d", r.Minor, r.Patch)
}

// from reports whether r has a change that entered CPython at firsts: the
// first release of each branch that has it, oldest branch first. Branches
// newer than the last one listed have it from their .0; older ones never.
func (r Release) from(firsts ...Release) bool {
	for _, f := range firsts {
		if r.Minor == f.Minor {
			return r.Patch < 0 || r.Patch >= f.Patch
		}
	}
	return r.Minor > firsts[len(firsts)-1].Minor
}

// minors reports whether r's branch is one of 3.lo ... 3.hi.
func (r Release) minors(lo, hi int) bool { return r.Minor >= lo && r.Minor <= hi }

func rel(minor, patch int) Release { return Release{minor, patch} }

// Oldest and newest branches the presets model.
const (
	minMinor = 8
	maxMinor = 15
)

// ParseRelease reads "cpython-3.Y" or "cpython-3.Y.Z" (Y from 8 to 15).
func ParseRelease(name string) (Release, bool) {
	minor, patch, ok := scenario.PresetVersion(name)
	if !ok {
		return Release{}, false
	}
	if patch < 0 {
		patch = Latest
	}
	return Release{minor, patch}, true
}

// JoinRule is what join does once the finalizing flag is set (spec v2,
// "join after the flag"; research note item 1).
type JoinRule uint8

const (
	// JoinBlocksOnStopped (3.8, 3.13): join waits for a normal end and
	// blocks for ever on a target the policy stopped. 3.8 releases the join
	// lock only in zapthreads (after module teardown); 3.13 sets
	// thread_is_exiting only at the end of thread_run.
	JoinBlocksOnStopped JoinRule = iota
	// JoinReturns (3.9-3.12): _PyThreadState_DeleteExcept, right after the
	// flag, releases every other thread's join lock (bpo-19466), so a join
	// returns at once.
	JoinReturns
	// JoinRaises (3.14): ThreadHandle_join raises PythonFinalizationError
	// unless the target is exiting (_threadmodule.c, gh-123940, PR #130402).
	JoinRaises
)

// Preset adjusts the model to a CPython release and platform. Each field is
// one fact of CPython's history; Facts says where each comes from and from
// which release.
type Preset struct {
	Name     string  // as written, e.g. "cpython-3.12.1 windows"
	Release  Release // the release the facts are taken from
	Version  string  // Release as text: "3.13" (latest) or "3.13.7"
	Platform string  // "posix" (abstract), "glibc" or "windows"

	CheckEntry           bool // take_gil checks must-exit before waiting
	CheckWaiting         bool // ... and after each timed-out wait
	ResetDropRequest     bool // an exiting waiter resets its drop request (gh-96387)
	StdoutFatal          bool // bpo-23309's bounded wait for the stdout lock
	SpawnWhileFinalizing bool // threads still start after the flag (up to 3.11)
	SpawnRefusedEarly    bool // 3.12.0-3.12.2 refuse from the start of Py_FinalizeEx (gh-113964)
	QuietBootstrap       bool // a late bootstrap returns without the GIL (gh-108987)
	PerThreadMustExit    bool // 3.14: only thread states marked at the flag must exit
	TstatesFreedAtFlag   bool // 3.9-3.13 delete other thread states right after the flag
	CatchallAborts       bool // glibc: catch(...) without rethrow aborts
	Debug                bool // a debug build: Py_DECREF without the GIL is a fatal error
	Guards               bool // 3.15: PEP 788 interpreter guards, and the guard wait before the flag
	FreshEnsureMustExit  bool // 3.15: a thread state an ensure builds after the flag must exit
	Join                 JoinRule

	DefaultPolicy string
}

// Fact is one row of the preset table: what a preset field stands for, the
// releases that have it, and where CPython's history records it.
type Fact struct {
	Field, What, Releases, Source string
	in                            func(p Preset) bool
}

// In reports whether preset p has the fact.
func (f Fact) In(p Preset) bool { return f.in(p) }

// Facts is the table behind the presets; LookupPreset derives every field
// from it, so the table and the model cannot disagree.
var Facts = []Fact{
	{"-", "must-exit checked after acquiring the GIL", "all", "bpo-1856 (0d5e52d3), bpo-36475 (f781d202)",
		func(Preset) bool { return true }},
	{"CheckEntry", "must-exit checked before waiting for the GIL", "3.9+", "bpo-39877 (eb4e2ae2, 85f5a69a)",
		func(p Preset) bool { return p.Release.Minor >= 9 }},
	{"CheckWaiting", "must-exit re-checked after each timed-out wait", "3.9+", "bpo-39877/bpo-40010 (a36adfa6)",
		func(p Preset) bool { return p.Release.Minor >= 9 }},
	{"-", "take_gil reads tstate->async_exc after acquiring, before the must-exit check", "3.8", "bpo-39877 (29356e03, fixed in 3.9)",
		func(p Preset) bool { return p.Release.Minor == 8 }},
	{"ResetDropRequest", "a waiter that meets must-exit resets its own drop request", "3.10.8, 3.11+", "gh-96387 (PR #96869; Misc/NEWS.d/3.10.8.rst)",
		func(p Preset) bool { return p.Release.from(rel(10, 8)) }},
	{"StdoutFatal", "a wait for the stdout lock that began after the flag is a fatal error when the holder cannot release it", "all (3.5+)", "bpo-23309 (25f85d4b), bufferedio.c _enter_buffered_busy",
		func(Preset) bool { return true }},
	{"SpawnWhileFinalizing", "a thread started after the flag still starts (it meets the policy or returns at bootstrap)", "3.8-3.11", "gh-104690 (ce558e69 refuses from 3.12)",
		func(p Preset) bool { return p.Release.Minor <= 11 }},
	{"SpawnRefusedEarly", "thread starts refused from the start of Py_FinalizeEx (interp->finalizing), atexit included", "3.12.0-3.12.2", "gh-113964 (PR #117029, fixed in 3.12.3)",
		func(p Preset) bool { return p.Release.Minor == 12 && p.Release.Patch >= 0 && p.Release.Patch <= 2 }},
	{"QuietBootstrap", "a thread whose bootstrap finds the flag set returns without taking the GIL", "3.11.6, 3.12.1, 3.13+", "gh-108987 (PR #109272, #110342)",
		func(p Preset) bool { return p.Release.from(rel(11, 6), rel(12, 1)) }},
	{"JoinBlocksOnStopped", "join after the flag blocks for ever on a target the policy stopped (3.8: zapthreads releases the join lock; 3.13: thread_is_exiting is set only at the end of thread_run)", "3.8, 3.13", "research note item 1",
		func(p Preset) bool { return p.Release.Minor == 8 || p.Release.Minor == 13 }},
	{"JoinReturns", "join after the flag returns at once: deleting the thread states released every join lock", "3.9-3.12", "bpo-19466 (_PyThreadState_DeleteExcept)",
		func(p Preset) bool { return p.Release.minors(9, 12) }},
	{"JoinRaises", "join after the flag raises PythonFinalizationError unless the target is exiting", "3.14+", "gh-123940 (PR #130402, _threadmodule.c ThreadHandle_join)",
		func(p Preset) bool { return p.Release.Minor >= 14 }},
	{"PerThreadMustExit", "must-exit is per thread state: a thread state built after the flag runs alongside finalization (3.15: not one an ensure builds, FreshEnsureMustExit)", "3.14+", "PR #130649 (gh-124878), gh-132948",
		func(p Preset) bool { return p.Release.Minor >= 14 }},
	{"TstatesFreedAtFlag", "other threads' thread states are deleted right after the flag (3.8 and 3.14: at step 7)", "3.9-3.13", "bpo-19466 (pylifecycle.c _PyThreadState_DeleteExcept)",
		func(p Preset) bool { return p.Release.minors(9, 13) }},
	{"CatchallAborts", "catch(...) that swallows the forced unwind aborts: FATAL: exception not rethrown", "glibc", "pybind11 #1208, gh-87135",
		func(p Preset) bool { return p.Platform == "glibc" }},
	{"Debug", "a debug build (facet debug): a DECREF or use without the GIL is a fatal error, not silent corruption", "--with-pydebug builds", "_Py_EnsureTstateNotNULL checks in debug builds (spec v2 debug facet)",
		func(p Preset) bool { return p.Debug }},
	{"Guards", "PEP 788 interpreter guards: Py_FinalizeEx waits after atexit, with the GIL released, until no guard is held; the close that leaves none held sets the flag, and guards are refused from then on", "3.15+", "PEP 788 (gh-149101); observed on 3.15.2 (research note section 13)",
		func(p Preset) bool { return p.Release.Minor >= 15 }},
	{"FreshEnsureMustExit", "a native thread's first PyGILState_Ensure after the flag meets the policy before it builds a thread state (it never returns under hang)", "3.15+", "observed on 3.15.2 (3.14.10 runs it; research note section 13)",
		func(p Preset) bool { return p.Release.Minor >= 15 }},
	{"-", "an ensure after the thread states are freed (step 7) builds a thread state first", "3.8-3.14 (3.15: unreachable, FreshEnsureMustExit)", "gh-124619, gh-132948",
		func(Preset) bool { return true }},
	{"DefaultPolicy", "default policy unwind (pthread_exit) on POSIX, terminate (_endthreadex) on Windows", "3.8-3.13.7", "bpo-1856, gh-87135 / bpo-42969",
		func(p Preset) bool { return !hangs(p.Release) }},
	{"DefaultPolicy", "default policy hang (PyThread_hang_thread)", "3.13.8, 3.14+", "gh-87135 (GH-105805; 3.13 backport PR #137827, Misc/NEWS.d/3.13.8.rst)",
		func(p Preset) bool { return hangs(p.Release) }},
}

func hangs(r Release) bool { return r.from(rel(13, 8)) }

// fact returns the value of the fact for field in p.
func fact(p Preset, field string) bool {
	for _, f := range Facts {
		if f.Field == field {
			return f.in(p)
		}
	}
	panic("runtime: no fact " + field)
}

// LookupPreset composes preset names left to right ("cpython-3.12.1",
// "windows", "glibc"). No names means the default model: CPython 3.14 on
// abstract POSIX (spec v1). A release named without a platform is glibc,
// which is what a CPython user on Linux runs (see docs/faithfulness.md).
func LookupPreset(names []string) (Preset, error) {
	r, platform, debug := Release{scenario.DefaultMinor, Latest}, "", false
	for _, n := range names {
		if v, ok := ParseRelease(n); ok {
			r = v
			if platform == "" {
				platform = "glibc"
			}
			continue
		}
		switch n {
		case "posix", "windows", "glibc":
			platform = n
		case "debug":
			debug = true
		default:
			return Preset{}, fmt.Errorf("unknown preset %q (want cpython-3.Y or cpython-3.Y.Z for Y in %d..%d, or one of posix, windows, glibc, debug)", n, minMinor, maxMinor)
		}
	}
	if platform == "" {
		platform = "posix"
	}
	p := Preset{Name: strings.Join(names, " "), Release: r, Version: r.String(), Platform: platform, Debug: debug}
	p.CheckEntry = fact(p, "CheckEntry")
	p.CheckWaiting = fact(p, "CheckWaiting")
	p.ResetDropRequest = fact(p, "ResetDropRequest")
	p.StdoutFatal = fact(p, "StdoutFatal")
	p.SpawnWhileFinalizing = fact(p, "SpawnWhileFinalizing")
	p.SpawnRefusedEarly = fact(p, "SpawnRefusedEarly")
	p.QuietBootstrap = fact(p, "QuietBootstrap")
	p.PerThreadMustExit = fact(p, "PerThreadMustExit")
	p.TstatesFreedAtFlag = fact(p, "TstatesFreedAtFlag")
	p.CatchallAborts = fact(p, "CatchallAborts")
	p.Debug = fact(p, "Debug")
	p.Guards = fact(p, "Guards")
	p.FreshEnsureMustExit = fact(p, "FreshEnsureMustExit")
	switch {
	case fact(p, "JoinRaises"):
		p.Join = JoinRaises
	case fact(p, "JoinReturns"):
		p.Join = JoinReturns
	default:
		p.Join = JoinBlocksOnStopped
	}
	switch {
	case hangs(r):
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

// Describe is the preset in one line: its release, platform and default
// policy.
func (p Preset) Describe() string {
	v := p.Version
	if p.Release.Patch < 0 {
		v += " (latest patch release)"
	}
	return fmt.Sprintf("%s: CPython %s, %s, default policy %s", p.Name, v, p.Platform, p.DefaultPolicy)
}

// VersionPresets is the default list of `matrix -versions`: the releases
// where a default outcome can change, oldest first.
var VersionPresets = []string{
	"cpython-3.8", "cpython-3.10.7", "cpython-3.10", "cpython-3.11", "cpython-3.12",
	"cpython-3.13.7", "cpython-3.13", "cpython-3.14", "cpython-3.15",
}

// WithRelease returns s's preset names with the release replaced by
// release (a "cpython-..." name), keeping the platform and other facets.
func WithRelease(s *scenario.Scenario, release string) []string {
	out := []string{release}
	for _, n := range s.Presets {
		if _, ok := ParseRelease(n); !ok {
			out = append(out, n)
		}
	}
	return out
}

// BoundaryPresets are the releases on either side of every fact's release
// boundary, oldest first: the columns of `shutdownfuzz presets`.
var BoundaryPresets = []string{
	"cpython-3.8", "cpython-3.9", "cpython-3.10.7", "cpython-3.10", "cpython-3.11.5",
	"cpython-3.11", "cpython-3.12.0", "cpython-3.12.2", "cpython-3.12", "cpython-3.13.7",
	"cpython-3.13", "cpython-3.14", "cpython-3.15",
}

// JoinText names p's join rule.
func (p Preset) JoinText() string {
	switch p.Join {
	case JoinRaises:
		return "raises"
	case JoinReturns:
		return "returns"
	}
	return "blocks"
}
