package runtime

// The issue-10 statements of the v2 language, and the model rules behind
// them. Each rule cites the CPython (or platform) behaviour it stands for;
// docs/scenario-language.md ("v2 syntax") records the choices.
//
//   - NAME[N] replication: a spawn or join of NAME addresses every copy,
//     in index order, one scheduling point apart (N Thread.start() calls).
//   - if finalizing: Py_IsFinalizing() / sys.is_finalizing(), true once
//     the flag is set (step 4) and after; it needs no GIL. The statement's
//     own scheduling point comes before the read, and the chosen block's
//     first statement has its own after it, so the check races with the
//     flag as the real time-of-check/time-of-use does.
//   - until E: a loop that checks event E before each pass (a scheduling
//     point between passes), "poll until the shutdown event is set".
//   - cleanup unwind: a frame item that runs only when the forced unwind
//     (pthread_exit, glibc's abi::__forced_unwind) passes through the frame,
//     not when the frame returns or a Python exception leaves it.
//   - park: the thread blocks for ever on purpose, keeping its stack, the
//     locks it holds (the GIL included, if it holds it) and its thread
//     state. A parked thread counts as hung: a wait on it is a deadlock on a
//     hung thread, and a stdout lock it holds makes main's flush fatal
//     (bpo-23309).
//   - atthreadexit { }: a thread-local destructor (C++ thread_local,
//     pthread key destructor, threading.local value). Running the statement
//     registers the block, once per statement and thread, as constructing a
//     thread_local does. The blocks run last registered first, when the
//     thread ends normally or by the forced unwind (glibc runs TLS
//     destructors after the unwind), without the GIL (the thread has
//     released it); not when it is terminated, hung or parked. Where
//     finalization clears the thread states of threads still alive (3.8 at
//     step 7, 3.9-3.13: Python/pystate.c PyThreadState_Clear drops
//     tstate->dict), the blocks of such a thread run on main, with main's
//     GIL, at that point; 3.14 does not clear a live thread's state there.
//     A forced unwind that starts inside one aborts (destructors are
//     noexcept).
//   - native nounwind: a Rust extern "C" frame. A forced unwind reaching it
//     aborts (RFC 2945 "C-unwind"; Rust 1.81 aborts on unwinding out of an
//     extern "C" function, rust-lang/rust#116088), reported as kind
//     nounwind.
//   - after_finalize { }: runs on main after step 7 (Py_AtExit functions,
//     atexit(3) handlers, C++ static destructors). The interpreter and the
//     GIL are gone (_PyEval_FiniGIL): main holds no GIL and no thread state
//     and runs as a plain OS thread. Touching an object, printing or
//     running Python code is corruption; set, unlock, lock, wait, io, yield
//     and join are C-level and fine; ensure builds a thread state in a freed
//     interpreter (gh-124619, grpc#17621): corruption; acquire restores
//     main's freed thread state: corruption. The destroyed GIL stays locked,
//     so a thread that waits for it is woken only by its timed wait's
//     must-exit check (3.9+), which meets the policy.
//   - debug facet: a debug build (or -X dev, PYTHONMALLOC=debug): a DECREF
//     (decref, guard, a smart pointer's release) or a use without the GIL is
//     a fatal error, abort, instead of silent corruption
//     (_PyMem_DebugCheckGIL, bpo-26558, 3.6; _Py_EnsureTstateNotNULL,
//     Include/internal/pycore_pystate.h, 3.10).
//   - the take_gil window: in 3.9-3.12, take_gil checks must-exit and then
//     reads tstate->interp; the two are separate scheduling points. A
//     thread that passed the check before the flag and reads its state
//     after finalization freed it is corruption (cpython#110052: plain
//     daemon threads crash at random at exit, interp=0xdddd... in debug
//     builds). 3.8 has its own read after acquiring (bpo-39877, gil.go);
//     3.14 refcounts thread states (gh-124878), so the read is safe. 3.13 is
//     given no window, as the issue reads cpython#110052 (3.9-3.12); whether
//     3.13's take_gil still reads the state there is unchecked (see docs).
//     The window point exists only under 3.9-3.12 and for threads other
//     than main, so that other presets keep their schedules.

import (
	"fmt"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Report kinds of the v2 rules.
const (
	KindFatalNoGIL     = "fatal-no-gil"     // debug build: DECREF or use without the GIL
	KindNounwind       = "nounwind"         // forced unwind through a Rust extern "C" frame
	KindAfterFinalize  = "after-finalize"   // Python-level work after Py_FinalizeEx returned
	KindTakeGILWindow  = "take-gil-window"  // cpython#110052
	PhaseAfterFinalize = "after-finalize"   // main's phase while it runs after_finalize blocks
	tlsNote            = "atthreadexit of " // trace note before a thread-local destructor runs
)

// v2State is the interpreter state of the v2 statements.
type v2State struct {
	tls           map[int]*tlsList // registered atthreadexit blocks, by thread id
	afterFinalize bool             // main runs after_finalize blocks
}

type tlsList struct {
	blocks []*scenario.Stmt
	seen   map[*scenario.Stmt]bool
}

// doV2 runs the v2 statements, and a spawn or join of a replicated block;
// it reports whether it ran st. exec.go's do calls it first.
func (in *Interp) doV2(t *thread, st *scenario.Stmt) bool {
	if in.v2.afterFinalize && t.id == 0 && in.afterFinalizeStmt(t, st) {
		return true
	}
	switch st.Op {
	case scenario.OpSpawn, scenario.OpJoin:
		return in.group(t, st)
	case scenario.OpIf:
		body, v := st.Else, "false"
		if in.finalizing {
			body, v = st.Body, "true"
		}
		in.event(t, EvNote, "Py_IsFinalizing() is "+v)
		in.exec(t, body)
	case scenario.OpUntil:
		for first := true; ; first = false {
			if !first {
				in.point(t)
			}
			if in.events[st.Name] {
				break
			}
			in.exec(t, st.Body)
		}
	case scenario.OpPark:
		in.park(t)
	case scenario.OpAtThreadExit:
		in.registerTLS(t, st)
	default:
		return false
	}
	return true
}

// group runs a spawn or join of a replicated block as one of each copy, in
// index order, with a scheduling point between them. It reports false for
// a name that is not a replicated block.
func (in *Interp) group(t *thread, st *scenario.Stmt) bool {
	if in.sc.Thread(st.Name) >= 0 {
		return false
	}
	ids := in.sc.Named(st.Name)
	if len(ids) == 0 {
		return false
	}
	for i, id := range ids {
		if i > 0 {
			t.setIter(i) // which copy is next is position (state.go)
			in.point(t)
		}
		c := *st
		c.Name = in.threads[id].name
		in.do(t, &c)
	}
	return true
}

// park blocks t for ever, keeping everything it holds. It does not return.
func (in *Interp) park(t *thread) {
	t.hung = true
	in.event(t, EvPark, "blocks for ever, keeping its stack, its locks and the GIL if it holds it")
	in.ctl.Block(t.id, chaos.Forever("nothing: "+t.name+" is parked"))
	panic("unreachable: a parked thread ran again")
}

func (in *Interp) registerTLS(t *thread, st *scenario.Stmt) {
	if in.v2.tls == nil {
		in.v2.tls = map[int]*tlsList{}
	}
	l := in.v2.tls[t.id]
	if l == nil {
		l = &tlsList{seen: map[*scenario.Stmt]bool{}}
		in.v2.tls[t.id] = l
	}
	if !l.seen[st] {
		l.seen[st] = true
		l.blocks = append(l.blocks, st)
	}
}

// atThreadExit runs t's thread-local destructors as t ends, unless it was
// terminated. endThread calls it first.
func (in *Interp) atThreadExit(t *thread, how string) {
	if how != "terminated" {
		in.runTLS(t, t)
	}
}

// clearThreadLocals runs the thread-local destructors of o, a thread whose
// state finalization clears, on main (3.8 at step 7, 3.9-3.13 after the
// flag: PyThreadState_Clear drops tstate->dict). The tstate-freeing loop
// of finalize calls it for each thread whose state it frees.
func (in *Interp) clearThreadLocals(main, o *thread) {
	if in.preset.Release.Minor >= 14 || o.ended {
		return
	}
	in.runTLS(main, o)
}

// runTLS runs the registered atthreadexit blocks of owner on runner, last
// registered first, each once.
func (in *Interp) runTLS(runner, owner *thread) {
	l := in.v2.tls[owner.id]
	for l != nil && len(l.blocks) > 0 {
		st := l.blocks[len(l.blocks)-1]
		l.blocks = l.blocks[:len(l.blocks)-1]
		prev := runner.cur
		runner.cur = st
		in.event(runner, EvNote, tlsNote+owner.name)
		runner.inCleanup++
		if e := in.catchRaise(runner, st.Body); e != nil {
			in.event(runner, EvNote, "exception ignored in a thread-local destructor: "+e.msg)
		}
		runner.inCleanup--
		if runner != owner && !runner.hasGIL {
			// Run on main, which called it holding the GIL, in the
			// middle of finalization: like an atexit handler or a
			// teardown block that returns without the GIL, main's own
			// failure (a tp_clear of tstate->dict that released the GIL
			// and left it released).
			in.haltAt(runner, st, Corruption, KindNoGIL, fmt.Sprintf("a thread-local destructor of %s, run on main as finalization cleared its thread state, returned into finalization without the GIL", owner.name))
		}
		runner.cur = prev
	}
}

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
		in.event(t, EvDropGIL, "destroyed with the interpreter (_PyEval_FiniGIL)")
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
		in.event(t, EvNote, "guard "+st.Name+": finalizing, DECREF skipped")
		return true
	case scenario.OpNew, scenario.OpLocal, scenario.OpPublish, scenario.OpIncref,
		scenario.OpDecref, scenario.OpUse, scenario.OpPrint, scenario.OpWork:
		in.noGILAt(t, st, fmt.Sprintf("%s: %s after Py_FinalizeEx returned: the interpreter and its objects are freed", t.name, stmtOp(st)))
	case scenario.OpAcquire:
		in.halt(t, Corruption, KindUAFTstate, t.name+": acquire after Py_FinalizeEx returned restores a freed thread state into a destroyed GIL")
	}
	return false
}

// noGILAt ends the run for st, which needs the GIL, run by t without it:
// corruption, or, in a debug build, for a DECREF or a use, a fatal error.
func (in *Interp) noGILAt(t *thread, st *scenario.Stmt, msg string) {
	kind := KindNoGIL
	if in.v2.afterFinalize && t.id == 0 {
		kind = KindAfterFinalize
	}
	if in.preset.Debug && st != nil && debugFatalOp(st.Op) {
		in.haltAt(t, st, Abort, KindFatalNoGIL, "Fatal Python error: the function must be called with the GIL held (debug build): "+msg)
	}
	in.haltAt(t, st, Corruption, kind, msg)
}

// debugFatalOp reports the operations a debug build checks: DECREFs (a
// decref, a guard, a smart pointer's release) and uses.
func debugFatalOp(op scenario.Op) bool {
	switch op {
	case scenario.OpDecref, scenario.OpGuard, scenario.OpHold, scenario.OpUse:
		return true
	}
	return false
}

// haltNoUnwind ends the run when the forced unwind reaches a frame that
// cannot unwind: noexcept (std::terminate) or nounwind (Rust extern "C").
func (in *Interp) haltNoUnwind(t *thread, f *scenario.Stmt) {
	if f.Noexcept {
		in.haltAt(t, f, Abort, KindNoexcept, t.name+": forced unwind reached a noexcept native frame: std::terminate")
	}
	in.haltAt(t, f, Abort, KindNounwind, t.name+": forced unwind reached a Rust extern \"C\" (nounwind) frame: the process aborts")
}

// takeGILWindow is the second scheduling point of take_gil under 3.9-3.12:
// after the must-exit check, the read of the thread's own state. gil.go's
// takeGIL calls it right after the entry check.
func (in *Interp) takeGILWindow(t *thread, site string) {
	if m := in.preset.Release.Minor; t.id == 0 || in.finalizing || m < 9 || m > 12 || !t.tstate {
		return
	}
	in.point(t)
	if t.tstateFreed {
		in.halt(t, Corruption, KindTakeGILWindow, fmt.Sprintf("%s passed take_gil's must-exit check at %s before the flag, then read its thread state (tstate->interp) after finalization freed it (cpython#110052)", t.name, site))
	}
}
