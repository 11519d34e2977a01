package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/chaos"
)

// The thread-exit policies of the bpo-42969 discussion: what a thread that
// is not the finalizing thread does when it (re)takes the GIL once the
// finalizing flag is set.
const (
	PolicyAbort     = "abort"     // the process aborts
	PolicyExit      = "exit"      // the process exits at once; main's cleanup is lost
	PolicyHang      = "hang"      // the thread blocks for ever (CPython 3.14, gh-87135)
	PolicyUnwind    = "unwind"    // pthread_exit: forced unwind through native frames
	PolicyTerminate = "terminate" // _endthreadex: the thread ends, its stack is freed
)

// The exit callbacks (the proposed Py_SetThreadExitCallback). hang, exit and
// abort act like the policies; a callback that returns or ends the thread
// breaks its contract.
const (
	CallbackReturn          = "return"
	CallbackTerminateThread = "terminate-thread"
)

// strike applies the thread-exit policy (or the exit callback) to t, which
// met the must-exit check at site. It does not return.
func (in *Interp) strike(t *thread, site, when string) {
	if in.result.Strikes == 0 {
		in.result.FirstStrike = in.ctl.Steps()
	}
	in.result.Strikes++
	action := in.policy
	if in.sc.Callback != "" {
		action = in.sc.Callback
	}
	by := strikeByWords(in.sc.Callback != "", action)
	in.event(t, EvStrike, strikeEventWords(by, site, when))
	msg := strikeWords(t.name, site, when, by, action)
	switch action {
	case PolicyAbort:
		in.halt(t, Abort, KindPolicyAbort, msg)
	case PolicyExit:
		in.halt(t, LostCleanup, KindProcessExit, msg)
	case PolicyHang:
		if t.hasGIL {
			in.dropGIL(t)
		}
		t.hung = true
		in.event(t, EvHang, by)
		in.ctl.Block(t.id, chaos.Forever("nothing: "+t.name+" is hung by the exit policy"))
		panic("unreachable: a hung thread ran again")
	case PolicyUnwind:
		in.unwind(t)
	case PolicyTerminate:
		in.terminate(t)
	case CallbackReturn:
		in.halt(t, Contract, KindCallbackReturned, msg)
	case CallbackTerminateThread:
		in.halt(t, Contract, KindCallbackEndedThread, msg)
	default:
		panic("unknown policy " + action)
	}
}

// unwind is pthread_exit's forced unwind: drop the GIL, then run each native
// frame's hold and cleanup items, innermost frame first, items in reverse,
// without the GIL. A noexcept frame aborts before its items; a catchall frame
// swallows the unwind after its items (corruption, or an abort under glibc).
// An unwind that starts inside a cleanup body aborts: destructors are
// noexcept. Then the thread ends and its stack is freed.
func (in *Interp) unwind(t *thread) {
	if t.inCleanup > 0 {
		in.halt(t, Abort, KindUnwindInDestructor, unwindInCleanupWords(t.name))
	}
	if t.hasGIL {
		in.dropGIL(t)
	}
	t.unwinding = true
	in.event(t, EvUnwind, unwindEventWords(len(t.frames)))
	for len(t.frames) > 0 {
		f := t.frames[len(t.frames)-1]
		if f.stmt.Noexcept || f.stmt.Nounwind {
			in.haltNoUnwind(t, f.stmt) // v2stmt.go
		}
		in.runFrameItems(t, f)
		t.frames = t.frames[:len(t.frames)-1]
		if f.stmt.Catchall {
			if in.preset.CatchallAborts {
				in.haltAt(t, f.stmt, Abort, KindNotRethrown, notRethrownWords(t.name))
			}
			in.haltAt(t, f.stmt, Corruption, KindSwallowedUnwind, swallowedWords(t.name))
		}
	}
	in.endThread(t, "unwound")
}

// terminate is _endthreadex: the thread ends at once, runs nothing, keeps
// its locks, and its stack is freed.
func (in *Interp) terminate(t *thread) {
	if t.hasGIL {
		in.dropGIL(t)
	}
	t.frames = nil
	in.endThread(t, "terminated")
}
