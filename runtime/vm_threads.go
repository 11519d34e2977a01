package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// Threads in the step function: their start and end, raises, and the
// statements that start, join and attach them (spawn, join, groups,
// ensure, unensure), each restating the goroutine model's function it
// names (threads.go, gil.go).

// mainFrame is runThread for main, then runMain.
func (r *run) mainFrame(f *vmFrame) stepEnd {
	switch f.phase {
	case 0:
		r.t.flags |= tTstate | tHasGIL
		r.s.holder, r.s.last = 0, 0
		f.phase = 1
		return r.push(vmFrame{kind: fPyBlock, a: r.m.thread[0]})
	case 1:
		if !r.t.is(tHasGIL) {
			return r.failAt(noStmt, Corruption, KindNoGIL, func() string { return mainNoGILWords })
		}
		f.phase = 2
		return r.push(vmFrame{kind: fFinalize})
	}
	panic("runtime: main ran past finalization")
}

// threadFrame is runThread and bootstrap for a thread or daemon.
func (r *run) threadFrame(f *vmFrame) stepEnd {
	foreign := r.m.sc.Threads[r.id].Kind == scenario.Foreign
	switch f.phase {
	case 0:
		r.event(EvStart, "")
		if foreign { // no bootstrap, no thread state
			f.phase = 4
			r.t.flags |= tBegan
			return r.push(vmFrame{kind: fPyBlock, a: r.m.thread[r.id]})
		}
		f.phase = 2
		if r.m.preset.QuietBootstrap {
			if r.mustExit() {
				return r.endThread(endReturnedAtBootstrap)
			}
			f.phase = 1
			return stepYield
		}
		return stepOn
	case 1:
		f.phase = 2
		return stepOn
	case 2:
		f.phase = 3
		return r.push(vmFrame{kind: fTakeGIL})
	case 3:
		r.t.flags |= tBegan
		f.phase = 4
		return r.push(vmFrame{kind: fPyBlock, a: r.m.thread[r.id]})
	}
	// The body returned: its Python-level thread-locals die on the thread
	// (plain atthreadexit), then it lets the GIL go (a foreign thread keeps
	// a GIL it holds).
	if !foreign && !r.t.is(tHasGIL) {
		tls := f.phase == 5
		return r.fail(Corruption, KindNoGIL, func() string { return endedNoGILWords(r.name(), tls) })
	}
	if f.phase == 4 {
		f.phase = 5
		return r.push(vmFrame{kind: fTLS, a: int16(r.id)})
	}
	if !foreign {
		r.dropGIL()
	}
	return r.endThread(endReturned)
}

// How a thread ended (thread.endHow).
const (
	endReturned uint8 = iota + 1
	endReturnedAtBootstrap
	endUnwound
	endTerminated
)

// endThread is endThread: the thread ends; a normal end deletes its state.
func (r *run) endThread(how uint8) stepEnd {
	if r.m.hasTLS(r.s, r.id, true) { // atThreadExit: native destructors first
		r.push(vmFrame{kind: fEndThread, aux: int8(how)})
		return r.push(vmFrame{kind: fTLS, a: int16(r.id), aux: 1})
	}
	return r.endNow(how)
}

// endNow is the rest of endThread, after the native destructors ran:
// the thread's end is recorded before the forced unwind's panic closes
// the guard blocks it leaves (guardBlock's deferred close).
func (r *run) endNow(how uint8) stepEnd {
	r.event(EvEnd, endHows[how])
	if how == endUnwound {
		r.closeBlocks(nil, r.t.frames)
	}
	r.t.flags |= tEnded
	r.t.endHow = how
	exiting := how == endReturned || how == endReturnedAtBootstrap
	r.t.set(tExiting, exiting)
	if exiting {
		r.t.set(tTstate, false)
	}
	r.freeLocals()
	return stepExit
}

// raise is raise: the exception msg (a constant, or worded by the
// Machine, so that the search builds no words) goes on to the innermost
// block that catches it (propagate). During the forced unwind, and on
// main after Py_FinalizeEx returned, it is ignored.
func (r *run) raise(msg string) stepEnd {
	if r.raiseIgnored() {
		if r.tracing() {
			r.event(EvNote, raiseIgnoredWords(msg))
		}
		return stepOn // no Python frame below: the raise is ignored
	}
	r.event(EvRaise, msg)
	return r.propagate(msg)
}

func (r *run) raiseIgnored() bool {
	return r.afterFinalize() || (r.s.stacks != nil && r.stack().unwinding)
}

// reraise is the panic that carries on an exception a frame kept (a
// native frame whose body raised, the items of a frame a cleanup body of
// which raised), the frame at depth, just left.
func (r *run) reraise(depth int) stepEnd {
	if r.raiseIgnored() {
		return stepOn
	}
	return r.propagate(r.keptExc(depth))
}

// propagate is catchRaise: the exception ends the innermost Python-level
// block, native frame body, cleanup body or thread-local destructor,
// whose frame (aux 1) goes on; frames on the way are left (a native
// frame's entry stays when its items raised: see vm_native.go), and the
// guard blocks among them closed at the statement that raised.
func (r *run) propagate(msg string) stepEnd {
	var at *scenario.Stmt // thread.cur until a block catches the raise
	if r.tracing() {
		at = r.m.stmtAt(r.s, r.id)
	}
	for {
		f := r.top()
		switch f.kind {
		case fPyBlock, fNative, fCleanup, fTLSBody:
			if f.phase == 1 {
				f.aux = 1
				r.caught(f.kind, msg)
				return stepOn
			}
		}
		r.closeBlocks(at, r.t.frames[len(r.t.frames)-1:])
		if f.kind == fNative && f.phase == 2 { // its items raised: the frame is left
			r.stack().natives = r.stack().natives[:f.i]
		}
		r.pop()
	}
}

// caught records what the block on top that caught exception msg does
// with it: pyBlock and runTLS note it; a native frame or a cleanup body
// keeps it for reraise.
func (r *run) caught(kind uint8, msg string) {
	if !r.tracing() {
		return
	}
	switch kind {
	case fPyBlock:
		r.event(EvNote, blockEndedWords(msg))
	case fTLSBody:
		r.event(EvNote, tlsRaiseWords(msg))
	default:
		r.keepExc(len(r.t.frames)-1, msg)
	}
}

// spawn is spawn.
func (r *run) spawn(id int, nowait bool) stepEnd {
	if !r.needGIL() {
		return r.noGIL()
	}
	if id <= 0 || r.s.threads[id].is(tSpawned) {
		return stepOn
	}
	p := r.m.preset
	if !p.SpawnWhileFinalizing && (r.s.flags&vmFinalizing != 0 || (p.SpawnRefusedEarly && r.s.flags&vmFinalizeStarted != 0)) {
		return r.raise(r.m.spawnRefused)
	}
	target := &r.s.threads[id]
	target.flags |= tSpawned
	target.frames = append(target.frames[:0], vmFrame{kind: fThread})
	foreign := r.m.sc.Threads[id].Kind == scenario.Foreign
	if !foreign {
		target.flags |= tTstate
	}
	r.event(EvSpawn, r.m.sc.Threads[id].Name)
	if foreign || nowait {
		return stepOn
	}
	return r.push(vmFrame{kind: fBlocking, a: int16(wStart), i: int32(id)})
}

// join is join (before after_finalize, which the subset leaves out).
func (r *run) join(id int) stepEnd {
	if id <= 0 {
		return stepOn
	}
	target := &r.s.threads[id]
	if !target.is(tSpawned) || target.is(tExiting) {
		return stepOn
	}
	if r.afterFinalize() { // std::thread::join: until the target ends
		return r.push(vmFrame{kind: fBlocking, a: int16(wEnded), i: int32(id)})
	}
	if r.s.flags&vmFinalizing != 0 && r.m.preset.Join == JoinRaises {
		return r.raise(joinRefusedWords)
	}
	if r.m.ready(r.s, r.id, wJoin, id) {
		return stepOn
	}
	return r.push(vmFrame{kind: fBlocking, a: int16(wJoin), i: int32(id)})
}

// ensure is ensure (PyGILState_Ensure) before 3.15: the outermost ensure of
// a thread without a thread state builds one, which after step 7 is a use
// of freed state (gh-124619), or 3.14's gilstate_tss_set abort right after
// _PyGILState_Fini.
func (r *run) ensure() stepEnd {
	if !r.t.is(tTstate) && r.m.preset.FreshEnsureMustExit && r.s.flags&(vmFinalizing|vmRefusing) != 0 && r.id != 0 && !r.m.noStrike {
		return r.strike("ensure", "before building a thread state (its guard was refused)") // 3.15.2: its guard was refused
	}
	if !r.t.is(tTstate) {
		if r.s.flags&vmTstatesFreed != 0 {
			if r.m.preset.GILStateFiniAbort && r.s.phase == vmPhaseGILStateFini {
				return r.fail(Abort, KindFatalGILState, func() string { return fatalGILStateWords(r.name()) })
			}
			end := r.fail(Corruption, KindUAFTstate, func() string { return ensureFreedWords(r.name()) })
			r.term.Op = "ensure"
			return end
		}
		r.t.flags |= tTstate
	}
	if r.t.is(tHasGIL) {
		return r.push(vmFrame{kind: fEnsure, phase: 1})
	}
	r.push(vmFrame{kind: fEnsure, phase: 1, aux: 1})
	return r.push(vmFrame{kind: fTakeGIL})
}

// unensure is unensure (PyGILState_Release).
func (r *run) unensure() stepEnd {
	n := len(r.t.ensures)
	if n == 0 {
		return r.fail(Abort, KindFatalUnensure, func() string { return fatalUnensureWords(r.name()) })
	}
	took := r.t.ensures[n-1]
	r.t.ensures = r.t.ensures[:n-1]
	r.push(vmFrame{kind: fUnensure})
	if took {
		if !r.t.is(tHasGIL) {
			return r.fail(Abort, KindFatalRelease, func() string { return unensureNoGILWords(r.name()) })
		}
		return r.releaseGIL()
	}
	return stepOn
}

// ensureEnd is the end of ensure (record it) and of unensure (a foreign
// thread's last release deletes its thread state).
func (r *run) ensureEnd(f *vmFrame) stepEnd {
	if f.kind == fEnsure {
		r.t.ensures = append(r.t.ensures, f.aux == 1)
	} else if len(r.t.ensures) == 0 && r.foreign() {
		r.t.set(tTstate, false)
	}
	return r.pop()
}

func (r *run) spawnOrJoin(st *scenario.Stmt, id int) stepEnd {
	if st.Op == scenario.OpSpawn {
		return r.spawn(id, st.Nowait)
	}
	return r.join(id)
}

// group is group: a spawn or join of a replicated block NAME[N] is one of
// each copy, in index order, a scheduling point apart.
func (r *run) group(f *vmFrame) stepEnd {
	st := r.m.stmts[f.a]
	ids := r.m.group[f.a]
	if f.phase == 0 {
		if int(f.i) >= len(ids) {
			return r.pop()
		}
		f.phase = 1
		if f.i > 0 {
			return stepYield
		}
	}
	f.phase = 0
	f.i++
	return r.spawnOrJoin(st, ids[f.i-1])
}
