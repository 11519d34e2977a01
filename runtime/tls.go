package runtime

import (
	"fmt"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// atthreadexit { }: a thread-local destructor (C++ thread_local, pthread
// key destructor, threading.local value). Running the statement registers
// the block, once per statement and thread, as constructing a thread_local
// does. The blocks run last registered first, when the thread ends
// normally or by the forced unwind (glibc runs TLS destructors after the
// unwind), without the GIL (the thread has released it); not when it is
// terminated, hung or parked. Where finalization clears the thread states
// of threads still alive (3.8 at step 7, 3.9-3.13: Python/pystate.c
// PyThreadState_Clear drops tstate->dict), the blocks of such a thread run
// on main, with main's GIL, at that point; 3.14 does not clear a live
// thread's state there. A forced unwind that starts inside one aborts
// (destructors are noexcept).

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

// atThreadExit runs t's thread-local destructors as t ends, unless it was
// terminated. endThread calls it first.
func (in *Interp) atThreadExit(t *thread, how string) {
	if how != "terminated" {
		in.runTLS(t, t)
	}
}

// clearThreadLocals runs the thread-local destructors of o, a thread whose
// state finalization clears, on main (3.8 at step 7, 3.9-3.13 after the
// flag: PyThreadState_Clear drops tstate->dict). The tstate-freeing loop
// of finalize calls it for each thread whose state it frees.
func (in *Interp) clearThreadLocals(main, o *thread) {
	if in.preset.Release.Minor >= 14 || o.ended {
		return
	}
	in.runTLS(main, o)
}

// runTLS runs the registered atthreadexit blocks of owner on runner, last
// registered first, each once.
func (in *Interp) runTLS(runner, owner *thread) {
	l := in.v2.tls[owner.id]
	for l != nil && len(l.blocks) > 0 {
		st := l.blocks[len(l.blocks)-1]
		l.blocks = l.blocks[:len(l.blocks)-1]
		prev := runner.cur
		runner.cur = st
		in.event(runner, EvNote, tlsNote+owner.name)
		runner.inCleanup++
		if e := in.catchRaise(runner, st.Body); e != nil {
			in.event(runner, EvNote, "exception ignored in a thread-local destructor: "+e.msg)
		}
		runner.inCleanup--
		if runner != owner && !runner.hasGIL {
			// Run on main, which called it holding the GIL, in the
			// middle of finalization: like an atexit handler or a
			// teardown block that returns without the GIL, main's own
			// failure (a tp_clear of tstate->dict that released the GIL
			// and left it released).
			in.haltAt(runner, st, Corruption, KindNoGIL, fmt.Sprintf("a thread-local destructor of %s, run on main as finalization cleared its thread state, returned into finalization without the GIL", owner.name))
		}
		runner.cur = prev
	}
}
