package runtime

import (
	"fmt"
	"strings"
)

// The words of reports and wait-for chains that both engines give: the
// goroutine model (interp.go) and the step function's narrated runs
// (vm_run.go) call these, so that each wording is written once.

// switchWaitString is switchWait.String.
const switchWaitString = "the FORCE_SWITCHING hand-off (another thread to take the GIL)"

// startWaitString is the wait of Thread.start for thread name.
func startWaitString(name string) string {
	return "Thread.start of " + name + " (self._started.wait())"
}

// nonDaemonWaitString is threading._shutdown's wait for thread name.
func nonDaemonWaitString(name string) string {
	return "non-daemon thread " + name + " to end (threading._shutdown)"
}

// guardWaitWords is guardWait.String of the held guards' names.
func guardWaitWords(names []string) string {
	return "the interpreter guards to be closed: " + strings.Join(names, ", ")
}

// leakedGuardWhy, scopedGuardWhy and heldGuardWhy are guardWait.Never's
// reasons for one held guard.
func leakedGuardWhy(name, holder string) string {
	return fmt.Sprintf("guard %s taken by %s was leaked (its name was taken again while it was held): nothing can close it", name, holder)
}

func scopedGuardWhy(holder, state, guard string) string {
	return fmt.Sprintf("%s, %s, holds %s in a block it never leaves", holder, state, guard)
}

func heldGuardWhy(name, holder, state, why string) string {
	return fmt.Sprintf("guard %s is held by %s (%s): %s", name, holder, state, why)
}

// nobodyWhy is nobodyMay's reason: no live thread can still run op; gone
// names the threads that would have.
func nobodyWhy(op string, gone []string) string {
	verb, _, _ := strings.Cut(op, " ")
	if len(gone) == 0 {
		return "no thread " + verb + "s it"
	}
	return "no live thread can still " + verb + " it; " + strings.Join(gone, ", ") + " would have"
}

// The reports of halts, by the rule that halts: each takes the names it
// words (the failing thread's first).

func policyWords(name, site, when string) string {
	return fmt.Sprintf("%s met the must-exit check at %s (%s) during finalization", name, site, when)
}

// strikeWords is strike's report of action ("" for a policy that reports
// nothing: hang, unwind, terminate).
func strikeWords(name, site, when, by, action string) string {
	msg := policyWords(name, site, when)
	switch action {
	case PolicyAbort:
		return msg + ": " + by + " aborts the process"
	case PolicyExit:
		return msg + ": " + by + " exits the process before main's finalization finished"
	case CallbackReturn:
		return msg + ": the exit callback returned into the interpreter"
	case CallbackTerminateThread:
		return msg + ": the exit callback ended the thread"
	}
	return msg
}

func takeGILWindowWords(name, site string) string {
	return fmt.Sprintf("%s passed take_gil's must-exit check at %s before the flag, then read its thread state (tstate->interp) after finalization freed it (cpython#110052)", name, site)
}

func dropGILWindowWords(name, site string) string {
	return fmt.Sprintf("%s met the must-exit check after acquiring the GIL at %s and handed its thread state, freed by finalization, to drop_gil, which read tstate->interp for a pending drop request (FORCE_SWITCHING; cpython#110052)", name, site)
}

func freedTstateWords(name string) string {
	return name + " read its thread state (async_exc) after acquiring the GIL; finalization step 7 freed it"
}

func exitWords(code int) string {
	return fmt.Sprintf("the process exited with code %d after finalization", code)
}

func returnedNoGILWords(what string) string {
	return what + " returned into finalization without the GIL"
}

func closedGuardWords(name, guard string) string {
	return fmt.Sprintf("%s: ensure %s (PyThreadState_Ensure) with guard %s closed or refused: undefined behaviour", name, guard, guard)
}

func uafStackWords(name, op, obj, owner, freedBy string) string {
	return fmt.Sprintf("%s: %s of %s, a local on the stack of %s, which was %s (stack use after free)", name, op, obj, owner, freedBy)
}

func uafWords(name, op, obj, freedBy string) string {
	return fmt.Sprintf("%s: %s of %s after it was freed (%s)", name, op, obj, freedBy)
}

func underflowWords(name, why, obj, freedBy string) string {
	return fmt.Sprintf("%s: %s of %s drops its refcount below zero (already %s)", name, why, obj, freedBy)
}

func freedByWords(name, why string) string { return fmt.Sprintf("freed by %s's %s", name, why) }

func freedWithStackWords(name, how string) string {
	return "freed with the stack of " + name + " (" + how + ")"
}

// noGILWords is needGIL's report of st (its operation, op) run without
// the GIL.
func noGILWords(name, op string) string { return fmt.Sprintf("%s did %s without the GIL", name, op) }

func afterFinalizeWords(name, op string) string {
	return fmt.Sprintf("%s: %s after Py_FinalizeEx returned: the interpreter and its objects are freed", name, op)
}

func afterFinalizeAcquireWords(name string) string {
	return name + ": acquire after Py_FinalizeEx returned restores a freed thread state into a destroyed GIL"
}

// debugNoGILWords is a debug build's fatal error for a DECREF without the
// GIL: tstateCheck for _Py_EnsureTstateNotNULL (3.12 on), else the debug
// allocator's.
func debugNoGILWords(tstateCheck bool, msg string) string {
	if tstateCheck {
		return "Fatal Python error: _Py_EnsureTstateNotNULL: the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL) (debug build): " + msg
	}
	return "Fatal Python error: _PyMem_DebugFree: Python memory allocator called without holding the GIL (debug build): " + msg
}

func outermostNoGILWords(name string) string {
	return name + " left its outermost native frame without the GIL"
}

func unwindInCleanupWords(name string) string {
	return name + ": forced unwind started inside a cleanup body (destructors are noexcept): std::terminate"
}

func noexceptWords(name string) string {
	return name + ": forced unwind reached a noexcept native frame: std::terminate"
}

func nounwindWords(name string) string {
	return name + ": forced unwind reached a Rust extern \"C\" (nounwind) frame: the process aborts"
}

func notRethrownWords(name string) string {
	return name + ": catch(...) swallowed the forced unwind: FATAL: exception not rethrown"
}

func swallowedWords(name string) string {
	return name + ": catch(...) swallowed the forced unwind and returned into the interpreter"
}

func fatalStdoutWords(holder, state string) string {
	return fmt.Sprintf("Fatal Python error: _enter_buffered_busy: could not acquire lock for <stdout> at interpreter shutdown, possibly due to daemon threads (held by %s, %s)", holder, state)
}

const mainNoGILWords = "main finished its body without the GIL"

// endedNoGILWords: the thread ended without the GIL; tls when a
// thread-local destructor released it.
func endedNoGILWords(name string, tls bool) string {
	if tls {
		return name + " ended without the GIL (a thread-local destructor released it)"
	}
	return name + " ended without the GIL"
}

func badUnlockWords(name, lock string) string {
	return fmt.Sprintf("%s unlocked mutex %s, which it does not hold", name, lock)
}

func fatalReleaseWords(name string) string {
	return "Fatal Python error: PyEval_SaveThread: the function must be called with the GIL held (" + name + " does not hold it)"
}

func fatalGILStateWords(name string) string {
	return "Fatal Python error: gilstate_tss_set: failed to set current tstate (TSS) (" + name + ": PyGILState_Ensure after _PyGILState_Fini deleted the key; gh-124619)"
}

func ensureFreedWords(name string) string {
	return name + ": PyGILState_Ensure built a thread state after finalization freed the interpreter's thread states (gh-124619)"
}

func fatalUnensureWords(name string) string {
	return "Fatal Python error: PyGILState_Release: thread state must be current when releasing (" + name + ": unbalanced unensure)"
}

func unensureNoGILWords(name string) string {
	return "Fatal Python error: PyGILState_Release without the GIL (" + name + ")"
}

func tlsNoGILWords(owner string) string {
	return fmt.Sprintf("a thread-local destructor of %s, run on main as finalization cleared its thread state, returned into finalization without the GIL", owner)
}

// smartNoGILWords: a smart pointer released obj without the GIL (during
// the forced unwind, when unwinding).
func smartNoGILWords(name, obj string, unwinding bool) string {
	note := ""
	if unwinding {
		note = " during the forced unwind"
	}
	return fmt.Sprintf("%s: smart pointer released %s (Py_DECREF) without the GIL%s", name, obj, note)
}

// The details of trace events (Event.Detail) that both engines record:
// the goroutine model's Interp.event calls and the step function's
// run.event calls in a traced run (vm_trace.go).

// Constant details.
const (
	forceSwitchingWords   = "FORCE_SWITCHING"
	ownGILWords           = "the GIL, which it already holds"
	finiGILWords          = "destroyed with the interpreter (_PyEval_FiniGIL)"
	parkWords             = "blocks for ever, keeping its stack, its locks and the GIL if it holds it"
	tstatesFreedWords     = "thread states of other threads freed"
	tstatesForgottenWords = "thread states of other threads forgotten (each is freed when its thread lets go)"
	tstatesClearedWords   = "thread states of other threads cleared (not freed)"
	guardsRefusedWords    = "no interpreter guard held: guards are refused from now on"
	guardsRoundWords      = "a guard was granted before main could refuse them: Py_FinalizeEx goes round its pre-finalization calls again"
	joinRefusedWords      = "PythonFinalizationError: cannot join thread at interpreter shutdown"
)

// haltEventWords is the detail of the EvEnd event of a halt.
func haltEventWords(o Outcome, msg string) string { return string(o) + ": " + msg }

// strikeByWords names what a strike applies: the policy, or the exit
// callback when the scenario has one.
func strikeByWords(callback bool, action string) string {
	if callback {
		return "callback " + action
	}
	return "policy " + action
}

func strikeEventWords(by, site, when string) string {
	return fmt.Sprintf("%s at %s (%s)", by, site, when)
}

func unwindEventWords(frames int) string { return fmt.Sprintf("%d native frame(s)", frames) }

// finalizationErrorWords names the exception a refused operation raises
// under release minor: RuntimeError in 3.12, PythonFinalizationError
// from 3.13 (gh-104690).
func finalizationErrorWords(minor int) string {
	if minor >= 13 {
		return "PythonFinalizationError"
	}
	return "RuntimeError"
}

// spawnRefusedWords is the exception of a thread start refused at
// shutdown under release minor.
func spawnRefusedWords(minor int) string {
	return finalizationErrorWords(minor) + ": can't create new thread at interpreter shutdown"
}

func raiseIgnoredWords(msg string) string {
	return msg + " (ignored: no Python frame below the forced unwind)"
}

func blockEndedWords(msg string) string { return "exception ended the block: " + msg }

func tlsRunWords(owner string) string { return tlsNote + owner }

func tlsRaiseWords(msg string) string {
	return "exception ignored in a thread-local destructor: " + msg
}

func guardSkippedWords(name string) string {
	return "guard " + name + ": finalizing, DECREF skipped"
}

// guardRefusedWords, guardLeakedWords, guardGrantedWords and
// guardClosedWords take the guard's name ("" for ensure view's).
func guardRefusedWords(name string) string {
	return "interp_guard " + guardName(name) + ": refused (finalization has started)"
}

func guardLeakedWords(name string) string {
	return "interp_guard " + name + ": the guard it held is leaked, still held"
}

func guardGrantedWords(name string) string { return "interp_guard " + guardName(name) + ": granted" }

func guardClosedWords(name string) string { return "close " + guardName(name) + ": closed" }

func ifGuardedWords(name string, held bool) string {
	if held {
		return "guard " + name + " is held"
	}
	return "guard " + name + " is not held"
}

func notCreatedWords(op, name string) string { return op + " " + name + ": not created yet, no-op" }

func isFinalizingWords(v bool) string {
	if v {
		return "Py_IsFinalizing() is true"
	}
	return "Py_IsFinalizing() is false"
}
