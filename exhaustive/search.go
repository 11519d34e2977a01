package exhaustive

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// search is one exploration, shared by its workers.
type search struct {
	sc     *scenario.Scenario
	opts   Options
	tab    *runtime.StateTable // the workers' tables are forked from it
	m      *runtime.Machine    // the step function, nil: the search replays
	runner *runtime.Runner     // the runs' coroutines
	vis    *visited
	nodes  chunked[node]
	edges  chunked[edge]
	nnodes atomic.Int64 // ids handed out (may pass MaxStates by the ones refused)
	nedges atomic.Int64
	front  frontier
	halted atomic.Bool  // a bound, an error or a run without an outcome stopped the search
	held   atomic.Int64 // bytes of the states pending branches hold (vm.go hold)
	reduce bool         // partial-order reduction (vm.go's ample)

	res *Result // built by finish

	mu     sync.Mutex
	full   bool   // a bound stopped the search
	reason string // why it stopped
	err    error
	runs   int
	// root is the outcome of a first run that ended before its first
	// scheduling point (no state at all), with its defect.
	root       runtime.Outcome
	rootDefect string
	kinds      map[runtime.Outcome][]string // report kinds of the terminal transitions
}

// pending is a transition to explore: thread at state (state -1: the
// first run, from the start).
type pending struct {
	state, thread int32
	stacks        []uint32 // the goroutine positions at state, shared by its branches
	vm            *vmParent
}

func newSearch(s *scenario.Scenario, opts Options, m *runtime.Machine) *search {
	x := &search{sc: s, opts: opts, tab: runtime.NewStateTable(s), vis: newVisited(opts.ExactKeys), m: m,
		runner: runtime.NewRunner(), kinds: map[runtime.Outcome][]string{}, reduce: opts.Reduce && m != nil}
	x.front.cond.L = &x.front.mu
	return x
}

// explore runs the search with n workers.
func (x *search) explore(n int) {
	x.front.stack = []pending{{state: -1}}
	if n == 1 {
		x.worker(x.tab)
		return
	}
	var wg sync.WaitGroup
	for range n {
		tab := x.tab.Fork()
		wg.Go(func() { x.worker(tab) })
	}
	wg.Wait()
}

// stop halts the search: full when a bound stopped it, with a reason
// (the first one given is kept), or with err.
func (x *search) stop(full bool, reason string, err error) {
	x.mu.Lock()
	x.full = x.full || full
	if x.reason == "" {
		x.reason = reason
	}
	if x.err == nil {
		x.err = err
	}
	x.mu.Unlock()
	x.halted.Store(true)
	x.front.halt()
}

// worker takes pending transitions and runs them until none is left. It
// keeps what its runs push on a stack of its own (depth first, no lock)
// and gives the older half of it to the shared stack when another worker
// waits there: a run of the step function takes a few microseconds, so a
// lock and a wake-up per run would serialize the workers.
func (x *search) worker(tab *runtime.StateTable) {
	w := &worker{x: x, tab: tab}
	run := w.run
	if x.m != nil {
		run = w.runVM
	}
	var local []pending
	peak := 0
	for {
		p, ok := x.front.pop()
		if !ok {
			break
		}
		local = append(local[:0], p)
		for len(local) > 0 && !x.halted.Load() {
			p := local[len(local)-1]
			local = local[:len(local)-1]
			if err := run(p); err != nil {
				x.stop(false, "", err)
			}
			local = append(local, w.pushed...)
			w.pushed = w.pushed[:0]
			peak = max(peak, len(local))
			if len(local) > 1 && x.front.waiting.Load() > 0 {
				half := len(local) / 2
				x.front.share(local[:half])
				local = append(local[:0], local[half:]...)
			}
		}
		x.front.done()
	}
	x.mu.Lock()
	x.runs += w.runs
	x.mu.Unlock()
	x.front.mu.Lock() // peak is the frontier's, which share updates under its lock
	x.front.peak = max(x.front.peak, peak)
	x.front.mu.Unlock()
}

// frontier is the pending transitions the workers share (each worker
// also keeps a stack of its own; with one worker the search is depth
// first).
type frontier struct {
	mu      sync.Mutex
	cond    sync.Cond
	stack   []pending
	active  int // workers with transitions to run, which may push more
	waiting atomic.Int32
	stopped bool
	peak    int // the most pending transitions on one stack at once
}

// pop takes the last shared pending transition, waiting while there is
// none but some worker may still share; false when the search is over.
func (f *frontier) pop() (pending, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.stack) == 0 && f.active > 0 && !f.stopped {
		f.waiting.Add(1)
		f.cond.Wait()
		f.waiting.Add(-1)
	}
	if f.stopped || len(f.stack) == 0 {
		return pending{}, false
	}
	p := f.stack[len(f.stack)-1]
	f.stack = f.stack[:len(f.stack)-1]
	f.active++
	return p, true
}

// share gives pending transitions to the waiting workers.
func (f *frontier) share(items []pending) {
	f.mu.Lock()
	f.stack = append(f.stack, items...)
	f.peak = max(f.peak, len(f.stack))
	f.cond.Broadcast()
	f.mu.Unlock()
}

// done says a worker's stack is empty; the last one ends the search.
func (f *frontier) done() {
	f.mu.Lock()
	f.active--
	if f.active == 0 {
		f.cond.Broadcast()
	}
	f.mu.Unlock()
}

func (f *frontier) halt() {
	f.mu.Lock()
	f.stopped = true
	f.cond.Broadcast()
	f.mu.Unlock()
}

// addNode allocates the state found at p from prev by via, with one
// unexplored edge per runnable thread; -1 when the search is full.
func (x *search) addNode(runnable []int, prev, via int32) int32 {
	id := x.nnodes.Add(1) - 1
	if id >= int64(x.opts.MaxStates) {
		return -1
	}
	nr := int64(len(runnable))
	first := x.nedges.Add(nr) - nr
	x.edges.grow(first + nr - 1)
	for i, t := range runnable {
		*x.edges.at(first + int64(i)) = edge{thread: int32(t), to: unexplored}
	}
	x.nodes.grow(id)
	*x.nodes.at(id) = node{parent: prev, via: uint16(via), first: uint32(first), n: uint16(nr)}
	return int32(id)
}

// setEdge records where the transition of thread at from led.
func (x *search) setEdge(from, thread, to int32) {
	n := x.nodes.at(int64(from))
	for i := range int64(n.n) {
		if e := x.edges.at(int64(n.first) + i); e.thread == thread {
			e.to = to
			return
		}
	}
	panic("exhaustive: a transition of a thread that could not run")
}

// worker runs transitions; it is the Chooser of its runs.
type worker struct {
	x      *search
	tab    *runtime.StateTable
	key    []byte
	pushed []pending
	runs   int
	// spare holds step-function states that runs dropped (a run's state
	// is nothing's once the run ended): copies of states are made in them.
	spare []*runtime.VMState
	// the current run
	path      []int
	pathState []int32
	stacks    []uint32
	prev      int32
	prevVia   int32
	stopped   bool
	verifyErr error
}

// run replays the way to p.state, takes p.thread and explores on from
// there (p.state -1: the first run, from the initial state).
func (w *worker) run(p pending) error {
	x := w.x
	w.path, w.pathState = w.path[:0], w.pathState[:0]
	w.prev, w.prevVia, w.stopped, w.stacks = -1, -1, false, p.stacks
	if p.state >= 0 {
		for s := p.state; ; {
			n := x.nodes.at(int64(s))
			if n.parent < 0 {
				break
			}
			w.path = append(w.path, int(n.via))
			w.pathState = append(w.pathState, n.parent)
			s = n.parent
		}
		slices.Reverse(w.path)
		slices.Reverse(w.pathState)
		w.path = append(w.path, int(p.thread))
		w.pathState = append(w.pathState, p.state)
	}
	r, err := runtime.RunChooser(x.sc, x.config(), w.tab, w)
	if err != nil {
		return err
	}
	w.runs++
	if w.verifyErr != nil || w.stopped {
		return w.verifyErr
	}
	switch r.Outcome {
	case runtime.Budget, "":
		x.stop(true, "a run ended without an outcome: "+r.Report.Message, nil)
		return nil
	}
	return x.ended(w.prev, w.prevVia, r.Outcome, r.Report.Kind, r.Defect())
}

// ended records a transition of via at prev that ended the run in outcome
// o with report kind and CPython defect d (prev -1: the run ended before
// its first scheduling point).
func (x *search) ended(prev, via int32, o runtime.Outcome, kind, d string) error {
	x.addKind(o, kind)
	if prev < 0 {
		x.mu.Lock()
		x.root, x.rootDefect = o, d
		x.mu.Unlock()
		return nil
	}
	to, ok := terminal(o, d)
	if !ok {
		return fmt.Errorf("exhaustive: unknown outcome %q (defect %q)", o, d)
	}
	x.setEdge(prev, via, to)
	return nil
}

// Choose is called at every scheduling point of a run.
func (w *worker) Choose(p *runtime.Point) (int, bool) {
	x := w.x
	if p.Step < len(w.path) {
		return w.replay(p)
	}
	if x.halted.Load() {
		w.stopped = true
		return 0, true
	}
	w.key = p.AppendKey(w.key[:0])
	id, isNew, ok := x.admit(w.key, p.Runnable, w.prev, w.prevVia)
	if !ok || !isNew {
		w.stopped = true
		return 0, true
	}
	first := p.Runnable[0]
	if slices.Contains(p.Runnable, p.Cur) {
		first = p.Cur
	}
	if len(p.Runnable) > 1 {
		stacks := p.Stacks(nil)
		for i := len(p.Runnable) - 1; i >= 0; i-- {
			if r := p.Runnable[i]; r != first {
				w.pushed = append(w.pushed, pending{state: id, thread: int32(r), stacks: stacks})
			}
		}
	}
	w.prev, w.prevVia = id, int32(first)
	return first, false
}

// admit looks a state's key up in the visited set, adds it as a new
// state with one unexplored edge per runnable thread if it is not there,
// and records the transition of via at prev into it. ok is false when a
// bound stopped the search.
func (x *search) admit(key []byte, runnable []int, prev, via int32) (id int32, isNew, ok bool) {
	id, isNew = x.vis.insert(key, func() int32 {
		if len(key) > x.opts.MaxKeyBytes {
			return -2
		}
		return x.addNode(runnable, prev, via)
	})
	switch {
	case id == -1:
		x.stop(true, fmt.Sprintf("the bound of %d states was reached", x.opts.MaxStates), nil)
		return 0, false, false
	case id == -2:
		x.stop(true, fmt.Sprintf("a state's key outgrew %d bytes after %d states (does the heap grow for ever?)", x.opts.MaxKeyBytes, x.nnodes.Load()), nil)
		return 0, false, false
	}
	if prev >= 0 {
		x.setEdge(prev, via, id)
	}
	return id, isNew, true
}

// replay takes the recorded choice at a point of the replayed prefix.
func (w *worker) replay(p *runtime.Point) (int, bool) {
	k := p.Step
	if w.x.opts.Verify {
		w.key = p.AppendKey(w.key[:0])
		if id, ok := w.x.vis.find(w.key); !ok || id != w.pathState[k] {
			w.verifyErr = fmt.Errorf("exhaustive: replay of %v reached another state at step %d (want state %d, got %d, known %v)", w.path, k, w.pathState[k], id, ok)
			w.stopped = true
			return 0, true
		}
	}
	if k == len(w.path)-1 {
		w.prev, w.prevVia = w.pathState[k], int32(w.path[k])
		p.SetStacks(w.stacks)
	}
	return w.path[k], false
}

// addKind records the report kind of a terminal transition into o.
func (x *search) addKind(o runtime.Outcome, kind string) {
	x.mu.Lock()
	if i, ok := slices.BinarySearch(x.kinds[o], kind); !ok {
		x.kinds[o] = slices.Insert(x.kinds[o], i, kind)
	}
	x.mu.Unlock()
}
