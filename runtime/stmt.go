package runtime

import (
	"github.com/sasha-s/go-deadlock"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// semantics holds what each statement of the language (scenario.Syntaxes)
// does in the model, registered against its Op by the file that models it
// (register, from an init function): TestEveryStatementHasSemantics fails
// for a statement without them. The plain statements are registered here;
// native frames in native.go, thread-local destructors in tls.go, PEP
// 788's guards in guards.go. (after_finalize changes what some statements
// mean on main: afterfinalize.go.)
var semantics = map[scenario.Op]func(in *Interp, t *thread, st *scenario.Stmt){}

// register records the semantics of statements.
func register(m map[scenario.Op]func(in *Interp, t *thread, st *scenario.Stmt)) {
	for op, fn := range m {
		if semantics[op] != nil {
			panic("runtime: semantics registered twice for " + op.String())
		}
		semantics[op] = fn
	}
}

func init() {
	register(map[scenario.Op]func(in *Interp, t *thread, st *scenario.Stmt){
		scenario.OpSpawn: func(in *Interp, t *thread, st *scenario.Stmt) {
			in.needGIL(t, st)
			in.spawn(t, st)
		},
		scenario.OpJoin:     func(in *Interp, t *thread, st *scenario.Stmt) { in.join(t, st.Name) },
		scenario.OpWork:     (*Interp).work,
		scenario.OpIO:       func(in *Interp, t *thread, _ *scenario.Stmt) { in.blockingCall(t, "io", nil) },
		scenario.OpPrint:    (*Interp).print,
		scenario.OpAcquire:  func(in *Interp, t *thread, _ *scenario.Stmt) { in.takeGIL(t, "acquire") },
		scenario.OpRelease:  func(in *Interp, t *thread, _ *scenario.Stmt) { in.release(t) },
		scenario.OpEnsure:   func(in *Interp, t *thread, _ *scenario.Stmt) { in.ensure(t) },
		scenario.OpUnensure: func(in *Interp, t *thread, _ *scenario.Stmt) { in.unensure(t) },
		scenario.OpNew: func(in *Interp, t *thread, st *scenario.Stmt) {
			in.needGIL(t, st)
			in.heap.create(st.Name, nil)
		},
		scenario.OpLocal: func(in *Interp, t *thread, st *scenario.Stmt) {
			t.locals = append(t.locals, in.heap.create(st.Name, t))
		},
		scenario.OpPublish: (*Interp).publish,
		scenario.OpIncref: func(in *Interp, t *thread, st *scenario.Stmt) {
			in.needGIL(t, st)
			if o := in.object(t, st.Name, "incref"); o != nil {
				o.refs++
			}
		},
		scenario.OpDecref: func(in *Interp, t *thread, st *scenario.Stmt) {
			in.needGIL(t, st)
			if o := in.heap.bound[st.Name]; o != nil {
				in.decrefObject(t, o, "decref")
			}
		},
		scenario.OpUse: func(in *Interp, t *thread, st *scenario.Stmt) {
			in.needGIL(t, st)
			in.object(t, st.Name, "use")
		},
		scenario.OpGuard:   (*Interp).guard,
		scenario.OpLock:    func(in *Interp, t *thread, st *scenario.Stmt) { in.lock(t, st.Name) },
		scenario.OpUnlock:  (*Interp).unlock,
		scenario.OpSet:     (*Interp).set,
		scenario.OpWait:    (*Interp).wait,
		scenario.OpLoop:    (*Interp).loop,
		scenario.OpForever: (*Interp).forever,
		scenario.OpYield:   func(*Interp, *thread, *scenario.Stmt) {},
		scenario.OpExit: func(in *Interp, _ *thread, st *scenario.Stmt) {
			in.exitCode = st.N
			panic(mainExited{})
		},
		scenario.OpIf:    (*Interp).ifFinalizing,
		scenario.OpUntil: (*Interp).until,
		scenario.OpPark:  func(in *Interp, t *thread, _ *scenario.Stmt) { in.park(t) },
	})
}

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

// do runs st's semantics: after Py_FinalizeEx returned, main's own
// meaning of a statement first (afterfinalize.go); a spawn or join of a
// replicated block as one of each copy (threads.go).
func (in *Interp) do(t *thread, st *scenario.Stmt) {
	if in.v2.afterFinalize && t.id == 0 && in.afterFinalizeStmt(t, st) {
		return
	}
	if (st.Op == scenario.OpSpawn || st.Op == scenario.OpJoin) && in.group(t, st) {
		return
	}
	sem := semantics[st.Op]
	if sem == nil {
		panic("runtime: no semantics for statement " + st.Op.String())
	}
	sem(in, t, st)
}

// work is N bytecode steps, each a scheduling point that honours a drop
// request (the eval breaker).
func (in *Interp) work(t *thread, st *scenario.Stmt) {
	for i := 0; i < st.N; i++ {
		if i > 0 {
			t.setIter(i)
			in.point(t)
		}
		in.needGIL(t, st)
		in.evalBreaker(t)
		t.sinceTake++
	}
}

// release is PyEval_SaveThread: a fatal error without the GIL.
func (in *Interp) release(t *thread) {
	if !t.hasGIL {
		in.halt(t, Abort, KindFatalRelease, fatalReleaseWords(t.name))
	}
	in.releaseGIL(t)
}

func (in *Interp) publish(t *thread, st *scenario.Stmt) {
	in.needGIL(t, st)
	if o := in.object(t, st.Name, "publish"); o != nil && !o.published {
		o.published = true
		if o.stack == nil {
			in.heap.globals = append(in.heap.globals, o)
		}
	}
}

// guard is v1's finalizing-safe DECREF: skipped once Py_IsFinalizing().
func (in *Interp) guard(t *thread, st *scenario.Stmt) {
	if in.finalizing && t.id != 0 {
		in.event(t, EvNote, guardSkippedWords(st.Name))
		return
	}
	in.needGIL(t, st)
	if o := in.heap.bound[st.Name]; o != nil {
		in.decrefObject(t, o, "guarded decref")
	}
}

func (in *Interp) unlock(t *thread, st *scenario.Stmt) {
	l := in.locks[st.Name]
	if l == nil || l.holder != t.id {
		in.halt(t, Corruption, KindBadUnlock, badUnlockWords(t.name, st.Name))
	}
	l.holder = -1
	if l.real != nil {
		l.real.Unlock()
	}
	in.event(t, EvUnlock, st.Name)
}

func (in *Interp) set(t *thread, st *scenario.Stmt) {
	in.events[st.Name] = true
	in.event(t, EvSet, st.Name)
}

func (in *Interp) wait(t *thread, st *scenario.Stmt) {
	if !in.events[st.Name] {
		in.blockingCall(t, "wait "+st.Name, eventWait{in, t, st.Name})
	}
}

func (in *Interp) loop(t *thread, st *scenario.Stmt) {
	for i := 0; i < st.N; i++ {
		if i > 0 {
			t.setIter(i)
			in.point(t)
		}
		in.exec(t, st.Body)
	}
}

func (in *Interp) forever(t *thread, st *scenario.Stmt) {
	for first := true; ; first = false {
		if !first {
			in.point(t)
		}
		in.exec(t, st.Body)
	}
}

// ifFinalizing is Py_IsFinalizing() / sys.is_finalizing(), true once the
// flag is set (step 4) and after; it needs no GIL. The statement's own
// scheduling point comes before the read, and the chosen block's first
// statement has its own after it, so the check races with the flag as the
// real time-of-check/time-of-use does.
func (in *Interp) ifFinalizing(t *thread, st *scenario.Stmt) {
	body := st.Else
	if in.finalizing {
		body = st.Body
	}
	in.event(t, EvNote, isFinalizingWords(in.finalizing))
	in.exec(t, body)
}

// until E is a loop that checks event E before each pass (a scheduling
// point between passes): "poll until the shutdown event is set".
func (in *Interp) until(t *thread, st *scenario.Stmt) {
	for first := true; ; first = false {
		if !first {
			in.point(t)
		}
		if in.events[st.Name] {
			return
		}
		in.exec(t, st.Body)
	}
}

// needGIL reports a GIL-requiring statement run without the GIL.
func (in *Interp) needGIL(t *thread, st *scenario.Stmt) {
	if !t.hasGIL {
		what := st.Op.String()
		if st.Name != "" {
			what += " " + st.Name
		}
		in.noGILAt(t, t.cur, in.decrefTarget(t.cur), noGILWords(t.name, what))
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
