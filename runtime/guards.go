package runtime

import (
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// PEP 788's interpreter guards (CPython 3.15, gh-149101; spec v3), as
// real 3.15.2 behaves (research note section 13):
//
//   - main runs atexit, then waits with the GIL released until no guard
//     is held (Py_FinalizeEx's guard wait, phase "wait-guards"); other
//     threads, daemons too, run Python meanwhile and see is_finalizing()
//     false;
//   - guards are granted during that wait; main, woken once none is held,
//     refuses every later request (interp_guard is not held, ensure view
//     runs its else block, a fresh PyGILState_Ensure hangs) if none was
//     granted again meanwhile, else goes round again (waitGuards); the
//     flag is set after that, at step 4;
//   - a guard that is never closed hangs the process after atexit;
//   - ensure G (PyThreadState_Ensure) attaches while G is held, so it
//     cannot meet the policy; with G closed or refused it is undefined
//     behaviour (corruption, kind closed-guard);
//   - a guard's name is a variable: taking G again while G is held leaks
//     the first guard, which stays held (a C pointer overwritten).
//
// A guard is global: any thread may close it.

// guard is one interpreter guard that is held.
type guard struct {
	id     int    // which take made it
	name   string // "" for the implicit guard of ensure view
	holder int    // the thread that took it
	// scoped: a block took it (interp_guard G { }, ensure view); its
	// variable is the block's own, so it is closed by identity when the
	// block is left, and another thread's G is another variable.
	scoped bool
	leaked bool // the statement form took its name again while it was held
}

// guardState is the interpreter's guards.
type guardState struct {
	held     []guard
	next     int  // the id of the next guard
	waiting  bool // main is in the guard wait
	refusing bool // no guard is granted any more (the flag is set)
}

// find returns the index of the guard a statement of thread t means by
// name: the innermost guard block of t of that name, else the guard the
// statement form last took under it; -1 if none is held.
func (g *guardState) find(name string, t int) int {
	if name == "" {
		return -1
	}
	for i := len(g.held) - 1; i >= 0; i-- {
		if h := g.held[i]; h.scoped && h.name == name && h.holder == t {
			return i
		}
	}
	for i, h := range g.held {
		if !h.scoped && h.name == name && !h.leaked {
			return i
		}
	}
	return -1
}

// Report kinds of the guards.
const (
	KindClosedGuard = "closed-guard" // ensure G with G closed or refused
	phaseWaitGuards = "wait-guards"  // main's guard wait, between atexit and the flag
)

// takeGuard is interp_guard G (PyInterpreterGuard_FromCurrent or
// _FromView), scoped for a block's own guard: it returns the guard's id,
// or false when it was refused.
func (in *Interp) takeGuard(t *thread, name string, scoped bool) (int, bool) {
	g := &in.guards
	if g.refusing || in.finalizing {
		in.event(t, EvNote, guardRefusedWords(name))
		return 0, false
	}
	if i := g.find(name, -1); i >= 0 && !scoped {
		g.held[i].leaked = true
		in.event(t, EvNote, guardLeakedWords(name))
	}
	id := g.next
	g.next++
	g.held = append(g.held, guard{id: id, name: name, holder: t.id, scoped: scoped})
	in.event(t, EvNote, guardGrantedWords(name))
	return id, true
}

// closeGuard is PyInterpreterGuard_Close on the guard held at index i (-1:
// none, and closing a guard that is not held does nothing).
func (in *Interp) closeGuard(t *thread, i int) {
	g := &in.guards
	if i < 0 {
		return
	}
	name := g.held[i].name
	g.held = append(g.held[:i], g.held[i+1:]...)
	in.event(t, EvNote, guardClosedWords(name))
}

// closeID closes the guard with id, if it is still held.
func (in *Interp) closeID(t *thread, id int) {
	in.closeGuard(t, slices.IndexFunc(in.guards.held, func(h guard) bool { return h.id == id }))
}

func guardName(name string) string {
	if name == "" {
		return "the implicit guard of ensure view"
	}
	return "guard " + name
}

// guardBlock runs body holding the guard id it took (interp_guard G { }
// and ensure view { }): the guard is closed, and leave runs, when body is
// left normally, by a raise, by the forced unwind or by main's exit; not
// when the thread hangs, parks or is terminated inside it.
func (in *Interp) guardBlock(t *thread, id int, body []*scenario.Stmt, leave func()) {
	defer func() {
		if in.ending() {
			return
		}
		// nil: the normal end (below), or the end of a wild run (Goexit).
		if r := recover(); r != nil {
			if _, ended := r.(threadEnded); !ended || t.endHow == "unwound" {
				in.closeID(t, id) // a raise, main's exit, the forced unwind
			}
			panic(r)
		}
	}()
	in.exec(t, body)
	leave()
	in.closeID(t, id)
}

// guardWait is main's wait between atexit and the flag: until no guard is
// held.
type guardWait struct{ in *Interp }

func (w guardWait) Ready() bool { return len(w.in.guards.held) == 0 }
func (w guardWait) Blocker() int {
	if h := w.in.guards.held; len(h) > 0 {
		return h[0].holder
	}
	return -1
}

// String names the guards main waits for; the first one's holder is the
// wait's Blocker, which the wait-for chain names after it.
func (w guardWait) String() string {
	var names []string
	for i, h := range w.in.guards.held {
		n := guardName(h.name)
		if h.leaked {
			n += " (leaked)"
		}
		if i > 0 {
			n += " held by " + w.in.threads[h.holder].name
		}
		names = append(names, n)
	}
	return guardWaitWords(names)
}

// Never: no held guard can be closed any more. A guard a block took is
// closed by its holder, leaving the block; one the statement form took, by
// a close of it that some live thread other than main still has ahead; a
// leaked guard by nothing.
func (w guardWait) Never() (why, how string, ok bool) {
	in := w.in
	var whys []string
	how = chaos.ChainNever
	for _, h := range in.guards.held {
		holder := in.threads[h.holder]
		switch {
		case h.leaked:
			whys = append(whys, leakedGuardWhy(h.name, holder.name))
		case h.scoped:
			if !holder.hung && !holder.ended {
				return "", "", false
			}
			whys = append(whys, scopedGuardWhy(holder.name, holder.state(), guardName(h.name)))
		default:
			why, hw, never := in.nobodyMay("close "+h.name, in.threads[0])
			if !never {
				return "", "", false
			}
			whys = append(whys, heldGuardWhy(h.name, holder.name, holder.state(), why))
			if hw != chaos.ChainNever {
				how = hw
			}
		}
		if holder.hung {
			how = chaos.ChainForever
		} else if holder.ended && how == chaos.ChainNever {
			how = chaos.ChainEnded
		}
	}
	return strings.Join(whys, "; "), how, true
}

// waitGuards is the guard wait of 3.15.2's make_pre_finalization_calls
// (pylifecycle.c 2274-2377, read from the machine code of libpython3.15d
// and probed on the real interpreter: make pep788-probes): after atexit,
// main parks with the GIL released until no guard is held; woken, it
// stops the world and refuses guards from then on only if it can swap the
// guard count from 0 (to UINTPTR_MAX). A guard granted between the last
// close and that swap sends it round again: it joins the non-daemon
// threads (and would run atexit callbacks registered meanwhile; the
// language registers none) and waits again. The finalizing flag is set
// after the loop, at step 4. Releases before 3.15 have no guards and no
// wait.
func (in *Interp) waitGuards(t *thread) {
	if !in.preset.Guards {
		return
	}
	for {
		in.setPhase(t, phaseWaitGuards)
		if len(in.guards.held) > 0 {
			in.guards.waiting = true
			in.releaseGIL(t)
			in.ctl.Block(t.id, guardWait{in})
			in.takeGIL(t, "the guard wait") // scheduling points: a guard may be taken meanwhile
			in.guards.waiting = false
		}
		if len(in.guards.held) == 0 { // the world stopped: swap the count
			in.guards.refusing = true
			in.event(t, EvNote, guardsRefusedWords)
			return
		}
		in.event(t, EvNote, guardsRoundWords)
		in.setPhase(t, "wait-threads")
		in.waitNonDaemon(t)
	}
}

// The statements.

func init() {
	register(map[scenario.Op]func(in *Interp, t *thread, st *scenario.Stmt){
		scenario.OpInterpGuard:      (*Interp).interpGuard,
		scenario.OpInterpGuardBlock: (*Interp).interpGuardBlock,
		scenario.OpClose:            (*Interp).closeStmt,
		scenario.OpEnsureGuard:      (*Interp).ensureGuard,
		scenario.OpEnsureView:       (*Interp).ensureView,
		scenario.OpIfGuarded:        (*Interp).ifGuarded,
	})
}

func (in *Interp) interpGuard(t *thread, st *scenario.Stmt) { in.takeGuard(t, st.Name, false) }

func (in *Interp) closeStmt(t *thread, st *scenario.Stmt) {
	in.closeGuard(t, in.guards.find(st.Name, t.id))
}

func (in *Interp) interpGuardBlock(t *thread, st *scenario.Stmt) {
	id, ok := in.takeGuard(t, st.Name, true)
	if !ok {
		in.exec(t, st.Else)
		return
	}
	in.guardBlock(t, id, st.Body, func() {})
}

// ensureGuard is PyThreadState_Ensure(G).
func (in *Interp) ensureGuard(t *thread, st *scenario.Stmt) {
	if in.guards.find(st.Name, t.id) < 0 {
		in.halt(t, Corruption, KindClosedGuard, closedGuardWords(t.name, st.Name))
	}
	in.ensure(t)
}

// ensureView is PyThreadState_EnsureFromView: attach holding an implicit
// guard until the body is left (PyThreadState_Release); refused once the
// flag is set, then the else block runs.
func (in *Interp) ensureView(t *thread, st *scenario.Stmt) {
	id, ok := in.takeGuard(t, "", true)
	if !ok {
		in.exec(t, st.Else)
		return
	}
	in.ensure(t)
	in.guardBlock(t, id, st.Body, func() { in.unensure(t) })
}

func (in *Interp) ifGuarded(t *thread, st *scenario.Stmt) {
	body, held := st.Else, in.guards.find(st.Name, t.id) >= 0
	if held {
		body = st.Body
	}
	in.event(t, EvNote, ifGuardedWords(st.Name, held))
	in.exec(t, body)
}

// guardChurn classifies a run whose step budget ran out while main was in
// the guard wait as a deadlock (the livelock rule): guards taken and closed
// so that one is always held starve finalization for ever.
func (in *Interp) guardChurn(r *Result) bool {
	if !in.guards.waiting || len(in.guards.held) == 0 {
		return false
	}
	r.Outcome = Deadlock
	r.Report = Report{Kind: KindDeadlock, Thread: MainThread, Phase: in.phase,
		Message: guardChurnMessage(guardWait{in}.String(), in.threads[guardWait{in}.Blocker()].name)}
	return true
}
