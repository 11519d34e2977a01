package runtime

// The step function's GIL, blocking calls, loops, the policies and
// Py_FinalizeEx: each restates the goroutine model's function it names.

// work is work: N bytecode steps, each a scheduling point after the first,
// honouring a drop request (evalBreaker).
func (r *run) work(f *vmFrame) stepEnd {
	n := int32(r.m.stmts[f.a].N)
	switch f.phase {
	case 0:
		if f.i >= n {
			return r.pop()
		}
		f.phase = 1
		if f.i > 0 {
			return stepYield
		}
		return stepOn
	case 1:
		if !r.needGIL() {
			return r.noGIL()
		}
		f.phase = 2
		return r.evalBreaker()
	}
	r.t.flags |= tStepped
	f.i++
	f.phase = 0
	return stepOn
}

// evalBreaker is evalBreaker: on another thread's drop request, once the
// thread has run a step since it took the GIL, it hands the GIL over and
// takes it back. It pushes the frames and returns the step's end.
func (r *run) evalBreaker() stepEnd {
	s := r.s
	if s.dropReq && int(s.requester) != r.id && r.t.is(tStepped) && r.t.is(tHasGIL) {
		r.push(vmFrame{kind: fTakeGIL})
		return r.releaseGIL()
	}
	return stepOn
}

// loop is loop, forever and until: a scheduling point between passes.
func (r *run) loop(f *vmFrame) stepEnd {
	st := r.m.stmts[f.a]
	if f.phase == 0 {
		if f.kind == fLoop && int(f.i) >= st.N {
			return r.pop()
		}
		f.phase = 1
		if f.i > 0 {
			return stepYield
		}
	}
	f.phase = 0
	if f.kind == fUntil && r.s.events&(1<<r.m.events[st.Name]) != 0 {
		return r.pop()
	}
	if f.kind == fLoop || f.i == 0 {
		f.i++
	}
	return r.push(vmFrame{kind: fBody, a: r.m.sub[f.a].body})
}

// blocking is blockingCall: drop the GIL (if held), wait (a scheduling
// point when the frame has no wait), take the GIL back.
func (r *run) blocking(f *vmFrame) stepEnd {
	switch f.phase {
	case 0:
		f.phase = 1
		if r.t.is(tHasGIL) {
			f.aux = 1
			return r.releaseGIL()
		}
		return stepOn
	case 1:
		r.t.flags |= tInCall
		f.phase = 2
		if f.a == 0 {
			return stepYield
		}
		return r.block(uint8(f.a), int(f.i))
	case 2:
		r.t.set(tInCall, false)
		if f.aux == 1 {
			f.phase = 3
			return r.push(vmFrame{kind: fTakeGIL})
		}
	}
	return r.pop()
}

// releaseGIL is releaseGIL: a voluntary drop that, under FORCE_SWITCHING
// with a drop request of another thread pending, waits until another
// thread has taken the GIL.
func (r *run) releaseGIL() stepEnd {
	s := r.s
	pending := s.dropReq && int(s.requester) != r.id
	if !r.t.is(tHasGIL) {
		panic("runtime: the step function drops a GIL it does not hold")
	}
	r.dropGIL()
	if pending {
		s.dropReq = false
		r.event(EvDropRequest, forceSwitchingWords)
		r.push(vmFrame{kind: fRelease})
		return r.block(wSwitch, 0)
	}
	return stepOn
}

// takeGIL is takeGIL with takeGILWindow and dropGILWindow.
func (r *run) takeGIL(f *vmFrame) stepEnd {
	s, p := r.s, r.m.preset
	switch f.phase {
	case 0:
		if r.mustExit() && p.CheckEntry {
			return r.strike("", "before waiting")
		}
		f.phase = 2
		if p.TakeGILWindow && r.id != 0 && s.flags&vmFinalizing == 0 && r.t.is(tTstate) {
			f.phase = 1
			return stepYield
		}
		return stepOn
	case 1:
		if r.t.is(tTstateFreed) {
			return r.fail(Corruption, KindTakeGILWindow, func() string { return takeGILWindowWords(r.name(), r.site()) })
		}
		f.phase = 2
		return stepOn
	case 3:
		r.t.set(tWaitingGIL, false)
		if s.holder >= 0 && r.mustExit() && p.CheckWaiting {
			if p.ResetDropRequest && int(s.requester) == r.id {
				s.dropReq, s.requester = false, -1
			}
			return r.strike("", "while waiting")
		}
		f.phase = 2
		return stepOn
	}
	if s.holder >= 0 {
		return r.waitGIL(f)
	}
	pending := s.dropReq && int(s.requester) != r.id || r.otherGILWaiter()
	s.holder, s.last = int8(r.id), int8(r.id)
	if s.dropReq {
		s.dropReq, s.requester = false, -1
	}
	r.t.flags |= tHasGIL
	r.t.set(tStepped, false)
	if r.tracing() {
		r.event(EvTakeGIL, r.site())
	}
	if r.t.is(tTstateFreed) && !p.CheckEntry {
		return r.fail(Corruption, KindUAFTstate, func() string { return freedTstateWords(r.name()) })
	}
	r.pop()
	if r.mustExit() {
		if p.DropGILReadsTstate && r.t.is(tTstateFreed) && pending {
			return r.fail(Corruption, KindTakeGILWindow, func() string { return dropGILWindowWords(r.name(), r.site()) })
		}
		r.dropGIL()
		return r.strike("", "after acquiring")
	}
	return stepOn
}

// waitGIL is takeGIL's wait for the GIL another thread holds (or the
// thread itself: acquire twice blocks for ever), asking for a drop.
func (r *run) waitGIL(f *vmFrame) stepEnd {
	s := r.s
	if int(s.holder) == r.id {
		r.event(EvBlock, ownGILWords)
	}
	if r.tracing() {
		r.event(EvWaitGIL, r.site())
	}
	s.dropReq, s.requester = true, int8(r.id)
	r.t.flags |= tWaitingGIL
	f.phase = 3
	return r.block(wGIL, 0)
}

func (r *run) otherGILWaiter() bool {
	for i := range r.s.threads {
		if i != r.id && r.s.threads[i].is(tWaitingGIL) {
			return true
		}
	}
	return false
}

// strike is strike: the thread-exit policy or the exit callback (the
// forced unwind and terminate: vm_native.go), met at site ("": the
// caller of the fTakeGIL frame on top, Machine.siteOf) when.
func (r *run) strike(site, when string) stepEnd {
	by := func() string { return strikeByWords(r.m.sc.Callback != "", r.m.action) }
	if r.n != nil {
		if r.n.strikes == 0 {
			r.n.first = r.n.steps
		}
		r.n.strikes++
		if site == "" {
			site = r.site()
		}
		if r.n.trace {
			r.event(EvStrike, strikeEventWords(by(), site, when))
		}
	}
	words := func() string { return strikeWords(r.name(), site, when, by(), r.m.action) }
	switch r.m.action {
	case PolicyAbort:
		return r.fail(Abort, KindPolicyAbort, words)
	case PolicyExit:
		return r.fail(LostCleanup, KindProcessExit, words)
	case PolicyHang:
		r.dropGIL()
		if r.tracing() {
			r.event(EvHang, by())
		}
		r.t.flags |= tHung
		r.t.frames = append(r.t.frames[:0], vmFrame{kind: fParked})
		return r.block(wForever, 0)
	case PolicyUnwind:
		return r.push(vmFrame{kind: fUnwind})
	case PolicyTerminate:
		return r.terminate()
	case CallbackReturn:
		return r.fail(Contract, KindCallbackReturned, words)
	case CallbackTerminateThread:
		return r.fail(Contract, KindCallbackEndedThread, words)
	}
	panic("unknown policy " + r.m.action)
}

// Finalization steps of the fFinalize frame (finalize).
const (
	finStart uint8 = iota
	finWaitThreads
	finAtexitPhase
	finAtexit
	finAtexitDone
	finGuards
	finGuardsCheck
	finGuardsBlock
	finGuardsAfter
	finGuardsRound
	finFlag
	finFlagDone
	finFlush
	finFlushWrite
	finFlushEnd
	finTeardownPhase
	finTeardown
	finTeardownDone
	finCollect
	finFreePhase
	finFree
	finFreeDone
	finExitPhase
	finAfter
	finExit
)

// finalize is finalize (Py_FinalizeEx) with waitNonDaemon; the subset has
// no stdout writes, ensures, guards or after_finalize blocks, so step 5
// and the end of step 7 change nothing but the phase.
func (r *run) finalize(f *vmFrame) stepEnd {
	s := r.s
	switch f.phase {
	case finStart:
		s.flags |= vmFinalizeStarted
		return r.setPhase(f, 1, finWaitThreads)
	case finWaitThreads:
		f.phase = finAtexitPhase
		return r.push(vmFrame{kind: fNonDaemon})
	case finAtexitPhase:
		f.i = int32(len(r.m.atexit)) - 1
		return r.setPhase(f, 2, finAtexit)
	case finAtexit:
		if f.i < 0 {
			f.phase = finGuards
			return stepOn
		}
		f.phase = finAtexitDone
		return r.push(vmFrame{kind: fPyBlock, a: r.m.atexit[f.i]})
	case finAtexitDone, finTeardownDone:
		if !r.t.is(tHasGIL) {
			what := "an atexit handler"
			if f.phase == finTeardownDone {
				what = "a teardown block"
			}
			return r.failAt(noStmt, Corruption, KindNoGIL, func() string { return returnedNoGILWords(what) })
		}
		if f.phase == finAtexitDone {
			f.i--
			f.phase = finAtexit
		} else {
			f.i++
			f.phase = finTeardown
		}
		return stepOn
	case finGuards, finGuardsCheck, finGuardsBlock, finGuardsAfter, finGuardsRound:
		return r.waitGuards(f)
	}
	return r.finalizeLate(f)
}

// finalizeLate is finalize from step 4 on: the flag, the flush,
// teardown, the collection of the globals, step 7, after_finalize blocks
// and the exit.
func (r *run) finalizeLate(f *vmFrame) stepEnd {
	s := r.s
	switch f.phase {
	case finFlag:
		f.phase = finFlagDone
		return r.setFinalizing()
	case finFlagDone:
		return r.setPhase(f, 4, finFlush)
	case finFlush: // flushStdout
		f.phase = finFlushWrite
		return r.push(vmFrame{kind: fStdout})
	case finFlushWrite:
		f.phase = finFlushEnd
		if s.flags&vmBuffered != 0 {
			return r.push(vmFrame{kind: fWriteOut})
		}
		return stepOn
	case finFlushEnd:
		s.stdout, f.i = -1, 0
		return r.setPhase(f, 5, finTeardown)
	case finTeardown:
		if int(f.i) >= len(r.m.teard) {
			return r.setPhase(f, 6, finFreePhase)
		}
		f.phase = finTeardownDone
		return r.push(vmFrame{kind: fPyBlock, a: r.m.teard[f.i]})
	case finFreePhase:
		return r.collect(f)
	case finFree:
		s.flags |= vmTstatesFreed
		f.phase = finFreeDone
		return r.push(vmFrame{kind: fTstates, aux: 1})
	case finFreeDone:
		if r.m.preset.GILStateFiniAbort && r.m.hasEnsure { // gilstateFini
			return r.setPhase(f, vmPhaseGILStateFini, finExitPhase)
		}
		f.phase = finExitPhase
		return stepOn
	case finExitPhase:
		if len(r.m.after) > 0 {
			f.i = 0
			return r.setPhase(f, vmPhaseAfter, finAfter)
		}
		return r.setPhase(f, 8, finExit)
	case finAfter: // afterFinalize: main runs on without the GIL or a thread state
		if f.i == 0 {
			s.flags |= vmAfterFinalize
			if r.t.is(tHasGIL) {
				r.event(EvDropGIL, finiGILWords)
			}
			r.t.set(tHasGIL, false) // the destroyed GIL stays locked by main
			r.t.set(tTstate, false)
		}
		if int(f.i) < len(r.m.after) {
			f.i++
			return r.push(vmFrame{kind: fBody, a: r.m.after[f.i-1]})
		}
		return r.setPhase(f, 8, finExit)
	}
	r.term = &Terminal{Outcome: Clean, Kind: KindExit}
	if r.n != nil {
		r.n.report = Report{Kind: KindExit, Message: exitWords(r.n.exitCode)}
	}
	return stepHalt
}

// setPhase is setPhase: a scheduling point in the new phase.
func (r *run) setPhase(f *vmFrame, phase, next uint8) stepEnd {
	r.s.phase = phase
	r.event(EvPhase, vmPhases[phase])
	f.phase = next
	return stepYield
}

// setFinalizing is setFinalizing and raiseFlag: the flag, the marks of
// 3.14, and the thread states deleted right after it in 3.9-3.13, or
// cleared in 3.14 and later (their Python-level thread-locals die on main).
func (r *run) setFinalizing() stepEnd {
	s := r.s
	s.flags |= vmFinalizing | vmRefusing
	for i := 1; i < len(s.threads); i++ {
		if o := &s.threads[i]; o.is(tTstate) && !o.is(tEnded) {
			o.flags |= tMarked
		}
	}
	switch {
	case r.m.preset.TstatesFreedAtFlag:
		return r.push(vmFrame{kind: fTstates, aux: 1})
	case r.m.preset.TstatesClearedAtFlag:
		return r.push(vmFrame{kind: fTstates})
	}
	return stepOn
}

// waitNonDaemon is waitNonDaemon (threading._shutdown).
func (r *run) waitNonDaemon(f *vmFrame) stepEnd {
	switch f.phase {
	case 0:
		if r.m.aliveNonDaemon(r.s) < 0 {
			return r.pop()
		}
		f.phase = 1
		return r.releaseGIL()
	case 1:
		f.phase = 2
		return r.block(wNonDaemon, 0)
	}
	f.phase = 0
	return r.push(vmFrame{kind: fTakeGIL})
}

// waitGuards is waitGuards: 3.15.2's guard wait between atexit and the
// flag, round again when a guard was granted before main refused them.
func (r *run) waitGuards(f *vmFrame) stepEnd {
	s := r.s
	switch f.phase {
	case finGuards:
		if !r.m.preset.Guards {
			return r.setPhase(f, 3, finFlag)
		}
		return r.setPhase(f, vmPhaseWaitGuards, finGuardsCheck)
	case finGuardsCheck:
		if len(s.guards) == 0 {
			break
		}
		s.flags |= vmWaiting
		f.phase = finGuardsBlock
		return r.releaseGIL()
	case finGuardsBlock:
		f.phase = finGuardsAfter
		return r.block(wGuards, 0)
	case finGuardsAfter:
		f.phase = finGuardsRound
		return r.push(vmFrame{kind: fTakeGIL})
	case finGuardsRound:
		s.flags &^= vmWaiting
		if len(s.guards) == 0 {
			break
		}
		r.event(EvNote, guardsRoundWords)
		r.setPhase(f, 1, finGuards) // wait-threads, then round again
		r.push(vmFrame{kind: fNonDaemon})
		return stepYield
	}
	s.flags |= vmRefusing
	r.event(EvNote, guardsRefusedWords)
	return r.setPhase(f, 3, finFlag)
}

// site is the site takeGIL reports a strike at (the goroutine model's
// takeGIL argument), read from the frame that took the GIL: the one
// below an fTakeGIL frame on top, else the top one (the take has ended).
func (r *run) site() string {
	fr := r.t.frames
	i := len(fr) - 1
	if fr[i].kind == fTakeGIL {
		i--
	}
	f := fr[i]
	switch f.kind {
	case fThread:
		return "thread start"
	case fBlocking:
		switch uint8(f.a) {
		case wNone:
			return "io"
		case wEvent:
			return "wait " + r.m.eventName(int(f.i))
		case wStart:
			return "Thread.start " + r.m.sc.Threads[f.i].Name
		}
		return "join " + r.m.sc.Threads[f.i].Name
	case fStmt:
		return "acquire"
	case fEnsure:
		return "ensure"
	case fStdout:
		return "stdout lock"
	case fWriteOut:
		if fr[i-1].kind == fPrint {
			return "print"
		}
		return "flush"
	case fNonDaemon:
		return "threading._shutdown"
	case fFinalize:
		return "the guard wait"
	}
	return "eval breaker" // work and print (evalBreaker)
}
