package runtime

import (
	"fmt"
	"sync"

	"github.com/sasha-s/go-deadlock"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// mutex is the real lock behind the GIL: a plain sync.Mutex under the
// controlled scheduler, or go-deadlock's instrumented Mutex when the run
// asks for lock-order and timeout detection.
type mutex interface {
	sync.Locker
	TryLock() bool
}

// gil is the global interpreter lock: a real mutex, plus the state of
// ceval_gil.c that the model needs: the holder, the last holder and switch
// number (the FORCE_SWITCHING hand-off) and the drop request.
//
// Under the controlled scheduler only one thread runs at a time,
// so a take is TryLock; when it fails the thread declares itself blocked
// on the GIL and the scheduler runs someone else. The mutex stays a real
// mutex: a bug that let two threads hold it would still fail TryLock.
type gil struct {
	mu         mutex
	holder     int // thread id, or -1
	lastHolder int
	switches   int
	dropReq    bool
	requester  int
}

func newGIL(instrumented bool) *gil {
	g := &gil{holder: -1, lastHolder: -1, requester: -1}
	if instrumented {
		g.mu = new(deadlock.Mutex)
	} else {
		g.mu = new(sync.Mutex)
	}
	return g
}

type gilWait struct {
	in *Interp
	t  *thread
}

// Ready: the GIL is free, or the waiter's timed wait would wake into a
// must-exit check (a preset with CheckWaiting, once finalizing).
func (w gilWait) Ready() bool {
	return w.in.gil.holder < 0 || (w.in.preset.CheckWaiting && w.in.mustExit(w.t))
}
func (w gilWait) Blocker() int   { return w.in.gil.holder }
func (w gilWait) String() string { return "the GIL" }

// BlockerOnly: only the holder can free the GIL, unless the waiter's
// timed wait can still wake into a must-exit check (the flag is not set
// yet, and only main, not blocked for good, can set it).
func (w gilWait) BlockerOnly() bool {
	return w.t.id == 0 || !w.in.preset.CheckWaiting || w.in.finalizing || w.in.cfg.NoStrike
}

// mustExit reports whether t, taking the GIL now, meets the policy: it is
// not the finalizing thread (main), the finalizing flag is set, and the run
// is not a NoStrike counterfactual. In 3.9-3.13 the test is global
// (_PyThreadState_MustExit reads interp->finalizing); in 3.14 it is per
// thread state, so only threads that had a thread state at the flag meet
// the policy (pystate.c 3141-3145, PR #130649, gh-124878).
func (in *Interp) mustExit(t *thread) bool {
	if !in.finalizing || t.id == 0 || in.cfg.NoStrike {
		return false
	}
	return !in.preset.PerThreadMustExit || t.marked
}

// takeGIL takes the GIL for t at site ("start", "io", "acquire", ...),
// applying the preset's must-exit checks: before waiting, after each
// timed-out wait, and after acquiring.
func (in *Interp) takeGIL(t *thread, site string) {
	if in.mustExit(t) && in.preset.CheckEntry {
		in.strike(t, site, "before waiting")
	}
	in.takeGILWindow(t, site) // 3.9-3.13: cpython#110052 (below)
	g := in.gil
	for {
		// TryLock only a GIL the model says is free (then it must
		// succeed): a failed TryLock on a go-deadlock Mutex drops another
		// goroutine's holder record (go-deadlock v0.3.9's trylock unrolls
		// with postUnlock), which would blind its detectors.
		if g.holder < 0 {
			if !g.mu.TryLock() {
				panic("runtime: the GIL is free in the model but held for real")
			}
			// A drop request is pending for the exit path below (drop_gil
			// resets it only after take_gil's must-exit check): another
			// thread's request still set, or another thread waiting, whose
			// timed wait may set one at any moment (spec v3: an untimed
			// model has a request pending whenever another thread waits).
			pending := g.dropReq && g.requester != t.id || in.otherGILWaiter(t)
			g.holder, g.lastHolder = t.id, t.id
			g.switches++
			if g.dropReq {
				g.dropReq, g.requester = false, -1
			}
			t.hasGIL = true
			t.sinceTake = 0
			in.event(t, EvTakeGIL, site)
			if t.tstateFreed && !in.preset.CheckEntry {
				// 3.8's take_gil reads tstate->async_exc after acquiring,
				// before exit_thread_if_finalizing (fixed in 3.9 by
				// 29356e03, bpo-39877).
				in.halt(t, Corruption, KindUAFTstate, freedTstateWords(t.name))
			}
			if in.mustExit(t) {
				// Every preset checks after acquiring (3.8: every caller
				// of take_gil, bpo-36475); the GIL is dropped first.
				in.dropGILWindow(t, site, pending)
				in.dropGIL(t)
				in.strike(t, site, "after acquiring")
			}
			return
		}
		if g.holder == t.id {
			// Taking a GIL one already holds (acquire twice) blocks for
			// ever, as a non-recursive lock does.
			in.event(t, EvBlock, ownGILWords)
		}
		g.dropReq, g.requester = true, t.id
		in.event(t, EvWaitGIL, site)
		t.waitingGIL = true
		in.ctl.Block(t.id, gilWait{in, t})
		t.waitingGIL = false
		if g.holder >= 0 && in.mustExit(t) && in.preset.CheckWaiting {
			if in.preset.ResetDropRequest && g.requester == t.id {
				g.dropReq, g.requester = false, -1
			}
			in.strike(t, site, "while waiting")
		}
	}
}

// dropGIL releases the GIL held by t for the last time before it ends or
// meets the policy (drop_gil with a NULL thread state: no hand-off wait).
func (in *Interp) dropGIL(t *thread) {
	if !t.hasGIL {
		panic(fmt.Sprintf("%s drops a GIL it does not hold", t.name))
	}
	in.gil.holder = -1
	t.hasGIL = false
	in.gil.mu.Unlock()
	in.event(t, EvDropGIL, "")
}

type switchWait struct {
	in *Interp
	t  *thread
}

func (w switchWait) Ready() bool { return w.in.gil.lastHolder != w.t.id }
func (w switchWait) Blocker() int {
	if w.in.gil.requester >= 0 {
		return w.in.gil.requester
	}
	return -1
}
func (w switchWait) String() string { return switchWaitString }

// releaseGIL is a voluntary drop (Py_BEGIN_ALLOW_THREADS, the eval
// breaker, PyGILState_Release). As drop_gil does under FORCE_SWITCHING,
// when another thread has asked for a drop the holder resets the request
// and waits until some thread has taken the GIL. A requester that met the
// policy while waiting without resetting its request leaves the holder
// waiting for ever (gh-96387).
func (in *Interp) releaseGIL(t *thread) {
	g := in.gil
	pending := g.dropReq && g.requester != t.id
	in.dropGIL(t)
	if pending {
		g.dropReq = false
		in.event(t, EvDropRequest, forceSwitchingWords)
		in.ctl.Block(t.id, switchWait{in, t})
	}
}

// evalBreaker runs at each bytecode step of work: on a drop request, once t
// has run a step since it took the GIL, it hands the GIL over and takes it
// back before its next step.
func (in *Interp) evalBreaker(t *thread) {
	g := in.gil
	if !g.dropReq || g.requester == t.id || t.sinceTake < 1 || !t.hasGIL {
		return
	}
	in.releaseGIL(t)
	in.takeGIL(t, "eval breaker")
}

// gilstateFini is 3.14's _PyGILState_Fini at the end of step 7: the
// gilstate TSS key is deleted and the interpreter is freed, its memory
// still intact until main's exit goes on (spec v3: after step 7 an
// outermost ensure is corruption or abort in 3.14). An ensure that builds
// a thread state while main is here survives new_threadstate and aborts in
// gilstate_tss_set (research note section 15: 5 of 100 runs of a poller
// on 3.14.10); one that comes before, in step 7, or after, once main's
// exit reused the memory, touches freed state: corruption (gh-124619,
// grpc#17621's new_threadstate(interp=0x0)). The phase is a scheduling
// point only under 3.14 and in a scenario with an ensure, so that other
// runs keep their schedules.
func (in *Interp) gilstateFini(t *thread) {
	if !in.preset.GILStateFiniAbort || !in.hasEnsure {
		return
	}
	in.setPhase(t, PhaseGILStateFini)
}

// ensure is PyGILState_Ensure. The outermost ensure of a thread without a
// thread state builds one before any must-exit check: after step 7 that
// touches freed interpreter state (gh-124619, open in 3.14).
func (in *Interp) ensure(t *thread) {
	if !t.tstate && in.preset.FreshEnsureMustExit && (in.finalizing || in.guards.refusing) && t.id != 0 && !in.cfg.NoStrike {
		// 3.15.2: a native thread's first PyGILState_Ensure takes a guard
		// on the main interpreter first; once guards are refused it calls
		// PyThread_hang_thread (pystate.c 3026; probed: make
		// pep788-probes; 3.14.10 runs it). It meets the policy before it
		// builds a thread state, so gh-124619's use of freed states is
		// unreachable.
		in.strike(t, "ensure", "before building a thread state (its guard was refused)")
	}
	if !t.tstate {
		if in.tstatesFreed {
			if in.preset.GILStateFiniAbort && in.phase == PhaseGILStateFini {
				// 3.14.10: "Fatal Python error: gilstate_tss_set: failed
				// to set current tstate (TSS)" with "Python runtime
				// state: finalizing" (research note section 15).
				in.halt(t, Abort, KindFatalGILState, fatalGILStateWords(t.name))
			}
			in.halt(t, Corruption, KindUAFTstate, ensureFreedWords(t.name))
		}
		t.tstate = true
	}
	took := !t.hasGIL
	if took {
		in.takeGIL(t, "ensure")
	}
	t.ensures = append(t.ensures, took)
}

func (in *Interp) unensure(t *thread) {
	if len(t.ensures) == 0 {
		in.halt(t, Abort, KindFatalUnensure, fatalUnensureWords(t.name))
	}
	took := t.ensures[len(t.ensures)-1]
	t.ensures = t.ensures[:len(t.ensures)-1]
	if took {
		if !t.hasGIL {
			in.halt(t, Abort, KindFatalRelease, unensureNoGILWords(t.name))
		}
		in.releaseGIL(t)
	}
	if len(t.ensures) == 0 && t.kind == scenario.Foreign {
		t.tstate = false
	}
}

// The take_gil window (cpython#110052; spec v3, "Corrections to v2").
// take_gil checks must-exit on entry and then reads tstate->interp; the
// two are separate scheduling points. A thread that passed the check before
// the flag and reads its state after finalization freed it (right after the
// flag: _PyThreadState_DeleteExcept, bpo-19466) dereferences freed memory:
// plain daemon threads crash at random at exit, interp=0xdddd... in debug
// builds. The window is open in 3.9 to 3.13.x: 3.13.0 has the same code
// (ceval_gil.c 301 checks, 312 reads; pylifecycle.c 2022 sets the flag,
// 2039 deletes the states; research note section 14), and no gh-110052
// change fixed take_gil. 3.14 reads tstate->state and keeps a thread's own
// state alive (refcounted, PR #130649), so it is closed there and in 3.15.
// 3.8 has its own read after acquiring (bpo-39877, takeGIL). A take that
// begins after the flag exits at the entry check without touching its
// state (bpo-39877), so it never enters the window. The window point
// exists only where Preset.TakeGILWindow holds and for threads other than
// main, so that other presets keep their schedules.

// takeGILWindow is the second scheduling point of take_gil: after the
// entry must-exit check, the read of the thread's own state. takeGIL calls
// it right after the entry check.
func (in *Interp) takeGILWindow(t *thread, site string) {
	if !in.preset.TakeGILWindow || t.id == 0 || in.finalizing || !t.tstate {
		return
	}
	in.point(t)
	if t.tstateFreed {
		in.halt(t, Corruption, KindTakeGILWindow, takeGILWindowWords(t.name, site))
	}
}

// dropGILWindow is the second way into the window (3.9-3.12, cpython#110052;
// 3.11 ceval_gil.h 288 -> 175): a thread that meets must-exit after
// acquiring the GIL calls drop_gil with its own thread state, which
// finalization freed right after the flag; under FORCE_SWITCHING drop_gil
// reads tstate->interp when a drop request is pending. 3.13 passes NULL
// there ("tstate could be a dangling pointer"). takeGIL calls it before
// the exit path's drop.
func (in *Interp) dropGILWindow(t *thread, site string, pending bool) {
	if in.preset.DropGILReadsTstate && t.tstateFreed && pending {
		in.halt(t, Corruption, KindTakeGILWindow, dropGILWindowWords(t.name, site))
	}
}

// otherGILWaiter reports whether a thread other than t is waiting for the
// GIL.
func (in *Interp) otherGILWaiter(t *thread) bool {
	for _, o := range in.threads {
		if o != t && o.waitingGIL {
			return true
		}
	}
	return false
}
