package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// after_finalize { }: runs on main after step 7 (Py_AtExit functions,
// atexit(3) handlers, C++ static destructors). The interpreter and the GIL
// are gone (_PyEval_FiniGIL): main holds no GIL and no thread state and
// runs as a plain OS thread. Touching an object, printing or running
// Python code is corruption; set, unlock, lock, wait, io, yield and join
// are C-level and fine; ensure builds a thread state in a freed
// interpreter (gh-124619, grpc#17621): corruption; acquire restores main's
// freed thread state: corruption. The destroyed GIL stays locked, so a
// thread that waits for it is woken only by its timed wait's must-exit
// check (3.9+), which meets the policy. Whatever main runs there, its
// failure is its own (Result.ByMainAfterFinalize).
//
// The debug facet (a debug build, or -X dev, PYTHONMALLOC=debug; spec v3,
// "Corrections to v2"): only DECREFs (decref, guard, a smart pointer's
// release) are checked, never a use. From 3.12 a DECREF without a thread
// state is a fatal error (_Py_EnsureTstateNotNULL in the debug build's
// reference accounting; the current thread state is thread-local there).
// Up to 3.11 a DECREF that does not free the object only decrements a
// global count, and one that frees it reaches the debug allocator hooks'
// GIL check (_PyMem_DebugFree, bpo-26558) only when no thread holds the
// GIL: otherwise the deallocation runs first on the GIL holder's thread
// state, which is process-wide there, and crashes or corrupts memory
// (real 3.11.2 release, -X dev and python3.11-dbg: SIGSEGV in 2 of 4 runs
// of a freeing DECREF in the forced unwind at exit, never the allocator's
// GIL error; research note section 14).

// afterFinalize runs the after_finalize blocks on main after step 7. It
// does nothing (not even a scheduling point) for a scenario without them.
func (in *Interp) afterFinalize(t *thread) {
	if len(in.sc.AfterFinalize) == 0 {
		return
	}
	in.setPhase(t, PhaseAfterFinalize)
	// The GIL is destroyed with the interpreter: its lock stays taken (by
	// main, as the model records it) and main runs as a plain OS thread.
	in.v2.afterFinalize = true
	if t.hasGIL {
		in.event(t, EvDropGIL, finiGILWords)
	}
	t.hasGIL, t.tstate, t.kind = false, false, scenario.Foreign
	for _, b := range in.sc.AfterFinalize {
		in.exec(t, b.Body)
	}
	t.cur = nil
}

// afterFinalizeStmt runs the statements that mean something else after
// Py_FinalizeEx returned; it reports whether it ran st.
func (in *Interp) afterFinalizeStmt(t *thread, st *scenario.Stmt) bool {
	switch st.Op {
	case scenario.OpGuard:
		// Py_IsFinalizing() is still true: the guard skips its DECREF.
		in.event(t, EvNote, guardSkippedWords(st.Name))
		return true
	case scenario.OpNew, scenario.OpLocal, scenario.OpPublish, scenario.OpIncref,
		scenario.OpDecref, scenario.OpUse, scenario.OpPrint, scenario.OpWork:
		in.noGILAt(t, st, in.decrefTarget(st), afterFinalizeWords(t.name, stmtOp(st)))
	case scenario.OpAcquire:
		in.halt(t, Corruption, KindUAFTstate, afterFinalizeAcquireWords(t.name))
	}
	return false
}

// noGILAt ends the run for st, which needs the GIL, run by t without it:
// corruption, or, in a debug build, for a DECREF of o (nil for other
// statements) that the build checks, a fatal error.
func (in *Interp) noGILAt(t *thread, st *scenario.Stmt, o *object, msg string) {
	kind := KindNoGIL
	if in.v2.afterFinalize && t.id == 0 {
		kind = KindAfterFinalize
	}
	if in.preset.Debug && st != nil && debugDecrefOp(st.Op) {
		switch {
		case in.preset.DebugTstateCheck:
			in.haltAt(t, st, Abort, KindFatalNoGIL, debugNoGILWords(true, msg))
		case o != nil && !o.freed && o.refs == 1 && !in.v2.afterFinalize:
			// Up to 3.11: only a DECREF that frees is checked, by the
			// debug allocator's GIL check (_PyMem_DebugFree /
			// _PyMem_DebugCheckGIL: PyGILState_Check of the calling
			// thread, whoever else holds the GIL). Real python3.11d
			// (3.11.2): a forced unwind's freeing DECREF at exit aborted
			// with this error in 12 of 12 conform runs of
			// raii-decref-unwind and greenlet-325 (docs/conformance.md,
			// "Debug builds").
			in.haltAt(t, st, Abort, KindFatalNoGIL, debugNoGILWords(false, msg))
		}
	}
	in.haltAt(t, st, Corruption, kind, msg)
}

// debugDecrefOp reports the operations a debug build checks: DECREFs (a
// decref, a guard, a smart pointer's release). A use is never checked.
func debugDecrefOp(op scenario.Op) bool {
	switch op {
	case scenario.OpDecref, scenario.OpGuard, scenario.OpHold:
		return true
	}
	return false
}

// decrefTarget is the object a decref or guard statement DECREFs now, or
// nil.
func (in *Interp) decrefTarget(st *scenario.Stmt) *object {
	if st == nil || (st.Op != scenario.OpDecref && st.Op != scenario.OpGuard) {
		return nil
	}
	return in.heap.bound[st.Name]
}
