package runtime

import (
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Frame kinds: one per function of the goroutine model that holds a
// scheduling point across a call.
const (
	fMain       uint8 = iota + 1 // runThread and runMain for main
	fThread                      // runThread and bootstrap for a thread or daemon
	fPyBlock                     // pyBlock: where a raise stops
	fBody                        // exec: i is the next statement
	fStmt                        // stmt: its scheduling point, then its semantics
	fWork                        // work: i is the bytecode step
	fLoop                        // loop: i is the iteration
	fForever                     // forever: i is 1 after the first pass
	fUntil                       // until: i is 1 after the first pass
	fLock                        // lock: the wait for a C-level lock
	fBlocking                    // blockingCall: aux is "had the GIL"
	fRelease                     // releaseGIL: the FORCE_SWITCHING wait
	fTakeGIL                     // takeGIL
	fFinalize                    // finalize: i is the index of an atexit or teardown block
	fParked                      // park and the hang policy: never runs again
	fEnsure                      // ensure: the GIL taken, then the ensure recorded
	fUnensure                    // unensure: after the GIL's release
	fPrint                       // print
	fStdout                      // takeStdout: aux is "had the GIL"
	fWriteOut                    // writeOut
	fGuardBlock                  // guardBlock: i is the guard's id, aux 1 for ensure view
	fNonDaemon                   // waitNonDaemon
	fGroup                       // group: i is the next copy
	fTLS                         // runTLS: a is the owner, aux 1 for native destructors
	fTLSBody                     // runTLS's catchRaise of a block: a is its statement, i the owner
	fTstates                     // freeThreadStates (aux 1) or clearThreadStates: i is the thread
	fEndThread                   // endThread after the native destructors: aux is how
	fNative                      // native: a is the statement, i its entry in vmStack.natives
	fItems                       // runFrameItems: i is the entry whose items run
	fCleanup                     // runFrameItems' catchRaise of a cleanup body
	fUnwind                      // unwind: the forced unwind of strike
)

// stepEnd is how a thread's step ended.
type stepEnd uint8

const (
	stepOn    stepEnd = iota // go on running the thread (internal)
	stepYield                // a scheduling point
	stepBlock                // blocked on its wait
	stepExit                 // the thread ended
	stepHalt                 // the run ended
)

// run is one Step in progress.
type run struct {
	m    *Machine
	s    *VMState
	id   int
	t    *vmThread
	term *Terminal
	n    *narrator // nil in the search
}

// Step runs thread id of s (mutated in place) to its next scheduling point.
// It returns the terminal when the step ended the run (a halt, or the
// process exit after finalization); nil otherwise.
func (m *Machine) Step(s *VMState, id int) *Terminal {
	r := run{m: m, s: s, id: id, t: &s.threads[id]}
	r.t.wait, r.t.waitArg = 0, 0
	term := r.steps()
	s.canon(nil)
	return term
}

// narrate is Step in a narrated run (vm_run.go): n records the words of
// the report. The objects are collected (canon, which renumbers n's
// tables too) only when their number has doubled since the last time, so
// that a run that keeps many objects live pays for each once.
func (m *Machine) narrate(s *VMState, id int, n *narrator) *Terminal {
	r := run{m: m, s: s, id: id, t: &s.threads[id], n: n}
	r.t.wait, r.t.waitArg = 0, 0
	term := r.steps()
	if term == nil && len(s.heap.objs) >= n.collectAt {
		s.canon(n)
		n.collectAt = min(2*len(s.heap.objs)+64, maxNarratedObjects)
	}
	return term
}

func (r *run) steps() *Terminal {
	for {
		switch r.frame() {
		case stepOn:
			continue
		case stepExit:
			r.t.flags |= tDone
			r.t.frames = r.t.frames[:0]
			return nil
		case stepHalt:
			return r.term
		default:
			return nil
		}
	}
}

func (r *run) top() *vmFrame { return &r.t.frames[len(r.t.frames)-1] }
func (r *run) push(f vmFrame) stepEnd {
	r.t.frames = append(r.t.frames, f)
	return stepOn
}
func (r *run) pop() stepEnd {
	r.t.frames = r.t.frames[:len(r.t.frames)-1]
	return stepOn
}

func (r *run) block(kind uint8, arg int) stepEnd {
	r.t.wait, r.t.waitArg = kind, int8(arg)
	return stepBlock
}

// fail is halt: the run ends with outcome o and report kind. In a
// narrated run, words gives the report's message, and the statement is
// the one the thread is at (thread.cur).
func (r *run) fail(o Outcome, kind string, words func() string) stepEnd {
	return r.failAt(nil, o, kind, words)
}

// noStmt is failAt's statement for a report without one (a halt after the
// goroutine model set thread.cur to nil).
var noStmt = new(scenario.Stmt)

// failAt is haltAt: fail at statement st (nil: the thread's current one).
func (r *run) failAt(st *scenario.Stmt, o Outcome, kind string, words func() string) stepEnd {
	r.term = &Terminal{Outcome: o, Kind: kind, Thread: r.id}
	if r.n != nil {
		switch st {
		case nil:
			st = r.m.stmtAt(r.s, r.id)
		case noStmt:
			st = nil
		}
		msg := words()
		r.n.report = Report{Kind: kind, Thread: r.name(), Stmt: stmtRef(st), Op: stmtOp(st), Message: msg,
			DuringUnwind: r.unwinding()}
		if r.n.trace { // at thread.cur, which is not st where they differ
			r.record(nil, EvEnd, haltEventWords(o, msg))
		}
	}
	return stepHalt
}

// unwinding is thread.unwinding: the policy's forced unwind runs on the
// thread (a thread without native frames or locals ends at once in it).
func (r *run) unwinding() bool {
	if r.s.stacks != nil {
		return r.stack().unwinding
	}
	return slices.ContainsFunc(r.t.frames, func(f vmFrame) bool { return f.kind == fUnwind })
}

// name is the thread's name.
func (r *run) name() string { return r.m.sc.Threads[r.id].Name }

// frame runs the top frame until it yields, blocks, or hands over to
// another frame.
func (r *run) frame() stepEnd {
	f := r.top()
	switch f.kind {
	case fMain:
		return r.mainFrame(f)
	case fThread:
		return r.threadFrame(f)
	case fPyBlock, fBody, fStmt:
		return r.blockFrame(f)
	case fWork:
		return r.work(f)
	case fLoop, fForever, fUntil:
		return r.loop(f)
	case fLock:
		return r.locked(f)
	case fBlocking:
		return r.blocking(f)
	case fRelease:
		return r.pop()
	case fTakeGIL:
		return r.takeGIL(f)
	case fFinalize:
		return r.finalize(f)
	case fEnsure, fUnensure:
		return r.ensureEnd(f)
	case fPrint:
		return r.print(f)
	case fStdout:
		return r.takeStdout(f)
	case fWriteOut:
		return r.writeOut(f)
	case fGuardBlock:
		return r.guardBlock(f)
	case fNonDaemon:
		return r.waitNonDaemon(f)
	case fGroup:
		return r.group(f)
	case fTLS:
		return r.tlsFrame(f)
	case fTLSBody:
		return r.tlsBody(f)
	case fTstates:
		return r.tstates(f)
	case fEndThread:
		return r.endNow(uint8(f.aux))
	case fParked:
		panic("runtime: a parked thread ran again")
	case fNative:
		return r.native(f)
	case fItems:
		return r.runFrameItems(f)
	case fCleanup:
		return r.cleanupBody(f)
	case fUnwind:
		return r.unwind(f)
	}
	panic("runtime: unknown frame kind")
}

// blockFrame runs pyBlock (where a raise stops), exec (i: the next
// statement) and stmt (its scheduling point, then its semantics).
func (r *run) blockFrame(f *vmFrame) stepEnd {
	switch f.kind {
	case fPyBlock:
		if f.phase == 0 {
			f.phase = 1
			return r.push(vmFrame{kind: fBody, a: f.a})
		}
		return r.pop()
	case fBody:
		b := r.m.blocks[f.a]
		if int(f.i) >= len(b) {
			return r.pop()
		}
		f.i++
		return r.push(vmFrame{kind: fStmt, a: r.m.stmtID(f.a, int(f.i)-1)})
	}
	switch f.phase { // fStmt
	case 0:
		f.phase = 1
		return stepYield
	case 1:
		f.phase = 2
		return r.stmt(f.a)
	}
	return r.pop()
}

// mustExit is Interp.mustExit.
func (r *run) mustExit() bool { return r.m.mustExit(r.s, r.id) }

func (m *Machine) mustExit(s *VMState, id int) bool {
	if s.flags&vmFinalizing == 0 || id == 0 || m.noStrike {
		return false
	}
	return !m.preset.PerThreadMustExit || s.threads[id].is(tMarked)
}

// dropGIL is dropGIL, for a thread that holds the GIL.
func (r *run) dropGIL() {
	if r.t.is(tHasGIL) {
		r.s.holder = -1
		r.t.set(tHasGIL, false)
		r.event(EvDropGIL, "")
	}
}

// needGIL is needGIL's test; noGILAt (vm_heap.go) is its report, and
// noGIL its report for statements that are no DECREF, which a debug build
// reports as the release build does.
func (r *run) needGIL() bool { return r.t.is(tHasGIL) }

func (r *run) noGIL() stepEnd {
	words := func() string { return noGILWords(r.name(), stmtOp(r.m.runsStmt(r.s, r.id))) }
	if r.afterFinalize() {
		return r.fail(Corruption, KindAfterFinalize, words)
	}
	return r.fail(Corruption, KindNoGIL, words)
}

// afterFinalize: main runs after Py_FinalizeEx returned, as a plain OS
// thread (afterfinalize.go).
func (r *run) afterFinalize() bool { return r.id == 0 && r.s.flags&vmAfterFinalize != 0 }

// foreign: a foreign thread, or main after Py_FinalizeEx returned.
func (r *run) foreign() bool {
	return r.m.sc.Threads[r.id].Kind == scenario.Foreign || r.afterFinalize()
}

// stmt runs the semantics of statement id after its scheduling point
// (stmt.go, threads.go).
func (r *run) stmt(id int16) stepEnd {
	st := r.m.stmts[id]
	if r.afterFinalize() {
		if end, ran := r.afterFinalizeStmt(st); ran {
			return end
		}
	}
	switch st.Op {
	case scenario.OpYield:
		return stepOn
	case scenario.OpSet:
		r.s.events |= 1 << r.m.events[st.Name]
		r.event(EvSet, st.Name)
		return stepOn
	case scenario.OpUnlock, scenario.OpLock:
		return r.lockStmt(st)
	case scenario.OpWork:
		return r.push(vmFrame{kind: fWork, a: id})
	case scenario.OpIO:
		return r.push(vmFrame{kind: fBlocking})
	case scenario.OpAcquire:
		return r.push(vmFrame{kind: fTakeGIL})
	case scenario.OpRelease:
		if !r.t.is(tHasGIL) {
			return r.fail(Abort, KindFatalRelease, func() string { return fatalReleaseWords(r.name()) })
		}
		return r.releaseGIL()
	case scenario.OpLoop, scenario.OpForever, scenario.OpUntil:
		kind := fLoop
		switch st.Op {
		case scenario.OpForever:
			kind = fForever
		case scenario.OpUntil:
			kind = fUntil
		}
		return r.push(vmFrame{kind: kind, a: id})
	case scenario.OpIf:
		return r.ifFinalizing(id)
	case scenario.OpPark:
		r.event(EvPark, parkWords)
		r.t.flags |= tHung
		r.push(vmFrame{kind: fParked})
		return r.block(wForever, 0)
	case scenario.OpWait:
		if e := r.m.events[st.Name]; r.s.events&(1<<e) == 0 {
			return r.push(vmFrame{kind: fBlocking, a: int16(wEvent), i: int32(e)})
		}
		return stepOn
	case scenario.OpPrint:
		return r.push(vmFrame{kind: fPrint, a: id})
	case scenario.OpAtThreadExit:
		return r.registerTLS(id)
	case scenario.OpEnsure:
		return r.ensure()
	case scenario.OpUnensure:
		return r.unensure()
	case scenario.OpExit:
		// exit: main's body ends here (mainExited); finalization follows.
		if r.n != nil {
			r.n.exitCode = st.N
		}
		for r.top().kind != fMain { // guard blocks close at the exit
			r.closeBlocks(st, r.t.frames[len(r.t.frames)-1:])
			r.pop()
		}
		return stepOn
	case scenario.OpInterpGuard, scenario.OpInterpGuardBlock, scenario.OpClose,
		scenario.OpEnsureGuard, scenario.OpEnsureView, scenario.OpIfGuarded:
		return r.guardStmt(st, id)
	case scenario.OpSpawn, scenario.OpJoin:
		if ids := r.m.group[id]; ids != nil {
			return r.push(vmFrame{kind: fGroup, a: id})
		}
		return r.spawnOrJoin(st, r.m.sc.Thread(st.Name))
	case scenario.OpNew, scenario.OpLocal, scenario.OpPublish, scenario.OpIncref, scenario.OpDecref, scenario.OpUse, scenario.OpGuard, scenario.OpNative, scenario.OpHold, scenario.OpCleanup:
		return r.heapStmt(st, id) // vm_heap.go
	}
	panic("runtime: the step function has no semantics for " + st.Op.String())
}

// lockStmt is lock (its wait: the fLock frame) and unlock.
func (r *run) lockStmt(st *scenario.Stmt) stepEnd {
	l, ok := r.m.locks[st.Name]
	if st.Op == scenario.OpUnlock {
		if !ok || r.s.locks[l] != int8(r.id) {
			return r.fail(Corruption, KindBadUnlock, func() string { return badUnlockWords(r.name(), st.Name) })
		}
		r.s.locks[l] = -1
		r.event(EvUnlock, st.Name)
		return stepOn
	}
	if r.s.locks[l] >= 0 {
		r.event(EvWaitLock, st.Name)
		r.t.flags |= tInCall
		r.push(vmFrame{kind: fLock, a: l})
		return r.block(wLock, int(l))
	}
	r.s.locks[l] = int8(r.id)
	r.event(EvLock, st.Name)
	return stepOn
}

// locked is the end of lock's wait: the lock is free and the thread
// takes it.
func (r *run) locked(f *vmFrame) stepEnd {
	r.t.set(tInCall, false)
	r.s.locks[f.a] = int8(r.id)
	if r.tracing() {
		r.event(EvLock, r.m.stmtAt(r.s, r.id).Name)
	}
	return r.pop()
}

// ifFinalizing is ifFinalizing: Py_IsFinalizing() read after the
// statement's scheduling point chooses the block.
func (r *run) ifFinalizing(id int16) stepEnd {
	b, finalizing := r.m.sub[id].els, r.s.flags&vmFinalizing != 0
	if finalizing {
		b = r.m.sub[id].body
	}
	if r.tracing() {
		r.event(EvNote, isFinalizingWords(finalizing))
	}
	return r.push(vmFrame{kind: fBody, a: b})
}

// afterFinalizeStmt is afterFinalizeStmt: the statements that mean
// something else once Py_FinalizeEx returned; ran is false for the
// others.
func (r *run) afterFinalizeStmt(st *scenario.Stmt) (end stepEnd, ran bool) {
	switch st.Op {
	case scenario.OpGuard: // Py_IsFinalizing() is still true: no DECREF
		if r.tracing() {
			r.event(EvNote, guardSkippedWords(st.Name))
		}
		return stepOn, true
	case scenario.OpNew, scenario.OpLocal, scenario.OpPublish, scenario.OpIncref,
		scenario.OpDecref, scenario.OpUse, scenario.OpPrint, scenario.OpWork:
		o := int16(-1)
		if st.Op == scenario.OpDecref {
			o = r.s.heap.bound[r.m.objs[st.Name]]
		}
		return r.noGILAt(st, o, func() string { return afterFinalizeWords(r.name(), stmtOp(st)) }), true
	case scenario.OpAcquire:
		return r.fail(Corruption, KindUAFTstate, func() string { return afterFinalizeAcquireWords(r.name()) }), true
	}
	return stepOn, false
}
