// Package exhaustive visits every reachable state of a scenario under one
// policy and reports the exact set of outcomes, each with a witness
// schedule that replays in the controlled mode, the number of states, and
// whether the search completed (Shuttle's DFS mode and loom do
// the same for Rust, by replaying from the start).
//
// # Design: stateful DFS by replay
//
// The model runs each thread as a goroutine whose position lives on its
// Go stack, so a state cannot be copied. Instead every branch is a new run
// from the start (runtime.RunChooser) that replays the recorded choices
// to the branching state, takes the other choice, and goes on. At each
// scheduling point after the replayed prefix the run computes the state's
// key (runtime.Point.AppendKey: every thread's position as data, namely
// the parked goroutine's return addresses plus the statement path with
// loop counters, and the interpreter's data: GIL, drop request, locks,
// events, heap, finalization step). A key seen before ends the run (its
// future is known); a new key is a new state, whose first choice the run
// takes at once (the current thread if it can run, else the lowest) while
// the others are pushed as pending branches. So every transition of the
// state graph is executed exactly once, and a run only pays its replayed
// prefix. Keys are the exact encoded bytes, not hashes: no collision can
// merge two states. Counters of forever loops are not part of a position,
// so spinning threads give cycles, not endless chains of states.
//
// The alternative, making the interpreter state cloneable, would need the
// model to keep each thread's position as data everywhere (a second
// implementation of exec.go as a step function); replay needs four small
// hooks in exec.go and interp.go and shares every rule with the sampled
// and wild modes. Its cost is the prefix: a branch replays the depth of
// its state, at a few hundred ns per step. Measured on a loaded 2-core
// machine: the whole library (13,756 states over all five policies) in
// about 0.3 s, about 50,000 states/s; BenchmarkExhaustive (142,530 states
// on cpython-3.14.0 posix, 1.39 runs per state) 9,000-11,000 states/s,
// 13-15 s per complete search. Going past that needs the cloneable state.
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
// it, main itself loops for ever: budget. Its witness is a lasso: a
// schedule to the component and a cycle that visits every thread that
// steps there.
//
// A bound on states (MaxStates) stops the search with Complete false; the
// outcomes found are then a lower bound and are never reported as proved.
package exhaustive

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// DefaultMaxStates bounds a search when Options.MaxStates is 0.
const DefaultMaxStates = 1_000_000

// DefaultMaxKeyBytes bounds the memory the visited states' keys take when
// Options.MaxKeyBytes is 0. States whose keys keep growing (a heap that
// grows in a forever loop) hit it long before MaxStates.
const DefaultMaxKeyBytes = 128 << 20

// Options bound a search.
type Options struct {
	Policy    string // "" keeps the scenario's
	MaxStates int    // states before the search gives up (Complete false); default DefaultMaxStates
	// MaxKeyBytes bounds the total size of the visited states' keys
	// (Complete false when reached); default DefaultMaxKeyBytes.
	MaxKeyBytes int
	// Verify recomputes the key at every replayed point and checks it
	// against the state recorded there: a replay that does not reach the
	// same states means the key misses something (tests use it).
	Verify bool
	// Replay searches by replay even where the step function models the
	// scenario (runtime.NewMachine): the reference it is tested against.
	Replay bool
}

// Witness is the first transition found into an outcome.
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
	// of CPython made (runtime.Result.Defect), and Defect names the first.
	Defects int
	Defect  string
	// Kinds are the report kinds of the terminal transitions into the
	// outcome (runtime.Report.Kind), sorted.
	Kinds []string
}

// addKind records the report kind of a terminal transition.
func (w *Witness) addKind(kind string) {
	if i, ok := slices.BinarySearch(w.Kinds, kind); !ok {
		w.Kinds = slices.Insert(w.Kinds, i, kind)
	}
}

// Result is the outcome set of one policy.
type Result struct {
	Scenario string
	Policy   string
	States   int  // distinct states (scheduling points)
	Edges    int  // transitions executed, terminal ones included
	Runs     int  // runs from the start
	Complete bool // false: the bound stopped the search; Outcomes is partial
	Reason   string
	Outcomes map[runtime.Outcome]*Witness
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

type edge struct {
	thread int32
	to     int32 // a state, or terminal (-1) for a transition that ended the run
}

type node struct {
	parent   int32
	via      int32 // the thread chosen at parent
	runnable []int32
	stacks   []uint32 // goroutine positions (runtime.Point.Stacks)
	edges    []edge
}

type pending struct{ state, thread int32 }

// search is one exploration; it is the Chooser of its runs.
type search struct {
	sc       *scenario.Scenario
	opts     Options
	tab      *runtime.StateTable
	visited  map[string]int32
	nodes    []node
	todo     []pending
	res      *Result
	key      []byte
	keyBytes int // total size of the keys in visited
	full     bool
	// the current run
	path      []int
	pathState []int32
	prev      int32
	prevVia   int32
	stopped   bool
	verifyErr error
}

// Explore searches every state of s under opts.Policy.
func Explore(s *scenario.Scenario, opts Options) (*Result, error) {
	if opts.MaxStates <= 0 {
		opts.MaxStates = DefaultMaxStates
	}
	if opts.MaxKeyBytes <= 0 {
		opts.MaxKeyBytes = DefaultMaxKeyBytes
	}
	policy, _, err := runtime.ResolvePolicy(s, opts.Policy)
	if err != nil {
		return nil, err
	}
	opts.Policy = policy
	if !opts.Replay {
		m, err := runtime.NewMachine(s, policy)
		switch {
		case err == nil:
			return exploreVM(s, m, opts)
		case !errors.Is(err, runtime.ErrUnsupported):
			return nil, err
		}
	}
	x := &search{sc: s, opts: opts, tab: runtime.NewStateTable(s), visited: map[string]int32{},
		res: &Result{Scenario: s.Name, Policy: policy, Outcomes: map[runtime.Outcome]*Witness{}}}
	if err := x.run(nil); err != nil {
		return nil, err
	}
	for len(x.todo) > 0 && !x.full {
		p := x.todo[len(x.todo)-1]
		x.todo = x.todo[:len(x.todo)-1]
		if err := x.run(&p); err != nil {
			return nil, err
		}
	}
	r := x.res
	r.States = len(x.nodes)
	r.Complete = !x.full
	if x.full && r.Reason == "" {
		r.Reason = fmt.Sprintf("the bound of %d states was reached", opts.MaxStates)
	}
	if err := x.liveness(); err != nil {
		return nil, err
	}
	return r, nil
}

// config is the run configuration: no step budget or watchdog can end a
// run that the search bounds itself.
func (x *search) config() runtime.Config {
	return runtime.Config{Policy: x.opts.Policy, MaxSteps: 1 << 30, Watchdog: 10 * time.Minute}
}

// run replays the way to p.state, takes p.thread and explores on from
// there (p nil: the first run, from the initial state).
func (x *search) run(p *pending) error {
	x.path, x.pathState = x.path[:0], x.pathState[:0]
	x.prev, x.prevVia, x.stopped = -1, -1, false
	if p != nil {
		for s := p.state; s > 0; s = x.nodes[s].parent {
			x.path = append(x.path, int(x.nodes[s].via))
			x.pathState = append(x.pathState, x.nodes[s].parent)
		}
		slices.Reverse(x.path)
		slices.Reverse(x.pathState)
		x.path = append(x.path, int(p.thread))
		x.pathState = append(x.pathState, p.state)
	}
	r, err := runtime.RunChooser(x.sc, x.config(), x.tab, x)
	if err != nil {
		return err
	}
	x.res.Runs++
	if x.verifyErr != nil {
		return x.verifyErr
	}
	if x.stopped {
		return nil
	}
	switch r.Outcome {
	case runtime.Budget, "":
		x.full = true
		x.res.Reason = "a run ended without an outcome: " + r.Report.Message
		return nil
	}
	x.addEdge(x.prev, x.prevVia, -1)
	w := x.res.Outcomes[r.Outcome]
	if w == nil {
		w = &Witness{Outcome: r.Outcome, Schedule: slices.Clone(r.Schedule), Result: r}
		x.res.Outcomes[r.Outcome] = w
	}
	w.Count++
	w.addKind(r.Report.Kind)
	if d := r.Defect(); d != "" {
		w.Defects++
		w.Defect = cmp.Or(w.Defect, d)
	}
	return nil
}

// Choose is called at every scheduling point of a run.
func (x *search) Choose(p *runtime.Point) (int, bool) {
	k := p.Step
	if k < len(x.path) {
		if x.opts.Verify {
			x.key = p.AppendKey(x.key[:0])
			if id, ok := x.visited[string(x.key)]; !ok || id != x.pathState[k] {
				x.verifyErr = fmt.Errorf("exhaustive: replay of %v reached another state at step %d (want state %d, got %d, known %v)", x.path, k, x.pathState[k], id, ok)
				x.stopped = true
				return 0, true
			}
		}
		if k == len(x.path)-1 {
			x.prev, x.prevVia = x.pathState[k], int32(x.path[k])
			p.SetStacks(x.nodes[x.prev].stacks)
		}
		return x.path[k], false
	}
	x.key = p.AppendKey(x.key[:0])
	if id, ok := x.visited[string(x.key)]; ok {
		x.addEdge(x.prev, x.prevVia, id)
		x.stopped = true
		return 0, true
	}
	if len(x.nodes) >= x.opts.MaxStates {
		x.full, x.stopped = true, true
		return 0, true
	}
	if x.keyBytes += len(x.key); x.keyBytes > x.opts.MaxKeyBytes {
		x.full, x.stopped = true, true
		x.res.Reason = fmt.Sprintf("the states' keys outgrew %d MiB after %d states (does the heap grow for ever?)", x.opts.MaxKeyBytes>>20, len(x.nodes))
		return 0, true
	}
	id := int32(len(x.nodes))
	n := node{parent: x.prev, via: x.prevVia, runnable: make([]int32, len(p.Runnable)), stacks: p.Stacks(nil)}
	for i, r := range p.Runnable {
		n.runnable[i] = int32(r)
	}
	x.nodes = append(x.nodes, n)
	x.visited[string(x.key)] = id
	x.addEdge(x.prev, x.prevVia, id)
	first := p.Runnable[0]
	if slices.Contains(p.Runnable, p.Cur) {
		first = p.Cur
	}
	for i := len(p.Runnable) - 1; i >= 0; i-- {
		if r := p.Runnable[i]; r != first {
			x.todo = append(x.todo, pending{state: id, thread: int32(r)})
		}
	}
	x.prev, x.prevVia = id, int32(first)
	return first, false
}

func (x *search) addEdge(from, thread, to int32) {
	x.res.Edges++
	if from < 0 {
		return
	}
	x.nodes[from].edges = append(x.nodes[from].edges, edge{thread: thread, to: to})
}
