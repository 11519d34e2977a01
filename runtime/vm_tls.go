package runtime

import (
	"slices"
)

// Thread-local destructors in the step function, restating tls.go:
// atthreadexit registers its block once per statement and thread; plain
// blocks run on the thread at a normal end or on main when finalization
// clears the thread's state, native ones on the thread however it ends.
// The registrations live in the thread's vmStack (tls, tlsSeen).

// registerTLS is registerTLS of statement id.
func (r *run) registerTLS(id int16) stepEnd {
	stk := r.stack()
	if i, found := slices.BinarySearch(stk.tlsSeen, id); !found {
		stk.tlsSeen = slices.Insert(stk.tlsSeen, i, id)
		stk.tls = append(stk.tls, id)
	}
	return stepOn
}

// tlsFrame is runTLS: the registered blocks of owner (frame a) of one kind
// (aux 1: native) run last registered first, each once, on the running
// thread.
func (r *run) tlsFrame(f *vmFrame) stepEnd {
	if r.s.stacks == nil {
		return r.pop()
	}
	owner := &r.s.stacks[f.a]
	i := len(owner.tls) - 1
	for i >= 0 && r.m.stmts[owner.tls[i]].Native != (f.aux == 1) {
		i--
	}
	if i < 0 {
		return r.pop()
	}
	st, id := owner.tls[i], int(f.a)
	owner.tls = append(owner.tls[:i:i], owner.tls[i+1:]...)
	r.push(vmFrame{kind: fTLSBody, a: st, i: int32(id)})
	if r.tracing() { // at the block's statement (runTLS sets runner.cur)
		r.event(EvNote, tlsRunWords(r.m.sc.Threads[id].Name))
	}
	return stepOn
}

// tlsBody is runTLS's catchRaise of one block, counted in inCleanup: a
// raise ends the block and is ignored. Run on main for another thread, a
// block that returns without the GIL is main's own corruption.
func (r *run) tlsBody(f *vmFrame) stepEnd {
	if r.counted(f) {
		return stepOn
	}
	if owner := int(f.i); owner != r.id && !r.t.is(tHasGIL) {
		return r.failAt(r.m.stmts[f.a], Corruption, KindNoGIL, func() string { return tlsNoGILWords(r.m.sc.Threads[owner].Name) })
	}
	return r.pop()
}

// tstates is freeThreadStates (aux 1) and clearThreadStates (aux 0): for
// each other thread with a state, its plain destructors run on main, then
// (free) the state is gone, freed or, from 3.14, forgotten.
func (r *run) tstates(f *vmFrame) stepEnd {
	if f.phase == 1 {
		if f.aux == 1 {
			o := &r.s.threads[f.i]
			o.set(tTstate, false)
			o.set(tTstateFreed, !r.m.preset.TstatesClearedAtFlag)
		}
		f.phase = 0
	}
	for f.i++; int(f.i) < len(r.s.threads); f.i++ {
		if r.s.threads[f.i].is(tTstate) {
			f.phase = 1
			return r.push(vmFrame{kind: fTLS, a: int16(f.i)})
		}
	}
	switch {
	case f.aux == 0:
		r.event(EvNote, tstatesClearedWords)
	case r.m.preset.TstatesClearedAtFlag:
		r.event(EvNote, tstatesForgottenWords)
	default:
		r.event(EvNote, tstatesFreedWords)
	}
	return r.pop()
}

// hasTLS reports whether thread id has registered blocks of a kind left.
func (m *Machine) hasTLS(s *VMState, id int, native bool) bool {
	if s.stacks == nil {
		return false
	}
	return slices.ContainsFunc(s.stacks[id].tls, func(st int16) bool { return m.stmts[st].Native == native })
}

// pendingTLSOp is pendingTLSOp: a registered block not run yet holds op.
func (m *Machine) pendingTLSOp(s *VMState, id int, op int) bool {
	if s.stacks == nil {
		return false
	}
	return slices.ContainsFunc(s.stacks[id].tls, func(st int16) bool { return opIn(m.live.tls(st), op) })
}
