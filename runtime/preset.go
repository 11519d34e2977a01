package runtime

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

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

// order is r's place in release order: 3.Y.Z, then 3.Y.Z+1, ..., then
// 3.Y latest (which has every fact of the branch), then 3.Y+1.0.
func (r Release) order() (int, int) {
	if r.Patch < 0 {
		return r.Minor, math.MaxInt
	}
	return r.Minor, r.Patch
}

// atMost reports whether r comes no later than s in release order.
func (r Release) atMost(s Release) bool {
	rm, rp := r.order()
	sm, sp := s.order()
	return rm < sm || rm == sm && rp <= sp
}

// ParseRelease reads "cpython-3.Y" or "cpython-3.Y.Z" for a branch 3.Y of
// scenario.Releases.
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

// Span is the releases from From to To in release order, both included.
type Span struct{ From, To Release }

// Has reports whether r is in the span.
func (s Span) Has(r Release) bool { return s.From.atMost(r) && r.atMost(s.To) }

// newest stands for every branch to come: a span ending there is open.
var newest = Release{math.MaxInt, Latest}

// since: 3.minor.patch and every later release, newer branches included.
func since(minor, patch int) Span { return Span{Release{minor, patch}, newest} }

// through: every release up to 3.minor.patch (Latest: the whole branch).
func through(minor, patch int) Span { return Span{Release{0, 0}, Release{minor, patch}} }

// branches: every release of 3.lo ... 3.hi.
func branches(lo, hi int) Span { return Span{Release{lo, 0}, Release{hi, Latest}} }

// patches: 3.minor.lo ... 3.minor.hi (hi Latest: to the branch's end).
func patches(minor, lo, hi int) Span { return Span{Release{minor, lo}, Release{minor, hi}} }

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
	TstatesClearedAtFlag bool // 3.14+ clear them there, each freed when its thread lets go
	CatchallAborts       bool // glibc: catch(...) without rethrow aborts
	Debug                bool // a debug build: a freeing Py_DECREF without the GIL may be a fatal error
	DebugTstateCheck     bool // 3.12+ debug build: any Py_DECREF without a thread state is a fatal error
	GILStateFiniAbort    bool // 3.14: an ensure right after _PyGILState_Fini aborts in gilstate_tss_set
	Guards               bool // 3.15: PEP 788 interpreter guards, and the guard wait before the flag
	FreshEnsureMustExit  bool // 3.15: a thread state an ensure builds after the flag must exit
	TakeGILWindow        bool // 3.9-3.13: take_gil reads the thread state after its entry check (cpython#110052)
	DropGILReadsTstate   bool // 3.9-3.12: a thread struck after acquiring hands its state to drop_gil
	Join                 JoinRule

	DefaultPolicy string
}

// Fact is one row of the preset table: what it stands for, the releases
// that have it, where CPython's history records it, and the preset field it
// sets.
type Fact struct {
	What     string // the rule, as `shutdownfuzz presets` prints it
	Releases string // the releases that have it, as printed
	Source   string // where CPython's history records it

	// Spans are the releases that have the fact; none means every release.
	// A span that ends at the newest release is open (since): a release
	// added later has the fact until a row says otherwise.
	Spans []Span
	// When, if set, is a condition besides the release: the platform or
	// the build.
	When func(Preset) bool
	// Set records the fact in the preset's typed fields, for a preset that
	// has it; nil for a rule the model always applies, listed for its
	// source.
	Set func(*Preset)
	// InReleaseView: the fact's patch boundaries are columns of the release
	// view (`matrix -versions`, VersionPresets), besides each branch's
	// latest release.
	InReleaseView bool
}

// In reports whether preset p has the fact: p's release is in one of its
// spans, and p meets When.
func (f Fact) In(p Preset) bool {
	if len(f.Spans) > 0 && !slices.ContainsFunc(f.Spans, func(s Span) bool { return s.Has(p.Release) }) {
		return false
	}
	return f.When == nil || f.When(p)
}

// Facts is the table behind the presets; LookupPreset derives every field
// from it, so the table and the model cannot disagree. The boundaries of
// its spans inside a branch are scenario.Releases' Changes (a test checks
// it), and give BoundaryPresets and VersionPresets. Append rows; the
// printed table numbers facts by position.
var Facts = []Fact{
	{What: "must-exit checked after acquiring the GIL", Releases: "all",
		Source: "bpo-1856 (0d5e52d3), bpo-36475 (f781d202)"},
	{What: "must-exit checked before waiting for the GIL", Releases: "3.9+",
		Source: "bpo-39877 (eb4e2ae2, 85f5a69a)",
		Spans:  []Span{since(9, 0)}, Set: func(p *Preset) { p.CheckEntry = true }},
	{What: "must-exit re-checked after each timed-out wait", Releases: "3.9+",
		Source: "bpo-39877/bpo-40010 (a36adfa6)",
		Spans:  []Span{since(9, 0)}, Set: func(p *Preset) { p.CheckWaiting = true }},
	{What: "take_gil reads tstate->async_exc after acquiring, before the must-exit check", Releases: "3.8",
		Source: "bpo-39877 (29356e03, fixed in 3.9)",
		Spans:  []Span{branches(8, 8)}},
	{What: "a waiter that meets must-exit resets its own drop request", Releases: "3.10.8, 3.11.1, 3.12+",
		Source: "gh-96387 (PR #96869; Misc/NEWS.d/3.10.8.rst and 3.11.1.rst, not 3.11.0)",
		Spans:  []Span{patches(10, 8, Latest), since(11, 1)}, Set: func(p *Preset) { p.ResetDropRequest = true },
		// A daemon handing off the GIL at the flag hangs before it: an
		// outcome plain daemon threads meet.
		InReleaseView: true},
	{What: "a wait for the stdout lock that began after the flag is a fatal error when the holder cannot release it", Releases: "all (3.5+)",
		Source: "bpo-23309 (25f85d4b), bufferedio.c _enter_buffered_busy",
		Set:    func(p *Preset) { p.StdoutFatal = true }},
	{What: "a thread started after the flag still starts (it meets the policy or returns at bootstrap)", Releases: "3.8-3.11",
		Source: "gh-104690 (ce558e69 refuses from 3.12)",
		Spans:  []Span{through(11, Latest)}, Set: func(p *Preset) { p.SpawnWhileFinalizing = true }},
	{What: "thread starts refused from the start of Py_FinalizeEx (interp->finalizing), atexit included", Releases: "3.12.0-3.12.2",
		Source: "gh-113964 (PR #117029, fixed in 3.12.3)",
		Spans:  []Span{patches(12, 0, 2)}, Set: func(p *Preset) { p.SpawnRefusedEarly = true }},
	{What: "a thread whose bootstrap finds the flag set returns without taking the GIL", Releases: "3.11.6, 3.12.1, 3.13+",
		Source: "gh-108987 (PR #109272, #110342)",
		Spans:  []Span{patches(11, 6, Latest), since(12, 1)}, Set: func(p *Preset) { p.QuietBootstrap = true }},
	{What: "join after the flag blocks for ever on a target the policy stopped (3.8: zapthreads releases the join lock; 3.13: thread_is_exiting is set only at the end of thread_run)", Releases: "3.8, 3.13",
		Source: "research note item 1",
		Spans:  []Span{branches(8, 8), branches(13, 13)}, Set: func(p *Preset) { p.Join = JoinBlocksOnStopped }},
	{What: "join after the flag returns at once: deleting the thread states released every join lock", Releases: "3.9-3.12",
		Source: "bpo-19466 (_PyThreadState_DeleteExcept)",
		Spans:  []Span{branches(9, 12)}, Set: func(p *Preset) { p.Join = JoinReturns }},
	{What: "join after the flag raises PythonFinalizationError unless the target is exiting", Releases: "3.14+",
		Source: "gh-123940 (PR #130402, _threadmodule.c ThreadHandle_join)",
		Spans:  []Span{since(14, 0)}, Set: func(p *Preset) { p.Join = JoinRaises }},
	{What: "must-exit is per thread state: a thread state built after the flag runs alongside finalization (3.15: not one a fresh ensure builds)", Releases: "3.14+",
		Source: "PR #130649 (gh-124878), gh-132948",
		Spans:  []Span{since(14, 0)}, Set: func(p *Preset) { p.PerThreadMustExit = true }},
	{What: "other threads' thread states are deleted right after the flag (3.8: at step 7; 3.14+: cleared there, see below)", Releases: "3.9-3.13",
		Source: "bpo-19466 (pylifecycle.c _PyThreadState_DeleteExcept)",
		Spans:  []Span{branches(9, 13)}, Set: func(p *Preset) { p.TstatesFreedAtFlag = true }},
	{What: "catch(...) that swallows the forced unwind aborts: FATAL: exception not rethrown", Releases: "glibc",
		Source: "pybind11 #1208, gh-87135",
		When:   func(p Preset) bool { return p.Platform == "glibc" }, Set: func(p *Preset) { p.CatchallAborts = true }},
	{What: "a debug build (facet debug): a DECREF that frees without the GIL is a fatal error in the debug allocator hooks when no thread holds the GIL (up to 3.11, otherwise it runs on the holder's process-wide thread state: corruption); a use is never checked", Releases: "--with-pydebug builds, -X dev",
		Source: "_PyMem_DebugFree / _PyMem_DebugCheckGIL (bpo-26558); real 3.11.2 -dbg segfaulted in the forced unwind (research note section 14; spec v3)",
		When:   func(p Preset) bool { return p.Debug }, Set: func(p *Preset) { p.Debug = true }},
	{What: "an ensure after the thread states are freed (step 7) builds a thread state first", Releases: "3.8-3.14, open in 3.14",
		Source: "gh-124619, gh-132948",
		// 3.15: unreachable, the fresh ensure meets the policy first.
		Spans: []Span{through(14, Latest)}},
	{What: "default policy unwind (pthread_exit) on POSIX, terminate (_endthreadex) on Windows", Releases: "3.8-3.13.7",
		Source: "bpo-1856, gh-87135 / bpo-42969",
		Spans:  []Span{through(13, 7)}, Set: setThreadExitPolicy, InReleaseView: true},
	{What: "default policy hang (PyThread_hang_thread)", Releases: "3.13.8, 3.14+",
		Source: "gh-87135 (GH-105805; 3.13 backport PR #137827, Misc/NEWS.d/3.13.8.rst)",
		Spans:  []Span{since(13, 8)}, Set: func(p *Preset) { p.DefaultPolicy = PolicyHang }, InReleaseView: true},
	{What: "PEP 788 interpreter guards: after atexit, Py_FinalizeEx waits with the GIL released until no guard is held; the close that leaves none held sets the flag, and guards are refused from then on", Releases: "3.15+",
		Source: "PEP 788 (gh-149101); observed on 3.15.2 (research note section 13)",
		Spans:  []Span{since(15, 0)}, Set: func(p *Preset) { p.Guards = true }, InReleaseView: true},
	{What: "a native thread's first PyGILState_Ensure after the flag meets the policy before it builds a thread state (under hang it never returns)", Releases: "3.15+",
		Source: "observed on 3.15.2; 3.14.10 runs it (research note section 13)",
		Spans:  []Span{since(15, 0)}, Set: func(p *Preset) { p.FreshEnsureMustExit = true }},
	{What: "take_gil reads the thread state (tstate->interp) after its entry must-exit check: a take that passed the check before the flag reads a state freed after it", Releases: "3.9-3.13",
		Source: "cpython#110052 (3.13.0 ceval_gil.c 301/312, pylifecycle.c 2022/2039; research note section 14); 3.14 reads tstate->state, refcounted (PR #130649)",
		Spans:  []Span{branches(9, 13)}, Set: func(p *Preset) { p.TakeGILWindow = true }},
	{What: "a thread struck after acquiring hands its thread state to drop_gil, which reads tstate->interp under FORCE_SWITCHING while a drop request is pending", Releases: "3.9-3.12",
		Source: "cpython#110052; 3.11 ceval_gil.h 288 -> 175 (3.13 passes NULL: \"tstate could be a dangling pointer\")",
		Spans:  []Span{branches(9, 12)}, Set: func(p *Preset) { p.DropGILReadsTstate = true }},
	{What: "other threads' thread states are cleared right after the flag (Python-level thread-locals die on main) and freed only when their thread lets go (a hung thread keeps its own)", Releases: "3.14+",
		Source: "3.14.7 pylifecycle.c 2092-2103, pystate.c 2028-2042 (_PyThreadState_RemoveExcept; PR #130649); research note section 14",
		Spans:  []Span{since(14, 0)}, Set: func(p *Preset) { p.TstatesClearedAtFlag = true }},
	{What: "a debug build: any DECREF without a thread state is a fatal error (its reference accounting reads the thread-local current state)", Releases: "3.12+ debug builds",
		Source: "_Py_EnsureTstateNotNULL (Include/internal/pycore_pystate.h) in Py_DECREF's debug path from 3.12 (research note section 14; spec v3)",
		Spans:  []Span{since(12, 0)}, When: func(p Preset) bool { return p.Debug }, Set: func(p *Preset) { p.DebugTstateCheck = true }},
	{What: "an outermost PyGILState_Ensure after step 7 is corruption or abort: right after _PyGILState_Fini deleted the TSS key, with the freed interpreter's memory still intact, gilstate_tss_set fails (Fatal Python error); before it, or once main's exit goes on, the ensure touches freed state", Releases: "3.14",
		Source: "gh-124619; seen on 3.14.10: \"Fatal Python error: gilstate_tss_set: failed to set current tstate (TSS)\" (research note section 15; spec v3)",
		Spans:  []Span{branches(14, 14)}, Set: func(p *Preset) { p.GILStateFiniAbort = true }},
}

// setThreadExitPolicy: before the hang (gh-87135), a thread that meets
// must-exit leaves with pthread_exit on POSIX and _endthreadex on Windows
// (bpo-1856, thread_pthread.h / thread_nt.h PyThread_exit_thread).
func setThreadExitPolicy(p *Preset) {
	if p.Platform == "windows" {
		p.DefaultPolicy = PolicyTerminate
	} else {
		p.DefaultPolicy = PolicyUnwind
	}
}

// LookupPreset composes preset names left to right ("cpython-3.12.1",
// "windows", "glibc"). No names means the default model: CPython
// scenario.DefaultRelease (3.14) on abstract POSIX (spec v1). A release
// named without a platform is glibc, which is what a CPython user on Linux
// runs (see docs/faithfulness.md).
func LookupPreset(names []string) (Preset, error) {
	key := strings.Join(names, "\x00")
	if p, ok := presetCache.Load(key); ok {
		return p.(Preset), nil
	}
	p, err := lookupPreset(names)
	if err == nil {
		presetCache.Store(key, p)
	}
	return p, err
}

// presetCache holds the presets LookupPreset composed, by their names
// joined with NUL: every run of a scenario looks its preset up.
var presetCache sync.Map

func lookupPreset(names []string) (Preset, error) {
	r, platform, debug := Release{scenario.DefaultRelease, Latest}, "", false
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
			return Preset{}, fmt.Errorf("unknown preset %q (want cpython-3.Y or cpython-3.Y.Z for Y in %d..%d, or one of %s)",
				n, scenario.OldestRelease().Minor, scenario.NewestRelease().Minor, strings.Join(scenario.Facets, ", "))
		}
	}
	if platform == "" {
		platform = "posix"
	}
	p := Preset{Name: strings.Join(names, " "), Release: r, Version: r.String(), Platform: platform, Debug: debug}
	for _, f := range Facts {
		if f.Set != nil && f.In(p) {
			f.Set(&p)
		}
	}
	if p.Name == "" {
		p.Name = fmt.Sprintf("default (%s posix)", scenario.ReleaseName(scenario.DefaultRelease, Latest))
	}
	return p, nil
}

// SameFacts reports whether p and q have the same facts, whatever their
// names and releases.
func (p Preset) SameFacts(q Preset) bool {
	p.Name, p.Release, p.Version = "", Release{}, ""
	q.Name, q.Release, q.Version = "", Release{}, ""
	return p == q
}

// factChanges returns, for each branch, the patch releases inside it where
// a span of a fact that keep accepts begins or ends, as the first release
// after the change: since(10, 8) gives 3.10: 8, and patches(12, 0, 2) gives
// 3.12: 3. Each list is ascending.
func factChanges(keep func(Fact) bool) map[int][]int {
	out := map[int][]int{}
	add := func(minor, patch int) {
		if !slices.Contains(out[minor], patch) {
			out[minor] = append(out[minor], patch)
			slices.Sort(out[minor])
		}
	}
	for _, f := range Facts {
		if !keep(f) {
			continue
		}
		for _, s := range f.Spans {
			if s.From.Patch > 0 {
				add(s.From.Minor, s.From.Patch)
			}
			if s.To != newest && s.To.Patch >= 0 {
				add(s.To.Minor, s.To.Patch+1)
			}
		}
	}
	return out
}

// boundaryColumns lists, for each branch of scenario.Releases oldest first,
// the last release before each of its changes (factChanges), then the
// branch's latest: one column for each set of facts the branch has.
func boundaryColumns(keep func(Fact) bool) []string {
	changes := factChanges(keep)
	var out []string
	for _, b := range scenario.Releases {
		for _, c := range changes[b.Minor] {
			out = append(out, scenario.ReleaseName(b.Minor, c-1))
		}
		out = append(out, b.Name())
	}
	return out
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
// where a default outcome can change, oldest first. It is BoundaryPresets
// with the patch boundaries of the facts InReleaseView only (so each
// branch's latest release, and 3.10.7 and 3.13.7), less every release with
// the same facts as the next one (3.9 is 3.10.7): the later name is kept,
// the last release before the next change.
var VersionPresets = versionPresets()

func versionPresets() []string {
	cols := boundaryColumns(func(f Fact) bool { return f.InReleaseView })
	var out []string
	for i, n := range cols {
		if i+1 < len(cols) {
			p, _ := LookupPreset([]string{n})
			next, _ := LookupPreset([]string{cols[i+1]})
			if p.SameFacts(next) {
				continue
			}
		}
		out = append(out, n)
	}
	return out
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
// boundary, oldest first: the columns of `shutdownfuzz presets`. For each
// branch of scenario.Releases, the last release before each change inside
// it (the changes are where Facts' spans begin or end), then its latest.
var BoundaryPresets = boundaryColumns(func(Fact) bool { return true })

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
