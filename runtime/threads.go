package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// pyRaise is a Python exception raised by a statement (spec v2, "Raising
// statements"). It ends the innermost Python-level block: a thread body, an
// atexit handler, a teardown block (or main's body). Native frames inside
// it are left normally.
type pyRaise struct{ msg string }

// raise raises msg in t. During a forced unwind, and after Py_FinalizeEx
// returned, there is no Python-level block below the statement, and the
// raise is ignored.
func (in *Interp) raise(t *thread, msg string) {
	if t.unwinding || (t.id == 0 && in.v2.afterFinalize) {
		in.event(t, EvNote, raiseIgnoredWords(msg))
		return
	}
	in.event(t, EvRaise, msg)
	panic(pyRaise{msg})
}

// catchRaise runs body for t and returns the exception it raised, if any;
// t's current statement is then the one it was before. Other panics (the
// end of a thread, the end of a controlled run) and Goexit (the end of a
// wild run) pass on.
func (in *Interp) catchRaise(t *thread, body []*scenario.Stmt) (raised *pyRaise) {
	cur := t.cur
	defer func() {
		if in.ending() {
			return
		}
		if r := recover(); r != nil {
			if e, ok := r.(pyRaise); ok {
				raised, t.cur = &e, cur
				return
			}
			panic(r)
		}
	}()
	in.exec(t, body)
	return nil
}

// pyBlock runs a Python-level block: an exception raised inside it ends the
// block and is printed ("Exception ignored in ..."), and t goes on after it.
func (in *Interp) pyBlock(t *thread, body []*scenario.Stmt) {
	if e := in.catchRaise(t, body); e != nil {
		in.event(t, EvNote, blockEndedWords(e.msg))
	}
}

func (in *Interp) runThread(t *thread) {
	defer func() {
		if in.ending() {
			return
		}
		if r := recover(); r != nil {
			if _, ok := r.(threadEnded); ok {
				return
			}
			if chaos.IsRunEnd(r) {
				panic(r) // the end of the run unwinds the thread
			}
			in.brokeInvariant(t, r)
		}
	}()
	switch t.kind {
	case scenario.Main:
		t.tstate = true
		if !in.gil.mu.TryLock() {
			panic("runtime: the GIL is held before main starts")
		}
		in.gil.holder, in.gil.lastHolder, t.hasGIL = 0, 0, true
		in.runMain(t)
		return
	case scenario.Thread, scenario.Daemon:
		in.event(t, EvStart, "")
		in.bootstrap(t)
	case scenario.Foreign:
		in.event(t, EvStart, "")
	}
	t.began = true
	in.pyBlock(t, t.decl.Body)
	if t.kind != scenario.Foreign && !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, endedNoGILWords(t.name, false))
	}
	// A normal end clears the thread's own state: its Python-level
	// thread-locals die here, on the thread, before it lets the GIL go
	// (tls.go).
	in.runTLS(t, t, false)
	if t.kind != scenario.Foreign && !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, endedNoGILWords(t.name, true))
	}
	if t.hasGIL && t.kind != scenario.Foreign {
		in.dropGIL(t)
	}
	in.endThread(t, "returned")
}

// bootstrap is thread_run (t_bootstrap before 3.13): it takes the GIL for
// the first time. From 3.11.6, 3.12.1 and 3.13 a bootstrap that finds the
// thread must exit returns without taking the GIL: no policy runs, the
// thread is not hung and counts as exiting (gh-108987, PRs #109272 and
// #110342). Earlier releases meet the policy at this take. The check and
// the take are two scheduling points (spec v3, "Corrections to v2"): a
// thread that passed the check before the flag meets the policy at
// take_gil's entry check or after its wait, as any take does; the quiet
// return covers only a flag already set at the bootstrap's own check.
func (in *Interp) bootstrap(t *thread) {
	if in.preset.QuietBootstrap {
		if in.mustExit(t) {
			in.endThread(t, "returned at bootstrap")
		}
		in.point(t)
	}
	in.takeGIL(t, "thread start")
}

// endThread ends t: its stack is freed, and, at a normal end, its thread
// state with it. A thread the policy unwound or terminated never deletes
// its own state: it stays in the interpreter's list until finalization
// clears it (research note item 1: zapthreads in 3.8). It does not
// return.
func (in *Interp) endThread(t *thread, how string) {
	in.atThreadExit(t) // native thread-local destructors (tls.go)
	t.ended, t.endHow = true, how
	t.exiting = how == "returned" || how == "returned at bootstrap"
	if t.exiting {
		t.tstate = false
	}
	for _, o := range t.locals {
		if !o.freed {
			o.freed, o.freedBy = true, freedWithStackWords(t.name, how)
		}
	}
	in.event(t, EvEnd, how)
	panic(threadEnded{})
}

func (in *Interp) runMain(t *thread) {
	func() {
		defer func() {
			if in.ending() {
				return
			}
			if r := recover(); r != nil {
				if _, ok := r.(mainExited); !ok {
					panic(r)
				}
			}
		}()
		in.pyBlock(t, t.decl.Body)
	}()
	t.cur = nil
	if !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, mainNoGILWords)
	}
	in.finalize(t)
}

// spawnRefused reports whether a thread start raises now: from 3.12 once
// the flag is set (gh-104690), and in 3.12.0-3.12.2 from the start of
// Py_FinalizeEx, atexit handlers included (gh-113964, fixed in 3.12.3).
func (in *Interp) spawnRefused() bool {
	if in.preset.SpawnWhileFinalizing {
		return false
	}
	return in.finalizing || (in.preset.SpawnRefusedEarly && in.finalizeStarted)
}

// spawn starts a thread. A thread or daemon is threading.Thread.start(): the
// caller drops the GIL and waits on self._started until the new thread has
// taken the GIL and begun its body (threading.py, every release); if it
// never begins, the caller waits for ever (bpo-43784). `spawn NAME nowait`
// is _thread.start_new_thread and returns at once, as foreign threads do.
// The new thread's state is made by the caller, before the thread runs.
func (in *Interp) spawn(t *thread, st *scenario.Stmt) {
	id := in.sc.Thread(st.Name)
	if id <= 0 {
		return
	}
	target := in.threads[id]
	if target.spawned {
		return
	}
	if in.spawnRefused() {
		in.raise(t, spawnRefusedWords(in.preset.Release.Minor))
		return
	}
	target.spawned = true
	if target.kind != scenario.Foreign {
		target.tstate = true
	}
	in.event(t, EvSpawn, st.Name)
	in.ctl.Spawn(id, func() { in.runThread(target) })
	if target.kind == scenario.Foreign || st.Nowait {
		return
	}
	in.blockingCall(t, "Thread.start "+st.Name, chaos.WaitFunc{
		ReadyFunc:   func() bool { return target.began },
		BlockerFunc: func() int { return id },
		Desc:        startWaitString(st.Name),
		OnlyBlocker: true, // only the new thread can begin
	})
}

// join waits for a thread (spec v2, "join after the flag"). Before the flag
// it returns when the target exits normally. After it, by release:
//   - 3.14 raises PythonFinalizationError unless the target is exiting
//     (ThreadHandle_join, _threadmodule.c 526-533, gh-123940, PR #130402);
//   - 3.9-3.12 return at once: deleting the thread states right after the
//     flag released every join lock (bpo-19466);
//   - 3.8 and 3.13 keep waiting, for ever on a target the policy stopped
//     (3.8: the join lock is released only by zapthreads; 3.13:
//     thread_is_exiting is set only at the end of thread_run).
//
// A join of a thread that never started is a no-op.
func (in *Interp) join(t *thread, name string) {
	id := in.sc.Thread(name)
	if id <= 0 {
		return
	}
	target := in.threads[id]
	if !target.spawned || target.exiting {
		return
	}
	if t.id == 0 && in.v2.afterFinalize {
		// After Py_FinalizeEx a join is C++'s std::thread::join: it
		// waits until the target ends in any way.
		in.blockingCall(t, "join "+name, chaos.WaitFunc{
			ReadyFunc:   func() bool { return target.ended },
			BlockerFunc: func() int { return id },
			Desc:        "join " + name,
			OnlyBlocker: true, // only the target's end makes it return
		})
		return
	}
	returns := func() bool {
		return target.exiting || (in.finalizing && in.preset.Join == JoinReturns)
	}
	if in.finalizing && in.preset.Join == JoinRaises {
		in.raise(t, joinRefusedWords)
		return
	}
	if returns() {
		return
	}
	in.blockingCall(t, "join "+name, chaos.WaitFunc{
		ReadyFunc:   returns,
		BlockerFunc: func() int { return id },
		Desc:        "join " + name,
		// Only the target's end makes it return: the flag that makes a
		// 3.9-3.12 join return is set by main, which cannot be blocked here
		// and set it too.
		OnlyBlocker: true,
	})
}

// A replicated block NAME[N]: a spawn or join of NAME addresses every
// copy, in index order, one scheduling point apart (N Thread.start()
// calls).
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

// park: the thread blocks for ever on purpose, keeping its stack, the
// locks it holds (the GIL included, if it holds it) and its thread state.
// A parked thread counts as hung: a wait on it is a deadlock on a hung
// thread, and a stdout lock it holds makes main's flush fatal (bpo-23309).
// park blocks t for ever, keeping everything it holds. It does not return.
func (in *Interp) park(t *thread) {
	t.hung = true
	in.event(t, EvPark, parkWords)
	in.ctl.Block(t.id, chaos.Forever("nothing: "+t.name+" is parked"))
	panic("unreachable: a parked thread ran again")
}
