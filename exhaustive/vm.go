package exhaustive

import (
	"cmp"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// The search over the step function (runtime.Machine, docs/step-function.md):
// the same search, visited set, frontier and graph as the replay search,
// but a pending branch carries its state (runtime.VMState, shared
// read-only by the branches of one state: vmParent) and goes on from a
// copy of it instead of a replay; the last branch to start takes the
// state itself. At a new state the thread that reached it goes on
// at once and the others are pushed, as in Choose. Terminal witnesses are
// then run in the controlled mode of the goroutine model (terminals), which
// gives their Result and fails when the two implementations disagree.

// runVM explores from p: the initial state (p.state -1) or p.thread's
// transition from p.vm, then first choices until a known state, a bound
// or the end of the run.
func (w *worker) runVM(p pending) error {
	x, m := w.x, w.x.m
	w.runs++
	var st *runtime.VMState
	var term *runtime.Terminal
	prev, via, cur := int32(-1), int32(-1), 0
	if p.state < 0 {
		st, term = m.Initial()
	} else {
		st = p.vm.take(w)
		term = m.Step(st, int(p.thread))
		prev, via, cur = p.state, p.thread, int(p.thread)
	}
	// The run's state is dropped when the run ends: a copy reuses it.
	defer w.drop(st)
	var runnable []int
	for {
		if term == nil {
			runnable = m.Runnable(st, runnable[:0])
			term = m.End(st, runnable)
		}
		if term != nil {
			return x.ended(prev, via, term.Outcome, term.Kind, term.Defect())
		}
		if x.halted.Load() {
			return nil
		}
		local := false
		if x.reduce && len(runnable) > 1 {
			runnable = ample(m, st, runnable)
			local = len(runnable) == 1
		}
		w.key = st.AppendKey(w.key[:0])
		id, isNew, ok := x.admit(w.key, runnable, prev, via)
		if !ok || !isNew {
			return nil
		}
		first := runnable[0]
		if slices.Contains(runnable, cur) {
			first = cur
		}
		if len(runnable) > 1 {
			parent := &vmParent{st: w.clone(st), bytes: int64(len(w.key)) + stateOverhead}
			if !x.hold(parent.bytes) {
				return nil
			}
			parent.left.Store(int32(len(runnable) - 1))
			for i := len(runnable) - 1; i >= 0; i-- {
				if r := runnable[i]; r != first {
					w.pushed = append(w.pushed, pending{state: id, thread: int32(r), vm: parent})
				}
			}
		}
		prev, via, cur = id, int32(first), first
		var before *runtime.VMState
		if local && x.opts.Verify {
			before = st.Clone()
		}
		term = m.Step(st, first)
		if before != nil && (term != nil || !before.SameBut(st, first)) {
			return fmt.Errorf("exhaustive: the local step of thread %d at state %d changed more than its thread (runtime.Machine.LocalStep is wrong)", first, id)
		}
	}
}

// ample is the partial-order reduction's choice at a state (docs/exhaustive.md):
// the lowest runnable thread whose next step is local
// (runtime.Machine.LocalStep) alone, or every runnable thread.
func ample(m *runtime.Machine, st *runtime.VMState, runnable []int) []int {
	for _, t := range runnable {
		if m.LocalStep(st, t) {
			return append(runnable[:0], t)
		}
	}
	return runnable
}

// vmParent is the state a branching state's pending branches start from.
// Each branch but the last to start works on a copy; the last takes the
// state itself, which no other branch reads any more: of a state with two
// runnable threads, one copy instead of two.
type vmParent struct {
	st *runtime.VMState
	// left counts the branches that have not copied st yet. A branch
	// lowers it after its copy, so one that finds it at 1 is the last
	// reader (branches of one state may start on different workers).
	left atomic.Int32
	// bytes is what the search counts st as while it is held (hold).
	bytes int64
}

// stateOverhead is what a held state is counted as beyond its key's
// length: its struct, slice headers and the parent's.
const stateOverhead = 256

// hold counts b more bytes of held states, and stops the search when they
// pass Options.MaxHeldBytes (false).
func (x *search) hold(b int64) bool {
	limit := cmp.Or(x.opts.MaxHeldBytes, DefaultMaxHeldBytes)
	if x.held.Add(b) <= limit {
		return true
	}
	x.stop(true, fmt.Sprintf("the pending branches' states outgrew %d bytes after %d states (does a state grow along a path for ever?)", limit, x.nnodes.Load()), nil)
	return false
}

// take returns the state a branch that w runs starts from, its own to
// change.
func (p *vmParent) take(w *worker) *runtime.VMState {
	if p.left.Load() == 1 {
		p.left.Store(0)
		w.x.held.Add(-p.bytes)
		return p.st
	}
	st := w.clone(p.st)
	p.left.Add(-1)
	return st
}

// clone copies st, into one of w's spare states when it has one.
func (w *worker) clone(st *runtime.VMState) *runtime.VMState {
	n := len(w.spare)
	if n == 0 {
		return st.Clone()
	}
	c := st.CloneInto(w.spare[n-1])
	w.spare = w.spare[:n-1]
	return c
}

// maxSpare bounds a worker's spare states. A run drops one state and
// copies about one (a state with two runnable threads is copied once for
// its two branches), so a few suffice.
const maxSpare = 16

// drop keeps st, which nothing uses any more, as a spare.
func (w *worker) drop(st *runtime.VMState) {
	if len(w.spare) < maxSpare {
		w.spare = append(w.spare, st)
	}
}
