package exhaustive

import (
	"fmt"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// The search over the step function (runtime.Machine, docs/step-function.md):
// the same search, visited set, frontier and graph as the replay search,
// but a pending branch carries its state (runtime.VMState, shared
// read-only by the branches of one state) and goes on from a copy of it
// instead of a replay. At a new state the thread that reached it goes on
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
		st = p.vm.Clone()
		term = m.Step(st, int(p.thread))
		prev, via, cur = p.state, p.thread, int(p.thread)
	}
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
			parent := st.Clone()
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
