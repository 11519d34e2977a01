package runtime

import (
	"fmt"

	"github.com/sasha-s/go-deadlock"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// exec runs a body for t. Every statement starts with a scheduling point.
func (in *Interp) exec(t *thread, body []*scenario.Stmt) {
	for _, st := range body {
		in.stmt(t, st)
	}
}

func (in *Interp) stmt(t *thread, st *scenario.Stmt) {
	prev := t.cur
	t.cur = st
	t.enter(st)
	// Also when a panic (an exit, a raise) leaves the statement: a raise
	// goes on in the enclosing Python-level block (catchRaise restores
	// t.cur). The end of a run leaves t.cur alone, for the report.
	defer t.leave()
	in.point(t)
	in.do(t, st)
	t.cur = prev
}

func (in *Interp) do(t *thread, st *scenario.Stmt) {
	if in.doV2(t, st) { // the v2 statements: v2stmt.go
		return
	}
	switch st.Op {
	case scenario.OpSpawn:
		in.needGIL(t, st)
		in.spawn(t, st)
	case scenario.OpJoin:
		in.join(t, st.Name)
	case scenario.OpWork:
		for i := 0; i < st.N; i++ {
			if i > 0 {
				t.setIter(i)
				in.point(t)
			}
			in.needGIL(t, st)
			in.evalBreaker(t)
			t.sinceTake++
		}
	case scenario.OpIO:
		in.blockingCall(t, "io", nil)
	case scenario.OpPrint:
		in.print(t, st)
	case scenario.OpAcquire:
		in.takeGIL(t, "acquire")
	case scenario.OpRelease:
		if !t.hasGIL {
			in.halt(t, Abort, KindFatalRelease, "Fatal Python error: PyEval_SaveThread: the function must be called with the GIL held ("+t.name+" does not hold it)")
		}
		in.releaseGIL(t)
	case scenario.OpEnsure:
		in.ensure(t)
	case scenario.OpUnensure:
		in.unensure(t)
	case scenario.OpNew:
		in.needGIL(t, st)
		in.heap.create(st.Name, nil)
	case scenario.OpLocal:
		t.locals = append(t.locals, in.heap.create(st.Name, t))
	case scenario.OpPublish:
		in.needGIL(t, st)
		if o := in.object(t, st.Name, "publish"); o != nil && !o.published {
			o.published = true
			if o.stack == nil {
				in.heap.globals = append(in.heap.globals, o)
			}
		}
	case scenario.OpIncref:
		in.needGIL(t, st)
		if o := in.object(t, st.Name, "incref"); o != nil {
			o.refs++
		}
	case scenario.OpDecref:
		in.needGIL(t, st)
		if o := in.heap.bound[st.Name]; o != nil {
			in.decrefObject(t, o, "decref")
		}
	case scenario.OpUse:
		in.needGIL(t, st)
		in.object(t, st.Name, "use")
	case scenario.OpGuard:
		if in.finalizing && t.id != 0 {
			in.event(t, EvNote, "guard "+st.Name+": finalizing, DECREF skipped")
			return
		}
		in.needGIL(t, st)
		if o := in.heap.bound[st.Name]; o != nil {
			in.decrefObject(t, o, "guarded decref")
		}
	case scenario.OpLock:
		in.lock(t, st.Name)
	case scenario.OpUnlock:
		l := in.locks[st.Name]
		if l == nil || l.holder != t.id {
			in.halt(t, Corruption, KindBadUnlock, fmt.Sprintf("%s unlocked mutex %s, which it does not hold", t.name, st.Name))
		}
		l.holder = -1
		if l.real != nil {
			l.real.Unlock()
		}
		in.event(t, EvUnlock, st.Name)
	case scenario.OpSet:
		in.events[st.Name] = true
		in.event(t, EvSet, st.Name)
	case scenario.OpWait:
		if in.events[st.Name] {
			return
		}
		in.blockingCall(t, "wait "+st.Name, eventWait{in, t, st.Name})
	case scenario.OpNative:
		in.native(t, st)
	case scenario.OpHold:
		f := t.frames[len(t.frames)-1]
		if o := in.heap.bound[st.Name]; o != nil {
			f.items = append(f.items, frameItem{hold: o, stmt: st})
		}
	case scenario.OpCleanup:
		f := t.frames[len(t.frames)-1]
		f.items = append(f.items, frameItem{stmt: st})
	case scenario.OpLoop:
		for i := 0; i < st.N; i++ {
			if i > 0 {
				t.setIter(i)
				in.point(t)
			}
			in.exec(t, st.Body)
		}
	case scenario.OpForever:
		for first := true; ; first = false {
			if !first {
				in.point(t)
			}
			in.exec(t, st.Body)
		}
	case scenario.OpYield:
	case scenario.OpExit:
		in.exitCode = st.N
		panic(mainExited{})
	default:
		panic("runtime: unknown statement " + st.Op.String())
	}
}

// needGIL reports a GIL-requiring statement run without the GIL.
func (in *Interp) needGIL(t *thread, st *scenario.Stmt) {
	if !t.hasGIL {
		what := st.Op.String()
		if st.Name != "" {
			what += " " + st.Name
		}
		in.noGILAt(t, t.cur, fmt.Sprintf("%s did %s without the GIL", t.name, what))
	}
}

// blockingCall drops the GIL (if held) around a blocking call, waits for w
// (nil: the call returns at the scheduler's choice) and takes the GIL back.
// Without the GIL, the call simply blocks.
func (in *Interp) blockingCall(t *thread, site string, w chaos.Wait) {
	had := t.hasGIL
	t.noteRetake(had)
	if had {
		in.releaseGIL(t)
	}
	t.inCall = true
	if w == nil {
		in.point(t)
	} else {
		in.ctl.Block(t.id, w)
	}
	t.inCall = false
	if had {
		in.takeGIL(t, site)
	}
}

func (in *Interp) lock(t *thread, name string) {
	l := in.locks[name]
	if l == nil {
		l = &cLock{name: name, holder: -1}
		if in.wild != nil {
			l.real = new(deadlock.Mutex)
			in.wild.AddLock(l.real)
		}
		in.locks[name] = l
	}
	switch {
	case l.real != nil && l.holder < 0 && l.waiters == 0:
		l.real.Lock() // free for real too: no one holds it or is being handed it
	case l.real != nil:
		// Wild mode: a real wait, which go-deadlock times. (Never a
		// failed TryLock: see takeGIL.)
		in.event(t, EvWaitLock, name)
		l.waiters++
		t.inCall = true
		in.wild.BlockReal(t.id, l.real, l)
		t.inCall = false
		l.waiters--
	case l.holder >= 0:
		in.event(t, EvWaitLock, name)
		t.inCall = true
		in.ctl.Block(t.id, l)
		t.inCall = false
	}
	l.holder = t.id
	in.event(t, EvLock, name)
}

// A cLock is its own Wait: a thread blocked on it can go on once it is
// free, and its holder is the one to unblock it.
func (l *cLock) Ready() bool    { return l.holder < 0 }
func (l *cLock) Blocker() int   { return l.holder }
func (l *cLock) String() string { return "mutex " + l.name }

// BlockerOnly: only the holder unlocks a mutex (another thread's unlock is
// a bad unlock, which ends the run).
func (l *cLock) BlockerOnly() bool { return true }

// print is Python's print(): Python code, so before it appends it honours
// a drop request like one bytecode step of work (a printing loop never
// starves other threads). It appends to the stdout buffer under the
// buffer lock without dropping the GIL; `print flush` (flush=True, or a
// full buffer) then writes the buffer, dropping the GIL around write()
// while it holds the lock (bufferedio.c; research note item 10).
func (in *Interp) print(t *thread, st *scenario.Stmt) {
	in.needGIL(t, st)
	in.evalBreaker(t)
	t.sinceTake++
	in.takeStdout(t)
	in.output = append(in.output, st.Text...)
	in.output = append(in.output, '\n')
	in.buffered += len(st.Text) + 1
	if st.Flush {
		in.writeOut(t, "print")
	}
	in.setStdout(-1)
}

// ensure is PyGILState_Ensure. The outermost ensure of a thread without a
// thread state builds one before any must-exit check: after step 7 that
// touches freed interpreter state (gh-124619, open in 3.14).
func (in *Interp) ensure(t *thread) {
	if !t.tstate {
		if in.tstatesFreed {
			in.halt(t, Corruption, KindUAFTstate, t.name+": PyGILState_Ensure built a thread state after finalization freed the interpreter's thread states (gh-124619)")
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
		in.halt(t, Abort, KindFatalUnensure, "Fatal Python error: PyGILState_Release: thread state must be current when releasing ("+t.name+": unbalanced unensure)")
	}
	took := t.ensures[len(t.ensures)-1]
	t.ensures = t.ensures[:len(t.ensures)-1]
	if took {
		if !t.hasGIL {
			in.halt(t, Abort, KindFatalRelease, "Fatal Python error: PyGILState_Release without the GIL ("+t.name+")")
		}
		in.releaseGIL(t)
	}
	if len(t.ensures) == 0 && t.kind == scenario.Foreign {
		t.tstate = false
	}
}

// native runs a C/C++ frame; at its end its items run in reverse order.
func (in *Interp) native(t *thread, st *scenario.Stmt) {
	f := &frame{stmt: st}
	t.frames = append(t.frames, f)
	raised := in.catchRaise(t, st.Body)
	if raised != nil {
		t.raising++ // thread data: the items below may be scheduling points
	}
	in.runFrameItems(t, f)
	t.frames = t.frames[:len(t.frames)-1]
	if raised != nil {
		t.raising--
		// An exception leaves the frame normally: its items ran, and it
		// goes on to the enclosing Python-level block (spec v2).
		panic(*raised)
	}
	if len(t.frames) == 0 && t.kind != scenario.Foreign && !t.hasGIL {
		in.halt(t, Corruption, KindNoGIL, t.name+" left its outermost native frame without the GIL")
	}
}

// runFrameItems releases a frame's smart pointers and runs its cleanup
// blocks, last first, with whatever GIL state the thread has.
// An exception raised inside a cleanup body ends that body; the other items
// still run, and the exception goes on once they have.
func (in *Interp) runFrameItems(t *thread, f *frame) {
	var raised *pyRaise
	for i := len(f.items) - 1; i >= 0; i-- {
		it := f.items[i]
		f.items = f.items[:i]
		if it.hold != nil {
			if !t.hasGIL {
				in.noGILAt(t, it.stmt, fmt.Sprintf("%s: smart pointer released %s (Py_DECREF) without the GIL%s", t.name, it.hold.name, unwindNote(t)))
			}
			in.decrefObject(t, it.hold, "smart pointer release")
			continue
		}
		if it.stmt.OnUnwind && !t.unwinding {
			continue // cleanup unwind: only on the forced unwind (v2stmt.go)
		}
		t.inCleanup++
		e := in.catchRaise(t, it.stmt.Body)
		t.inCleanup--
		if e != nil && raised == nil {
			raised = e
			t.raising++ // thread data, as in native
		}
	}
	if raised != nil {
		t.raising--
		panic(*raised)
	}
}

func unwindNote(t *thread) string {
	if t.unwinding {
		return " during the forced unwind"
	}
	return ""
}
