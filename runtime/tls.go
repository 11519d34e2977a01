package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// atthreadexit { } and atthreadexit native { }: thread-local destructors,
// in two kinds (spec v3, "Corrections to v2"). Running the statement
// registers the block, once per statement and thread, as constructing a
// thread-local does. Blocks run last registered first, each once.
//
// Plain atthreadexit is Python-level thread state (threading.local values,
// the thread-state dict), which PyThreadState_Clear drops. It runs on the
// thread at a normal end (thread_run clears its own state before it lets
// the GIL go), or on main, with main's GIL, when finalization clears the
// thread's state: 3.8 at step 7 (zapthreads; also the state of a thread
// the policy unwound or terminated, which never deleted its own), 3.9-3.13
// right after the flag (_PyThreadState_DeleteExcept, bpo-19466), and 3.14
// and 3.15 right after the flag too (3.14.7 pylifecycle.c 2092-2103,
// pystate.c 2028-2042: every other state is cleared there and freed only
// when its thread lets go; research note section 14). Never on the thread
// when it unwinds, is terminated, hangs or parks.
//
// atthreadexit native is C++ thread_local and pthread-key destructors. They
// run on the thread itself, without the GIL (the thread released it), at
// a normal end, after pthread_exit's forced unwind (glibc runs TLS
// destructors after the unwind; research note item 11) and at _endthreadex
// (Windows TLS callbacks), never when the thread hangs or parks, and never
// on main. A forced unwind that starts inside one aborts (destructors are
// noexcept).

func init() {
	register(map[scenario.Op]func(in *Interp, t *thread, st *scenario.Stmt){
		scenario.OpAtThreadExit: (*Interp).registerTLS,
	})
}

// tlsList is the atthreadexit blocks a thread registered.
type tlsList struct {
	blocks []*scenario.Stmt
	seen   map[*scenario.Stmt]bool
}

func (in *Interp) registerTLS(t *thread, st *scenario.Stmt) {
	if in.v2.tls == nil {
		in.v2.tls = map[int]*tlsList{}
	}
	l := in.v2.tls[t.id]
	if l == nil {
		l = &tlsList{seen: map[*scenario.Stmt]bool{}}
		in.v2.tls[t.id] = l
	}
	if !l.seen[st] {
		l.seen[st] = true
		l.blocks = append(l.blocks, st)
	}
}

// atThreadExit runs t's native thread-local destructors as t ends, however
// it ends (normally, unwound or terminated). endThread calls it first; a
// normal end ran the plain ones already (runThread).
func (in *Interp) atThreadExit(t *thread) {
	in.runTLS(t, t, true)
}

// clearThreadLocals runs the Python-level thread-local destructors (plain
// atthreadexit) of o, whose thread state finalization clears, on main (3.8
// at step 7; 3.9 and later right after the flag). Native ones stay with
// their thread.
func (in *Interp) clearThreadLocals(main, o *thread) {
	in.runTLS(main, o, false)
}

// runTLS runs the registered atthreadexit blocks of owner of the kind
// native says on runner, last registered first, each once; blocks of the
// other kind stay registered.
func (in *Interp) runTLS(runner, owner *thread, native bool) {
	l := in.v2.tls[owner.id]
	for l != nil {
		i := len(l.blocks) - 1
		for i >= 0 && l.blocks[i].Native != native {
			i--
		}
		if i < 0 {
			return
		}
		st := l.blocks[i]
		l.blocks = append(l.blocks[:i:i], l.blocks[i+1:]...)
		prev := runner.cur
		runner.cur = st
		in.event(runner, EvNote, tlsRunWords(owner.name))
		runner.inCleanup++
		if e := in.catchRaise(runner, st.Body); e != nil {
			in.event(runner, EvNote, tlsRaiseWords(e.msg))
		}
		runner.inCleanup--
		if runner != owner && !runner.hasGIL {
			// Run on main, which called it holding the GIL, in the
			// middle of finalization: like an atexit handler or a
			// teardown block that returns without the GIL, main's own
			// failure (a tp_clear of tstate->dict that released the GIL
			// and left it released).
			in.haltAt(runner, st, Corruption, KindNoGIL, tlsNoGILWords(owner.name))
		}
		runner.cur = prev
	}
}
