// Package scenario is the shutdownfuzz scenario language: its syntax tree, a
// parser that reports errors as file:line:col, a printer that writes the
// canonical form, and a total decoder from fuzz bytes (plus the encoder that
// turns any scenario back into fuzz bytes).
//
// The language is specified in docs/scenario-language.md (the shared
// scenario-language contract, followed by the extensions, each marked). The
// package is a leaf: it knows the names of policies, presets and outcomes, but
// nothing of how a scenario runs.
package scenario

import (
	"slices"
	"strconv"
	"strings"
)

// Pos is a 1-based line and column in a scenario file. The zero Pos means
// "no position" (for example, a scenario built by the decoder).
type Pos struct {
	Line, Col int
}

// ThreadKind says what sort of thread a block declares.
type ThreadKind uint8

const (
	Main    ThreadKind = iota // the main thread; index 0
	Thread                    // a non-daemon Python thread
	Daemon                    // a daemon Python thread
	Foreign                   // a non-Python OS thread; starts without a thread state
)

var threadKindNames = [...]string{Main: "main", Thread: "thread", Daemon: "daemon", Foreign: "foreign"}

func (k ThreadKind) String() string {
	if int(k) < len(threadKindNames) {
		return threadKindNames[k]
	}
	return "?"
}

// Scenario is one parsed .scn file.
type Scenario struct {
	Name     string
	Presets  []string // extension: "preset A B" composes presets left to right; usually one
	Policy   string   // default policy, "" if none
	Callback string   // exit callback, "" if none
	// Threads[0] is main (Kind Main, Name "main"); the rest are thread, daemon
	// and foreign blocks in file order. A thread's index is its position here,
	// and schedules name threads by index.
	Threads  []*ThreadDecl
	Atexit   []*Block // in file (registration) order
	Teardown []*Block // in file order
	// AfterFinalize (v2) are the after_finalize blocks in file order: code
	// that runs on main after finalization step 7, without an interpreter.
	AfterFinalize []*Block
	Expect        []Expect // in file order; lines for one policy merge
	Schedule      *Schedule

	// Positions of top-level keywords, for error messages; zero when built
	// in code.
	PresetPos, PolicyPos, CallbackPos Pos
}

// ThreadDecl is main, or a thread, daemon or foreign block.
//
// A replicated block "daemon w[3] { ... }" (v2) stands in Threads as its N
// copies, consecutive, named w0, w1, w2, each with Group "w", Copies 3 and
// an equal Body; the printer writes them back as the one block. A
// statement that names the group ("spawn w", "join w") addresses every copy
// (see Scenario.Named).
type ThreadDecl struct {
	Kind   ThreadKind
	Name   string
	Group  string // the NAME of NAME[N], "" for a plain block
	Copies int    // N of NAME[N], 0 for a plain block
	Body   []*Stmt
	Pos    Pos
}

// MaxCopies bounds N in NAME[N].
const MaxCopies = 64

// Block is an atexit, teardown or after_finalize body (see
// Scenario.BlockLists).
type Block struct {
	Body []*Stmt
	Pos  Pos
}

// Expect is one "expect POLICY: OUTCOME, ..." line.
type Expect struct {
	Policy   string
	Outcomes []string
	Pos      Pos
}

// Stmt is one statement. Which fields are used depends on Op (its row of
// Syntaxes says it):
//
//	spawn                       Name (a thread), Nowait
//	join                        Name (a thread)
//	new, local, publish, incref, decref, use, guard, hold   Name (an object)
//	lock, unlock                Name (a C-level mutex)
//	set, wait, until            Name (an event)
//	work, loop                  N (>= 1)
//	exit                        N (the exit code, 0..255)
//	print                       Text, Flush
//	native                      Noexcept, Catchall, Nounwind, Body
//	cleanup                     OnUnwind, Body
//	if (finalizing)             Body (then), Else
//	loop, forever, until        Body
//	atthreadexit                Native, Body
//	interp_guard, close, ensure G   Name (an interpreter guard)
//	interp_guard G { }, if guarded G   Name, Body, Else
//	ensure view                 Body, Else
type Stmt struct {
	Op       Op
	Name     string
	N        int
	Text     string
	Noexcept bool
	Catchall bool
	// Nowait (spawn only, v2) is "spawn NAME nowait": _thread.start_new_thread,
	// which returns at once instead of waiting for the thread to begin.
	Nowait bool
	// Flush (print only, v2) is "print flush \"text\"": the write takes the
	// stdout lock and drops the GIL around the write while holding it.
	Flush bool
	// Nounwind (native only, v2) is "native nounwind": a Rust extern "C"
	// frame, where an unwind reaching it aborts.
	Nounwind bool
	// OnUnwind (cleanup only, v2) is "cleanup unwind": the block runs only
	// when the frame unwinds, not when it returns.
	OnUnwind bool
	// Native (atthreadexit only, v3) is "atthreadexit native": C++
	// thread_local and pthread-key destructors, which run on the thread
	// itself; plain atthreadexit is Python-level thread state.
	Native bool
	// Else (if only, v2) is the else block of "if finalizing { } else { }".
	Else []*Stmt
	Body []*Stmt
	Pos  Pos
}

// ScheduleKind is the kind of a schedule line.
type ScheduleKind uint8

const (
	ScheduleRandom ScheduleKind = iota // schedule random SEED
	SchedulePCT                        // schedule pct DEPTH SEED
	ScheduleReplay                     // schedule replay C C C ...: thread indices
	// ScheduleStream is an extension: "schedule stream B B B ...". At each
	// scheduling point the strategy picks runnable[B mod len(runnable)],
	// runnable threads in index order. Every byte string is a valid stream,
	// which is why the fuzz decoder yields it.
	ScheduleStream
)

var scheduleKindNames = [...]string{ScheduleRandom: "random", SchedulePCT: "pct", ScheduleReplay: "replay", ScheduleStream: "stream"}

func (k ScheduleKind) String() string {
	if int(k) < len(scheduleKindNames) {
		return scheduleKindNames[k]
	}
	return "?"
}

// Schedule is a "schedule" line. Seed is used by random and pct, and by
// replay and stream as the seed of the random continuation after they run
// out or diverge (0 there means "derive it from the choices").
type Schedule struct {
	Kind    ScheduleKind
	Seed    uint64
	Depth   int
	Choices []int
	Pos     Pos
}

// The names the language knows. Runtime tables are keyed by these, and tests
// there check that the two agree. The outcome names are Outcomes
// (outcome.go), taken from OutcomeClasses.
var (
	Policies  = []string{"abort", "exit", "hang", "unwind", "terminate"}
	Callbacks = []string{"hang", "exit", "abort", "return", "terminate-thread"}
	// Presets are the preset names one may list: the branches of Releases,
	// then the Facets. IsPreset also accepts cpython-X.Y.Z for each of these
	// branches (see PresetVersion).
	Presets = append(releasePresets(), Facets...)
)

// PresetVersion parses a release preset: "cpython-3.12" gives (12, -1),
// "cpython-3.12.3" gives (12, 3). The minor version is a branch of Releases
// and the patch 0..MaxPatch, both decimal without a leading zero; anything
// else is not ok.
func PresetVersion(name string) (minor, patch int, ok bool) {
	rest, found := strings.CutPrefix(name, "cpython-3.")
	if !found {
		return 0, 0, false
	}
	m, p, hasPatch := strings.Cut(rest, ".")
	minor, ok = smallNumber(m, MaxPatch)
	if _, known := BranchOf(minor); !ok || !known {
		return 0, 0, false
	}
	if !hasPatch {
		return minor, -1, true
	}
	if patch, ok = smallNumber(p, MaxPatch); !ok {
		return 0, 0, false
	}
	return minor, patch, true
}

// smallNumber parses a decimal number 0..max written without a leading zero.
func smallNumber(s string, max int) (int, bool) {
	if !isDigits(s) || len(s) > 1 && s[0] == '0' || len(s) > 4 {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n <= max
}

// IsPolicy, IsOutcome, IsPreset and IsCallback report whether a name is known.
func IsPolicy(s string) bool  { return slices.Contains(Policies, s) }
func IsOutcome(s string) bool { return slices.Contains(Outcomes, s) }
func IsPreset(s string) bool {
	_, _, ok := PresetVersion(s)
	return ok || slices.Contains(Presets, s)
}
func IsCallback(s string) bool { return slices.Contains(Callbacks, s) }

// Thread returns the index of the thread named name, or -1.
func (s *Scenario) Thread(name string) int {
	for i, t := range s.Threads {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// Expected returns the merged outcome set the expect lines allow for policy,
// and whether any expect line names the policy.
func (s *Scenario) Expected(policy string) (map[string]bool, bool) {
	set := map[string]bool{}
	found := false
	for _, e := range s.Expect {
		if e.Policy != policy {
			continue
		}
		found = true
		for _, o := range e.Outcomes {
			set[o] = true
		}
	}
	return set, found
}

// Walk calls fn for every statement of body, depth first, in order: a
// statement, then the statements of its blocks in the order of Blocks (an
// if's then block, then its else block).
func Walk(body []*Stmt, fn func(*Stmt)) {
	for _, st := range body {
		fn(st)
		for _, b := range st.Blocks() {
			Walk(*b, fn)
		}
	}
}

// Blocks returns pointers to the blocks nested in st, in the order Walk
// visits them: Body (the block of native, cleanup, loop, forever, until,
// atthreadexit, and the then block of if), then Else (the else block of
// if). Both are always returned; for a statement without blocks they hold
// nil. Code that edits nested statements in place recurses through Blocks,
// so that it reaches every block Walk reaches, in the same order.
func (st *Stmt) Blocks() []*[]*Stmt {
	return []*[]*Stmt{&st.Body, &st.Else}
}

// Named returns the indices in Threads of the threads a spawn or join of
// name addresses: the thread of that name, or every copy of the replicated
// block NAME[N]; nil if none.
func (s *Scenario) Named(name string) []int {
	if i := s.Thread(name); i >= 0 {
		return []int{i}
	}
	var out []int
	for i, t := range s.Threads {
		if t != nil && t.Group == name && name != "" {
			out = append(out, i)
		}
	}
	return out
}

// Bodies returns every top-level body of s: the threads, then atexit, then
// teardown, then after_finalize blocks (the order of BodyRefs).
func (s *Scenario) Bodies() [][]*Stmt {
	refs := s.BodyRefs()
	out := make([][]*Stmt, len(refs))
	for i, r := range refs {
		out[i] = *r
	}
	return out
}

// BodyRefs returns a pointer to every top-level body of s, in the order of
// Bodies: each thread's body (the copies of a replicated block included),
// then the body of each block of BlockLists, list by list. Assigning
// through a pointer replaces that body in s. Together with Stmt.Blocks it
// reaches every statement Walk visits over Bodies, in the same order.
func (s *Scenario) BodyRefs() []*[]*Stmt {
	var out []*[]*Stmt
	for _, t := range s.Threads {
		out = append(out, &t.Body)
	}
	for _, list := range s.BlockLists() {
		for _, b := range *list {
			out = append(out, &b.Body)
		}
	}
	return out
}

// BlockLists returns pointers to the lists of top-level blocks that are not
// threads, in the order Bodies lists their bodies: atexit, teardown,
// after_finalize. Each list is in file order; assigning through a pointer
// (to remove a block, say) changes s.
func (s *Scenario) BlockLists() []*[]*Block {
	return []*[]*Block{&s.Atexit, &s.Teardown, &s.AfterFinalize}
}
