// Package exhaustive visits every reachable state of a scenario under one
// policy and reports the exact set of outcomes, each with a witness
// schedule that replays in the controlled mode, the number of states, and
// whether the search completed (Shuttle's DFS mode and loom do
// the same for Rust, by replaying from the start).
//
// # Design: a stateful search over the step function
//
// The model is also a step function (runtime.Machine, docs/step-function.md):
// the interpreter state is a value (runtime.VMState) that can be copied, and
// Machine.Step runs one thread to its next scheduling point. A pending
// branch carries its parent's state and goes on from a copy of it (vm.go).
// At each state the search computes its key (VMState.AppendKey): a key seen
// before ends the branch (its future is known); a new key is a new state,
// whose first choice is taken at once (the current thread if it can run,
// else the lowest) while the others are pushed as pending branches. So
// every transition of the state graph is executed exactly once. Counters
// of forever loops are not part of a position, so spinning threads give
// cycles, not endless chains of states.
//
// Where runtime.NewMachine refuses a scenario (more than 64 events, or 120
// locks or threads) and with Options.Replay, the search replays instead:
// every branch is a new run of the goroutine model from the start
// (runtime.RunChooser) that replays the recorded choices to the branching
// state and takes the other choice; its keys are runtime.Point.AppendKey
// (the parked goroutines' return addresses plus the statement path and
// the interpreter's data). Both searches give the same graph; the tests
// compare them (vm_test.go), and every terminal witness of the step
// function is run in the goroutine model, which fails the search when the
// two disagree.
//
// # Partial-order reduction
//
// With Options.Reduce, a state where some thread's next step is local
// (runtime.Machine.LocalStep) explores that step alone: a persistent set
// of one thread. Every terminal outcome of the full graph stays reachable
// (docs/exhaustive.md has the argument). The liveness rule needs the full
// graph's cycles, so a scenario with forever or until loops is not
// reduced, and a reduced graph that has a cycle anyway is searched again
// in full (Result.Reduction).
//
// # Parallel search
//
// Options.Workers goroutines (default: one per core, GOMAXPROCS) share a
// stack of pending branches under a mutex. A step of the step function
// takes a few microseconds, so each worker keeps the branches it finds on
// a stack of its own and gives the older half to the shared stack when
// another worker waits there. A replaying worker uses its own
// runtime.StateTable, forked from one (StateTable.Fork): the tables share
// the numbering of goroutine positions, which keys contain, so a key means
// the same state to every worker and the goroutine positions a branch
// carries (Point.Stacks) can be restored by any worker (Point.SetStacks).
// The visited set has 256 shards, each a mutex and a map, chosen by the
// key's fingerprint; a new state's id comes from an atomic counter under
// its shard's lock, so two workers never both add one state. Nodes and
// edges live in chunked arrays that grow without moving (workers read them
// while others append). One worker is the serial depth-first search.
//
// # Determinism
//
// A complete search executes every transition exactly once whatever the
// order, so the graph (states, edges, terminal transitions with their
// outcome and CPython defect) is the same: States, Edges, Runs (1 + the
// branches pushed, one per runnable thread but the first of each state)
// and each outcome's Count and Defects are. What the order changes is the
// numbering of states. After the search the graph is made canonical:
// states renumbered in breadth-first order from the initial state,
// following each state's transitions in thread order. A terminal
// outcome's witness is its first transition in that order, so the
// shortest schedule to the outcome and the least in thread order among
// the shortest; it is run once more in the controlled mode to give its
// Result (Result.WitnessRuns counts these runs, one per outcome, which
// are not in Runs), and a run that ends otherwise than the transition
// recorded is an error (a key that misses something). Witness.Defect
// names the first defect in the same order. Liveness (below) reads only
// the canonical graph. So the result, witnesses included, is the same for
// every number of workers and every run.
//
// Where a bound stops a parallel search depends on the workers' timing.
// A parallel search that a bound (or a run without an outcome, or an
// error) stops is therefore run again with one worker, whose partial
// result is the same every time: an incomplete search costs its parallel
// attempt and a serial one.
//
// # Fingerprints and memory
//
// The visited set keeps a 64-bit fingerprint of each key (xxhash), not
// the key. Two states whose keys have the same fingerprint are merged: the
// second is taken for the first, and the outcomes reachable only from it
// could be missed. For n states the probability that any two collide is
// about n²/2^65: 3·10^-8 for a million states (DefaultMaxStates), 2·10^-12
// for the library's largest cell (7,713 states). Options.ExactKeys keeps
// the exact keys instead (no merging, about 3.5 times the memory); tests
// check that both give the same results on the library.
//
// Memory is bounded by the bytes per state times MaxStates: the visited
// set, a 12-byte node per state and an 8-byte edge per transition, about
// 60 bytes per state with fingerprints and 215 with exact keys on
// BenchmarkExhaustive (measured after the search, before the result is
// built; the original search with exact keys and slices per node held
// 316), plus the pending branches (each carries the goroutine positions
// of its state, shared by the branches of one state). MaxKeyBytes bounds
// one state's key: a heap that grows in a forever loop gives ever longer
// keys, so it stops such a search early. The pending branches of the
// step function's search hold copies of their states, which a path that
// grows its state (an ensure stack deepened by a forever loop) makes ever
// larger; MaxHeldBytes bounds their sum (each counted as its key's length
// and a fixed overhead), so that no search outgrows the machine's memory
// before MaxStates.
//
// # Liveness
//
// Terminal transitions (a halt, no thread able to run) give outcomes
// directly. Infinite behaviours are cycles: after the search the strongly
// connected components of the state graph are refined to the fair ones
// under strong fairness (every thread enabled somewhere in the component
// steps inside it; otherwise the states where such a thread is enabled
// are dropped and the rest is split again, as in Emerson and Lei's fair
// SCC algorithm). A fair component is a run that can go on for ever
// without the process exiting. If main never steps in it, main is blocked
// for good while others may run: deadlock (the spec's v2 "deadlock
// includes livelock"), reported with what main waits for. If main steps in
// it, main itself loops for ever: budget. Its witness is a lasso: the
// canonical schedule to the component's first state (in canonical order)
// and a cycle that visits every thread that steps there.
//
// A bound on states (MaxStates), on a key's size (MaxKeyBytes) or on the
// pending states' bytes (MaxHeldBytes) stops the search with Complete
// false; the outcomes found are then a lower
// bound and are never reported as proved.
package exhaustive

import (
	"errors"
	"fmt"
	"math"
	goruntime "runtime"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// DefaultMaxStates bounds a search when Options.MaxStates is 0.
const DefaultMaxStates = 1_000_000

// DefaultMaxKeyBytes bounds the size of one state's key when
// Options.MaxKeyBytes is 0. A state whose key is larger is a heap that
// grows in a forever loop (the key of a library state takes under 512
// bytes).
const DefaultMaxKeyBytes = 64 << 10

// DefaultMaxHeldBytes bounds the pending branches' states when
// Options.MaxHeldBytes is 0: 1 GiB counted (a fuzz-found scenario whose
// ensure stack deepens in a forever loop then stops with 1.4 GB of RSS;
// without the bound it was killed at 4 GB and more).
const DefaultMaxHeldBytes = 1 << 30

// Options bound a search. The zero value is the default search.
type Options struct {
	Policy    string // "" keeps the scenario's
	MaxStates int    // states before the search gives up (Complete false); default DefaultMaxStates
	// MaxKeyBytes bounds the size of one state's key (Complete false when
	// a key is larger); default DefaultMaxKeyBytes.
	MaxKeyBytes int
	// MaxHeldBytes bounds the bytes of the states the step function's
	// pending branches hold (Complete false when they hold more); default
	// DefaultMaxHeldBytes.
	MaxHeldBytes int64
	// Workers is the number of goroutines that run transitions: 0 is
	// runtime.GOMAXPROCS(0), 1 the serial search. The result does not
	// depend on it (see the package doc).
	Workers int
	// ExactKeys keeps the states' exact keys in the visited set instead of
	// 64-bit fingerprints: no collision can merge two states, at the cost
	// of the keys' memory (tests use it).
	ExactKeys bool
	// Verify recomputes the key at every replayed point and checks it
	// against the state recorded there: a replay that does not reach the
	// same states means the key misses something (tests use it).
	Verify bool
	// Replay searches by replay even where the step function models the
	// scenario (runtime.NewMachine): the reference it is tested against.
	Replay bool
	// Reduce applies partial-order reduction (see the package doc): a
	// state where some thread's next step is local explores that step
	// alone. The outcome set is the same; States, Edges, Runs, the
	// witnesses' schedules and Counts are those of the reduced graph. A
	// reduced graph with a cycle is searched again in full (Reduction
	// says so). The replay search ignores it.
	Reduce bool
}

// config is the run configuration: no step budget or watchdog can end a
// run that the search bounds itself; the search's runs share its Runner.
func (x *search) config() runtime.Config {
	return runtime.Config{Policy: x.opts.Policy, MaxSteps: 1 << 30, Watchdog: 10 * time.Minute, Runner: x.runner}
}

// Witness is the canonical transition into an outcome (see the package
// doc): the first in breadth-first order.
type Witness struct {
	Outcome runtime.Outcome
	// Schedule reaches the outcome: for a terminal outcome the complete
	// run; for a cycle, the way into it followed by one turn of Cycle.
	Schedule []int
	// Cycle, for deadlock and budget found as cycles, is the turn that
	// repeats for ever (the last len(Cycle) choices of Schedule).
	Cycle  []int
	Count  int             // transitions into the outcome (or fair components)
	Result *runtime.Result // the run (terminal) or a description of the cycle
	// Defects counts the transitions into the outcome that only a defect
	// of CPython made (runtime.Result.Defect), and Defect names the first
	// in breadth-first order.
	Defects int
	Defect  string
	// Kinds are the report kinds of the terminal transitions into the
	// outcome, sorted.
	Kinds []string
}

// Result is the outcome set of one policy.
type Result struct {
	Scenario string
	Policy   string
	States   int  // distinct states (scheduling points)
	Edges    int  // transitions executed, terminal ones included
	Runs     int  // runs from the start: 1 + the branches pushed
	Complete bool // false: the bound stopped the search; Outcomes is partial
	Reason   string
	Outcomes map[runtime.Outcome]*Witness
	// WitnessRuns counts the runs after the search that build the
	// witnesses (one per outcome); they are not in Runs.
	WitnessRuns int
	// Reduction is how Options.Reduce went: "" (not asked, or the replay
	// search), ReductionOn, ReductionLoops (not tried) or ReductionCycles
	// (searched again in full).
	Reduction string
}

// Result.Reduction values.
const (
	ReductionOn     = "on"
	ReductionCycles = "off: the reduced graph has a cycle, so the state graph was searched in full for the liveness rule"
	ReductionLoops  = "off: the scenario has forever or until loops, whose cycles the liveness rule reads in the full graph"
)

// spinsCheck is false only in the test of the search again in full.
var spinsCheck = true

// spins reports whether s has a forever or until loop: the statements
// that give the state graph cycles (finite loops count their iterations
// in the thread's position). A reduced search of such a scenario would
// almost always be run again in full (Explore), so it is not tried.
func spins(s *scenario.Scenario) bool {
	found := false
	for _, b := range s.Bodies() {
		scenario.Walk(b, func(st *scenario.Stmt) {
			found = found || st.Op == scenario.OpForever || st.Op == scenario.OpUntil
		})
	}
	return found
}

// Seen returns the outcomes in the language's order.
func (r *Result) Seen() []runtime.Outcome {
	var out []runtime.Outcome
	for _, o := range runtime.Outcomes {
		if r.Outcomes[o] != nil {
			out = append(out, o)
		}
	}
	return out
}

// Explore searches every state of s under opts.Policy.
func Explore(s *scenario.Scenario, opts Options) (*Result, error) {
	if opts.MaxStates <= 0 {
		opts.MaxStates = DefaultMaxStates
	}
	opts.MaxStates = min(opts.MaxStates, 1<<31-2)
	if opts.MaxKeyBytes <= 0 {
		opts.MaxKeyBytes = DefaultMaxKeyBytes
	}
	if opts.MaxHeldBytes <= 0 {
		opts.MaxHeldBytes = DefaultMaxHeldBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = goruntime.GOMAXPROCS(0)
	}
	if len(s.Threads) > math.MaxUint16 {
		return nil, fmt.Errorf("exhaustive: %d threads: a node numbers threads in 16 bits", len(s.Threads))
	}
	policy, _, err := runtime.ResolvePolicy(s, opts.Policy)
	if err != nil {
		return nil, err
	}
	opts.Policy = policy
	var m *runtime.Machine
	if !opts.Replay {
		switch m, err = runtime.NewMachine(s, policy); {
		case errors.Is(err, runtime.ErrUnsupported):
			m = nil
		case err != nil:
			return nil, err
		}
	}
	reduction := ""
	opts.Reduce = opts.Reduce && m != nil // the replay search does not reduce
	if opts.Reduce && spinsCheck && spins(s) {
		opts.Reduce, reduction = false, ReductionLoops
	}
	x := search1(s, opts, m)
	if opts.Reduce {
		reduction = ReductionOn
		if x.err == nil && !x.full && x.cyclic() {
			opts.Reduce, reduction = false, ReductionCycles
			x.runner.Close()
			x = search1(s, opts, m)
		}
	}
	defer x.runner.Close()
	if x.err != nil {
		return nil, x.err
	}
	if searched != nil {
		searched(x)
	}
	r, err := x.finish()
	if r != nil {
		r.Reduction = reduction
	}
	return r, err
}

// search1 runs one search with opts.Workers workers. Where a parallel
// search stops early depends on the workers' timing, so a stopped one is
// run again serially, which stops at the same place every time. The
// caller closes the search's runner.
func search1(s *scenario.Scenario, opts Options, m *runtime.Machine) *search {
	x := newSearch(s, opts, m)
	x.explore(opts.Workers)
	if opts.Workers > 1 && x.halted.Load() {
		x.runner.Close()
		x = newSearch(s, opts, m)
		x.explore(1)
	}
	return x
}

// searched, if set, is called with each search before finish (the
// benchmark measures its memory there).
var searched func(x *search)

// finish builds the result from the state graph.
func (x *search) finish() (*Result, error) {
	n := int(min(x.nnodes.Load(), int64(x.opts.MaxStates)))
	x.res = &Result{Scenario: x.sc.Name, Policy: x.opts.Policy, States: n, Runs: x.runs,
		Complete: !x.full, Reason: x.reason, Outcomes: map[runtime.Outcome]*Witness{}}
	g := x.canonical(n)
	x.nodes, x.edges = chunked[node]{}, chunked[edge]{}
	for _, e := range g.e {
		if e.to != unexplored {
			x.res.Edges++
		}
	}
	if x.root != "" {
		x.res.Edges++
	}
	if err := x.terminals(g); err != nil {
		return nil, err
	}
	if err := x.liveness(g); err != nil {
		return nil, err
	}
	return x.res, nil
}
