package exhaustive

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The search over the step function (runtime.Machine, docs/step-function.md):
// the same depth-first order as the replay search (at a new state the
// thread that reached it first, then the others lowest first), but a
// branch goes on from a copy of its parent's state instead of a replay.
// The state graph, the liveness analysis and the lasso witnesses are the
// replay search's. Each terminal witness is replayed once in the
// controlled mode of the goroutine model, which gives its Result and
// checks that the two implementations agree on it.

type vmPending struct {
	state  int32
	thread int32
}

type vmSearch struct {
	x       *search
	m       *runtime.Machine
	states  map[int32]*runtime.VMState // states with branches still to take
	left    map[int32]int              // how many
	todo    []vmPending
	runBuf  []int
	witness map[runtime.Outcome][]int
	kind    map[runtime.Outcome]string // the witness's report kind
}

// exploreVM is Explore on the step function.
func exploreVM(s *scenario.Scenario, m *runtime.Machine, opts Options) (*Result, error) {
	x := &search{sc: s, opts: opts, tab: runtime.NewStateTable(s), visited: map[string]int32{},
		res: &Result{Scenario: s.Name, Policy: opts.Policy, Outcomes: map[runtime.Outcome]*Witness{}}}
	v := &vmSearch{x: x, m: m, states: map[int32]*runtime.VMState{}, left: map[int32]int{}, witness: map[runtime.Outcome][]int{}, kind: map[runtime.Outcome]string{}}
	init, term := m.Initial()
	if term != nil {
		v.terminal(-1, -1, term)
	} else {
		v.visit(-1, -1, init, 0)
	}
	for len(v.todo) > 0 && !x.full {
		p := v.todo[len(v.todo)-1]
		v.todo = v.todo[:len(v.todo)-1]
		st := v.take(p.state)
		if term := m.Step(st, int(p.thread)); term != nil {
			v.terminal(p.state, p.thread, term)
			continue
		}
		v.visit(p.state, p.thread, st, int(p.thread))
	}
	r := x.res
	r.States, r.Complete = len(x.nodes), !x.full
	if x.full && r.Reason == "" {
		r.Reason = fmt.Sprintf("the bound of %d states was reached", opts.MaxStates)
	}
	if err := v.witnesses(); err != nil {
		return nil, err
	}
	if err := x.liveness(); err != nil {
		return nil, err
	}
	return r, nil
}

// take returns the state of node id for one of its branches: a copy while
// other branches are left, the stored one for the last.
func (v *vmSearch) take(id int32) *runtime.VMState {
	st := v.states[id]
	if v.left[id]--; v.left[id] > 0 {
		return st.Clone()
	}
	delete(v.states, id)
	delete(v.left, id)
	return st
}

// visit goes on from st, reached from parent by thread via (cur is the
// thread that reached it), along first choices until a known state or a
// terminal.
func (v *vmSearch) visit(parent, via int32, st *runtime.VMState, cur int) {
	x, m := v.x, v.m
	for {
		runnable := m.Runnable(st, v.runBuf[:0])
		v.runBuf = runnable
		if term := m.End(st, runnable); term != nil {
			v.terminal(parent, via, term)
			return
		}
		x.key = st.AppendKey(x.key[:0])
		if id, ok := x.visited[string(x.key)]; ok {
			x.addEdge(parent, via, id)
			return
		}
		if !v.room() {
			return
		}
		id := int32(len(x.nodes))
		n := node{parent: parent, via: via, runnable: make([]int32, len(runnable))}
		for i, r := range runnable {
			n.runnable[i] = int32(r)
		}
		x.nodes = append(x.nodes, n)
		x.visited[string(x.key)] = id
		x.addEdge(parent, via, id)
		first := runnable[0]
		if slices.Contains(runnable, cur) {
			first = cur
		}
		if len(runnable) > 1 {
			v.states[id], v.left[id] = st.Clone(), len(runnable)-1
			for i := len(runnable) - 1; i >= 0; i-- {
				if runnable[i] != first {
					v.todo = append(v.todo, vmPending{state: id, thread: int32(runnable[i])})
				}
			}
		}
		parent, via, cur = id, int32(first), first
		if term := m.Step(st, first); term != nil {
			v.terminal(parent, via, term)
			return
		}
	}
}

// room checks the bounds before a new state, as Choose does.
func (v *vmSearch) room() bool {
	x := v.x
	if len(x.nodes) >= x.opts.MaxStates {
		x.full = true
		return false
	}
	if x.keyBytes += len(x.key); x.keyBytes > x.opts.MaxKeyBytes {
		x.full = true
		x.res.Reason = fmt.Sprintf("the states' keys outgrew %d MiB after %d states (does the heap grow for ever?)", x.opts.MaxKeyBytes>>20, len(x.nodes))
		return false
	}
	return true
}

// terminal records a transition that ended the run.
func (v *vmSearch) terminal(parent, via int32, term *runtime.Terminal) {
	x := v.x
	x.addEdge(parent, via, -1)
	w := x.res.Outcomes[term.Outcome]
	if w == nil {
		w = &Witness{Outcome: term.Outcome}
		x.res.Outcomes[term.Outcome] = w
		sched := []int{}
		if parent >= 0 {
			sched = append(x.pathTo(parent), int(via))
		}
		v.witness[term.Outcome], v.kind[term.Outcome] = sched, term.Kind
	}
	w.Count++
	w.addKind(term.Kind)
	if d := term.Defect(); d != "" {
		w.Defects++
		w.Defect = cmp.Or(w.Defect, d)
	}
}

// witnesses replays each terminal witness in the controlled mode of the
// goroutine model for its Result, and fails when the model ends it
// otherwise than the step function did (another outcome or report kind).
func (v *vmSearch) witnesses() error {
	for _, o := range runtime.Outcomes {
		sched, ok := v.witness[o]
		if !ok {
			continue
		}
		cfg := v.x.config()
		cfg.Schedule = &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: sched}
		r, err := runtime.Run(v.x.sc, cfg)
		if err != nil {
			return err
		}
		v.x.res.Runs++
		// The step function tells deadlocks apart only by the outcome
		// (End), not by how the wait-for chain ends.
		if r.Outcome != o || r.Diverged >= 0 || (o != runtime.Deadlock && r.Report.Kind != v.kind[o]) {
			return fmt.Errorf("exhaustive: the step function and the goroutine model disagree on %q under policy %s: schedule %v ends in %s (%s) for the step function, in %s (%s, diverged at %d) for the model: %w",
				v.x.sc.Name, v.x.opts.Policy, sched, o, v.kind[o], r.Outcome, r.Report.Kind, r.Diverged, runtime.ErrInternal)
		}
		v.x.res.Outcomes[o].Schedule, v.x.res.Outcomes[o].Result = slices.Clone(r.Schedule), r
	}
	return nil
}
