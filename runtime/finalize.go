package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func (in *Interp) setPhase(t *thread, p string) {
	in.phase = p
	in.event(t, EvPhase, p)
	in.point(t)
}

// finalize is Py_FinalizeEx, run by main holding the GIL.
func (in *Interp) finalize(t *thread) {
	in.finalizeStarted = true      // interp->finalizing (3.12.0-3.12.2 refuse spawns from here, gh-113964)
	in.setPhase(t, "wait-threads") // step 2
	in.waitNonDaemon(t)
	in.setPhase(t, "atexit") // step 3
	for i := len(in.sc.Atexit) - 1; i >= 0; i-- {
		in.pyBlock(t, in.sc.Atexit[i].Body) // "Exception ignored in atexit callback"
		in.needGILAfter(t, "an atexit handler")
	}
	in.waitGuards(t)             // 3.15: until no interpreter guard is held (guards.go)
	in.setPhase(t, "finalizing") // step 4
	in.setFinalizing(t)
	in.setPhase(t, "flush") // step 5
	in.flushStdout(t)
	in.setPhase(t, "teardown") // step 6
	for _, b := range in.sc.Teardown {
		in.pyBlock(t, b.Body) // a __del__ or m_free: "Exception ignored in ..."
		in.needGILAfter(t, "a teardown block")
	}
	in.setPhase(t, "collect")
	for _, o := range in.heap.globals {
		in.decrefObject(t, o, "the globals' DECREF in finalization")
	}
	in.setPhase(t, "free-tstates") // step 7
	in.tstatesFreed = true
	in.freeThreadStates(t)
	in.gilstateFini(t)       // 3.14: _PyGILState_Fini, then the interpreter is freed (gil.go)
	in.afterFinalize(t)      // after_finalize blocks: afterfinalize.go
	in.setPhase(t, "exited") // step 8
	in.result.Outcome = Clean
	in.result.Report = Report{Kind: KindExit, Phase: in.phase, Message: exitWords(in.exitCode)}
	in.ctl.Halt(nil)
}

// waitNonDaemon is threading._shutdown (step 2): it drops the GIL while a
// spawned non-daemon thread is alive.
func (in *Interp) waitNonDaemon(t *thread) {
	for {
		alive := in.aliveNonDaemon()
		if alive == nil {
			return
		}
		in.releaseGIL(t)
		in.ctl.Block(t.id, chaos.WaitFunc{
			ReadyFunc:   func() bool { return in.aliveNonDaemon() == nil },
			BlockerFunc: func() int { return in.aliveNonDaemon().id },
			Desc:        nonDaemonWaitString(alive.name),
			OnlyBlocker: true, // it must end before the wait can
		})
		in.takeGIL(t, "threading._shutdown")
	}
}

// setFinalizing is step 4: the flag is set. In 3.14 the thread states that
// exist now are marked to exit: _PyThreadState_MustExit is per thread state
// (pylifecycle.c 2092-2096, pystate.c 3141-3145, PR #130649). In 3.9-3.13
// _PyThreadState_DeleteExcept deletes every other thread state right after
// the flag (3.9 pylifecycle.c 1511, 3.12 1847; bpo-19466). 3.14 and 3.15
// clear every other thread state there too, but free each only when its
// thread lets go (3.14.7 pylifecycle.c 2092-2103, pystate.c 2028-2042;
// spec v3): Python-level thread-locals die on main, and a thread keeps
// its own state.
func (in *Interp) setFinalizing(t *thread) {
	in.raiseFlag()
	switch {
	case in.preset.TstatesFreedAtFlag:
		in.freeThreadStates(t)
	case in.preset.TstatesClearedAtFlag:
		in.clearThreadStates(t)
	}
}

// raiseFlag sets the finalizing flag, marks the thread states that exist
// now, and refuses interpreter guards from now on. In 3.15 the close that
// leaves no guard held during the guard wait raises it (guards.go).
func (in *Interp) raiseFlag() {
	if in.finalizing {
		return
	}
	in.finalizing, in.guards.refusing = true, true
	for _, o := range in.threads[1:] {
		if o.tstate && !o.ended {
			o.marked = true
		}
	}
}

// freeThreadStates clears and frees the thread states of all other
// threads: right after the flag in 3.9-3.13, at step 7 in 3.8
// (zapthreads). In 3.14 and later, step 7 frees none (each thread frees its
// own when it lets go) but _PyGILState_Fini forgets them: a later ensure
// builds a new one (gh-124619).
func (in *Interp) freeThreadStates(t *thread) {
	freed := !in.preset.TstatesClearedAtFlag
	for _, o := range in.threads[1:] {
		if o.tstate {
			in.clearThreadLocals(t, o) // Python-level thread-locals die on main (tls.go)
			o.tstate, o.tstateFreed = false, freed
		}
	}
	if freed {
		in.event(t, EvNote, tstatesFreedWords)
	} else {
		in.event(t, EvNote, tstatesForgottenWords)
	}
}

// clearThreadStates clears the thread states of all other live threads
// right after the flag without freeing them (3.14 and later): their
// Python-level thread-locals die on main.
func (in *Interp) clearThreadStates(t *thread) {
	for _, o := range in.threads[1:] {
		if o.tstate {
			in.clearThreadLocals(t, o)
		}
	}
	in.event(t, EvNote, tstatesClearedWords)
}

// flushStdout is step 5, flush_std_files: buffered_flush takes the buffer
// lock whatever it holds, and drops the GIL around write() only when there
// is buffered data (bufferedio.c _bufferedwriter_flush_unlocked; research
// note item 10).
func (in *Interp) flushStdout(t *thread) {
	in.takeStdout(t)
	if in.buffered > 0 {
		in.writeOut(t, "flush")
	}
	in.setStdout(-1)
}

// writeOut is the write() of the buffered data: the holder of the stdout
// lock drops the GIL around it and takes the GIL back.
func (in *Interp) writeOut(t *thread, site string) {
	in.releaseGIL(t)
	in.point(t)
	in.buffered = 0
	in.takeGIL(t, site)
}

// needGILAfter reports a block that returned into finalization without
// the GIL it was called with.
func (in *Interp) needGILAfter(t *thread, what string) {
	if !t.hasGIL {
		t.cur = nil
		in.halt(t, Corruption, KindNoGIL, returnedNoGILWords(what))
	}
}

func (in *Interp) aliveNonDaemon() *thread {
	for _, o := range in.threads {
		if o.kind == scenario.Thread && o.spawned && !o.ended {
			return o
		}
	}
	return nil
}

// takeStdout takes the stdout lock; waiting for it releases the GIL, as
// buffered I/O does. A wait that begins after the finalizing flag is
// bounded (_enter_buffered_busy's one-second timer, bpo-23309): when the
// holder cannot release the lock (hung, ended, or itself in a blocking
// call: io, wait, lock or join), it is a fatal error, whichever thread
// waits. A wait that began before the flag is unbounded. A holder in its
// own write() is not stuck: the model has no slow writes (see
// docs/faithfulness.md).
func (in *Interp) takeStdout(t *thread) {
	if in.stdout.holder < 0 {
		in.setStdout(t.id)
		return
	}
	had := t.hasGIL
	t.noteRetake(had)
	if had {
		in.releaseGIL(t)
	}
	// Whether the wait began after the flag is thread data, not a Go
	// local: it decides the future, so the exhaustive state key needs it.
	t.stdoutFatal = in.finalizing && in.preset.StdoutFatal
	for in.stdout.holder >= 0 {
		in.ctl.Block(t.id, chaos.WaitFunc{
			ReadyFunc:   func() bool { return in.stdout.holder < 0 || (t.stdoutFatal && in.threads[in.stdout.holder].stuck()) },
			BlockerFunc: func() int { return in.stdout.holder },
			Desc:        "the stdout lock",
			OnlyBlocker: true, // only its holder releases it
		})
		if in.stdout.holder >= 0 {
			h := in.threads[in.stdout.holder]
			in.halt(t, Abort, KindFatalStdout, fatalStdoutWords(h.name, h.state()))
		}
	}
	t.stdoutFatal = false
	in.setStdout(t.id)
	if had {
		in.takeGIL(t, "stdout lock")
	}
}

// stuck reports whether t cannot release what it holds within
// _enter_buffered_busy's one second: it is hung, ended, or in a blocking
// call (io, wait, lock or join).
func (t *thread) stuck() bool { return t.hung || t.ended || t.inCall }

// setStdout makes id the stdout lock's holder (-1: free), taking or
// releasing the real lock in wild mode.
func (in *Interp) setStdout(id int) {
	if in.stdoutReal != nil {
		if id >= 0 {
			in.event(in.threads[id], EvStdout, "take")
		} else if in.stdout.holder >= 0 {
			in.event(in.threads[in.stdout.holder], EvStdout, "release")
		}
		if id >= 0 {
			if !in.stdoutReal.TryLock() {
				panic("runtime: the stdout lock is free in the model but held for real")
			}
		} else {
			in.stdoutReal.Unlock()
		}
	}
	in.stdout.holder = id
}
