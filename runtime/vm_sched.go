package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// What the controlled scheduler (chaos.Controller) decides between two
// steps, restated for the step function: who can run, and whether the run
// ends in a deadlock.

// Wait kinds of a blocked thread (vmThread.wait), one per chaos.Wait of
// the goroutine model.
const (
	wNone      uint8 = iota
	wGIL             // gilWait
	wSwitch          // switchWait: the FORCE_SWITCHING hand-off
	wForever         // chaos.Forever: hung by the policy, or parked
	wLock            // cLock: arg is the lock id
	wJoin            // join: arg is the target
	wStart           // Thread.start: arg is the new thread
	wNonDaemon       // threading._shutdown: a non-daemon thread to end
	wEvent           // eventWait: arg is the event id
	wStdout          // the stdout lock (takeStdout)
	wGuards          // guardWait: no guard held
	wEnded           // join after Py_FinalizeEx: arg is the target
)

// ready is the wait's Ready.
func (m *Machine) ready(s *VMState, id int, kind uint8, arg int) bool {
	switch kind {
	case wNone:
		return true
	case wGIL:
		return s.holder < 0 || (m.preset.CheckWaiting && m.mustExit(s, id))
	case wSwitch:
		return int(s.last) != id
	case wLock:
		return s.locks[arg] < 0
	case wJoin:
		return s.threads[arg].is(tExiting) || (s.flags&vmFinalizing != 0 && m.preset.Join == JoinReturns)
	case wStart:
		return s.threads[arg].is(tBegan)
	case wNonDaemon:
		return m.aliveNonDaemon(s) < 0
	case wEvent:
		return s.events&(1<<arg) != 0
	case wGuards:
		return len(s.guards) == 0
	case wEnded:
		return s.threads[arg].is(tEnded)
	case wStdout:
		return s.stdout < 0 || (s.threads[id].is(tStdoutFatal) && s.threads[s.stdout].stuck())
	}
	return false
}

// blocker is the wait's Blocker, and whether only the blocker can make it
// ready (BlockerOnly).
func (m *Machine) blocker(s *VMState, id int, kind uint8, arg int) (int, bool) {
	switch kind {
	case wGIL:
		return int(s.holder), id == 0 || !m.preset.CheckWaiting || s.flags&vmFinalizing != 0 || m.noStrike
	case wSwitch:
		return int(s.requester), false
	case wLock:
		return int(s.locks[arg]), true
	case wJoin, wStart, wEnded:
		return arg, true
	case wNonDaemon:
		return m.aliveNonDaemon(s), true
	case wStdout:
		return int(s.stdout), true
	case wGuards:
		if len(s.guards) > 0 {
			return int(s.guards[0].holder), false
		}
	}
	return -1, false
}

// aliveNonDaemon is aliveNonDaemon: the first spawned non-daemon thread
// that has not ended, or -1.
func (m *Machine) aliveNonDaemon(s *VMState) int {
	for i := range s.threads {
		if m.sc.Threads[i].Kind == scenario.Thread && s.threads[i].is(tSpawned) && !s.threads[i].is(tEnded) {
			return i
		}
	}
	return -1
}

// canRun is Controller.canRun.
func (m *Machine) canRun(s *VMState, id int) bool {
	t := &s.threads[id]
	return t.is(tSpawned) && !t.is(tDone) && m.ready(s, id, t.wait, int(t.waitArg))
}

// Runnable appends the threads that can run in s to buf, increasing.
func (m *Machine) Runnable(s *VMState, buf []int) []int {
	for id := range s.threads {
		if m.canRun(s, id) {
			buf = append(buf, id)
		}
	}
	return buf
}

// End reports whether the run ends at s before the next choice, as
// Controller.pick decides: no thread can run, or main is blocked for good
// while others could. runnable is Runnable(s).
func (m *Machine) End(s *VMState, runnable []int) *Terminal {
	if len(runnable) == 0 || (runnable[0] != 0 && m.blockedForGood(s, 0)) {
		return &Terminal{Outcome: Deadlock, Kind: KindDeadlock}
	}
	return nil
}

// blockedForGood is Controller.blockedForGood (no wait of the subset is
// Hopeless).
func (m *Machine) blockedForGood(s *VMState, id int) bool {
	for hops := 0; hops <= len(s.threads); hops++ {
		t := &s.threads[id]
		if !t.is(tSpawned) {
			return false
		}
		if t.is(tDone) {
			return hops > 0
		}
		if m.ready(s, id, t.wait, int(t.waitArg)) {
			return false
		}
		if t.wait == wForever || (t.wait == wEvent && m.never(s, id, m.live.setOp(uint(t.waitArg)))) ||
			(t.wait == wGuards && m.guardNever(s)) {
			return true
		}
		next, only := m.blocker(s, id, t.wait, int(t.waitArg))
		if !only || next < 0 {
			return false
		}
		id = next
	}
	return true
}

// never is eventWait.Never through nobodyMay: no live thread other than
// the waiter can still run op (an operation's bit, vm_live.go).
func (m *Machine) never(s *VMState, waiter int, op int) bool {
	for o := range s.threads {
		t := &s.threads[o]
		if o == waiter || !opIn(m.live.anywhere(o), op) || t.is(tHung) || t.is(tEnded) {
			continue
		}
		if !t.is(tSpawned) && !m.maySpawn(s, o, waiter) {
			continue
		}
		if !t.is(tSpawned) || m.mayStill(s, o, op) {
			return false
		}
	}
	return true
}

// maySpawn is maySpawn.
func (m *Machine) maySpawn(s *VMState, o, waiter int) bool {
	if s.flags&vmFinalizing != 0 && !m.preset.SpawnWhileFinalizing {
		return false
	}
	op := m.live.spawnOp(o)
	for u := range s.threads {
		t := &s.threads[u]
		if u == o || u == waiter || t.is(tHung) || t.is(tEnded) || !opIn(m.live.anywhere(u), op) {
			continue
		}
		if !t.is(tSpawned) || m.mayStill(s, u, op) {
			return true
		}
	}
	return false
}

// mayStill is mayStill: the thread's current statement is its innermost
// statement frame.
func (m *Machine) mayStill(s *VMState, id int, op int) bool {
	cur := m.cur(s, id)
	if id == 0 || cur < 0 || m.pendingTLSOp(s, id, op) {
		return true
	}
	if !m.live.inThread(cur) {
		return true // not in a thread's body: where it is cannot be told
	}
	return opIn(m.live.future(cur), op)
}

// cur is thread.cur: the statement id of the innermost statement frame,
// -1 for none.
func (m *Machine) cur(s *VMState, id int) int16 {
	fr := s.threads[id].frames
	for i := len(fr) - 1; i >= 0; i-- {
		if fr[i].kind == fStmt || fr[i].kind == fTLSBody {
			return fr[i].a
		}
	}
	return -1
}

// LocalStep reports whether thread id's next step in s is local: it
// reads and writes only the thread's own position and its in-call flag,
// cannot end the run, cannot be disabled by another thread's step, and no
// step of another thread reads what it changes. Such a step commutes with
// every step the other threads can take before it, so {id} is a
// persistent set at s and the exhaustive search may explore it alone
// (partial-order reduction; docs/exhaustive.md proves it keeps every
// terminal outcome). One case exists: a thread that dropped the GIL under
// FORCE_SWITCHING (fRelease, the wait for another thread to take it) and
// has seen it taken goes on into io's call (blocking, phase 1) or a
// print's write (writeOut, phase 1), and yields there. (A call that
// blocks there instead, the wait of a spawn, join or event wait, is not
// local: the new wait can make main blocked for good, and End then ends
// the run, which disables every other thread's step.) Its wait is ready for good:
// s.last, which made it ready, is only ever set to the thread that takes
// the GIL, never to this one while it waits. Every read of another
// thread's record by a step (runtime/vm_*.go: cur, stuck, the finalization
// walks) reads flags this step does not change, or its innermost
// statement frame, which it does not change either; the one exception,
// stuck's read of the in-call flag of the stdout lock's holder, is ruled
// out by requiring that the thread not hold that lock. Only the
// scheduler's End reads its wait: the thread can run before the step and
// after it, so blockedForGood never follows a chain through it, and End
// is the same at every state with or without the step.
func (m *Machine) LocalStep(s *VMState, id int) bool {
	t := &s.threads[id]
	n := len(t.frames)
	if t.wait != wSwitch || int(s.last) == id || n < 2 || t.frames[n-1].kind != fRelease {
		return false
	}
	switch p := t.frames[n-2]; p.kind {
	case fBlocking: // blocking, phase 1: the in-call flag, then io's yield
		return p.phase == 1 && p.a == 0 && int(s.stdout) != id
	case fWriteOut: // writeOut, phase 1: the write's yield
		return p.phase == 1
	}
	return false
}

// SameBut reports whether s and o differ at most in thread id's record
// and native stack: what a local step may change (LocalStep; the
// exhaustive search checks each reduced step with it under its Verify
// option).
func (s *VMState) SameBut(o *VMState, id int) bool {
	c := o.Clone()
	c.threads[id] = s.threads[id]
	if c.stacks != nil {
		c.stacks[id] = s.stacks[id]
	}
	return string(c.AppendKey(nil)) == string(s.AppendKey(nil))
}
