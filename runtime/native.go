package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Native frames: native, hold and cleanup, and what the forced unwind
// (pthread_exit) does to them (exit.go's unwind walks them).

func init() {
	register(map[scenario.Op]func(in *Interp, t *thread, st *scenario.Stmt){
		scenario.OpNative:  (*Interp).native,
		scenario.OpHold:    (*Interp).hold,
		scenario.OpCleanup: (*Interp).cleanup,
	})
}

// native runs a C/C++ frame; at its end its items run in reverse order.
func (in *Interp) native(t *thread, st *scenario.Stmt) {
	f := &frame{stmt: st}
	t.frames = append(t.frames, f)
	depth := len(t.frames) - 1
	raised := in.catchRaise(t, st.Body)
	if raised != nil {
		t.raising++ // thread data: the items below may be scheduling points
	}
	in.leaveFrame(t, f, depth, raised != nil)
	if raised != nil {
		t.raising--
		// An exception leaves the frame normally: its items ran, and it
		// goes on to the enclosing Python-level block (spec v2).
		panic(*raised)
	}
	if len(t.frames) == 0 && t.kind != scenario.Foreign && !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, outermostNoGILWords(t.name))
	}
}

// leaveFrame runs the items of f, the frame at depth, and takes it off
// the thread's frames, also when an item's exception leaves it (the
// exception goes on to the enclosing Python-level block with the frame
// gone: native frames are left normally by exceptions, spec v2).
func (in *Interp) leaveFrame(t *thread, f *frame, depth int, raising bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(pyRaise); ok {
				t.frames = t.frames[:depth]
				if raising {
					t.raising--
				}
			}
			panic(r)
		}
	}()
	in.runFrameItems(t, f)
	t.frames = t.frames[:depth]
}

// runFrameItems releases a frame's smart pointers and runs its cleanup
// blocks, last first, with whatever GIL state the thread has.
// An exception raised inside a cleanup body ends that body; the other items
// still run, and the exception goes on once they have.
func (in *Interp) runFrameItems(t *thread, f *frame) {
	var raised *pyRaise
	for i := len(f.items) - 1; i >= 0; i-- {
		it := f.items[i]
		f.items = f.items[:i]
		if it.hold != nil {
			if !t.hasGIL {
				in.noGILAt(t, it.stmt, it.hold, smartNoGILWords(t.name, it.hold.name, t.unwinding))
			}
			in.decrefObject(t, it.hold, "smart pointer release")
			continue
		}
		if it.stmt.OnUnwind && !t.unwinding {
			continue // cleanup unwind: only on the forced unwind (v2stmt.go)
		}
		t.inCleanup++
		e := in.catchRaise(t, it.stmt.Body)
		t.inCleanup--
		if e != nil && raised == nil {
			raised = e
			t.raising++ // thread data, as in native
		}
	}
	if raised != nil {
		t.raising--
		panic(*raised)
	}
}

// hold makes a smart pointer to the object in the innermost native frame:
// it is released (a DECREF) when the frame ends or unwinds.
func (in *Interp) hold(t *thread, st *scenario.Stmt) {
	f := t.frames[len(t.frames)-1]
	if o := in.heap.bound[st.Name]; o != nil {
		f.items = append(f.items, frameItem{hold: o, stmt: st})
	}
}

// cleanup registers a cleanup block in the innermost native frame.
// "cleanup unwind" runs only when the forced unwind (pthread_exit, glibc's
// abi::__forced_unwind) passes through the frame, not when the frame
// returns or a Python exception leaves it.
func (in *Interp) cleanup(t *thread, st *scenario.Stmt) {
	f := t.frames[len(t.frames)-1]
	f.items = append(f.items, frameItem{stmt: st})
}

// haltNoUnwind ends the run when the forced unwind reaches a frame that
// cannot unwind: noexcept (std::terminate) or nounwind (Rust extern "C").
func (in *Interp) haltNoUnwind(t *thread, f *scenario.Stmt) {
	if f.Noexcept {
		in.haltAt(t, f, Abort, KindNoexcept, noexceptWords(t.name))
	}
	in.haltAt(t, f, Abort, KindNounwind, nounwindWords(t.name))
}
