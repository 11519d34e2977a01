package runtime

import (
	"fmt"
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
//   - guards are granted during that wait; the close that leaves none held
//     while main waits sets the finalizing flag in the same step, and from
//     then on every request for a guard is refused (interp_guard is not
//     held, ensure view runs its else block);
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
	name   string // "" for the implicit guard of ensure view
	holder int    // the thread that took it
	leaked bool   // its name was taken again while it was held
}

// guardState is the interpreter's guards.
type guardState struct {
	held     []guard
	waiting  bool // main is in the guard wait
	refusing bool // no guard is granted any more (the flag is set)
}

func (g *guardState) find(name string) int {
	for i, h := range g.held {
		if h.name == name && !h.leaked && name != "" {
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
// _FromView): it reports whether G was granted.
func (in *Interp) takeGuard(t *thread, name string) bool {
	g := &in.guards
	if g.refusing || in.finalizing {
		in.event(t, EvNote, "interp_guard "+name+": refused (finalization has started)")
		return false
	}
	if i := g.find(name); i >= 0 {
		g.held[i].leaked = true
		in.event(t, EvNote, "interp_guard "+name+": the guard it held is leaked, still held")
	}
	g.held = append(g.held, guard{name: name, holder: t.id})
	in.event(t, EvNote, "interp_guard "+name+": granted")
	return true
}

// closeGuard is PyInterpreterGuard_Close on the guard held under name
// ("" with holder for ensure view's implicit one); closing a guard that
// is not held does nothing. The close that leaves none held while main
// waits sets the flag.
func (in *Interp) closeGuard(t *thread, name string, holder int) {
	g := &in.guards
	i := g.find(name)
	if name == "" {
		for j, h := range g.held {
			if h.name == "" && h.holder == holder {
				i = j
			}
		}
	}
	if i < 0 {
		return
	}
	g.held = append(g.held[:i], g.held[i+1:]...)
	in.event(t, EvNote, "close "+guardName(name)+": closed")
	if len(g.held) == 0 && g.waiting {
		in.raiseFlag()
		in.event(t, EvNote, "no interpreter guard held: finalization starts (the flag is set)")
	}
}

func guardName(name string) string {
	if name == "" {
		return "the implicit guard of ensure view"
	}
	return name
}

// guardBlock runs body holding the guard it took (interp_guard G { } and
// ensure view { }): the guard is closed, and leave runs, when body is left
// normally, by a raise, by the forced unwind or by main's exit; not when
// the thread hangs, parks or is terminated inside it.
func (in *Interp) guardBlock(t *thread, name string, body []*scenario.Stmt, leave func()) {
	defer func() {
		// nil: the normal end (below), or the end of the run (Goexit).
		if r := recover(); r != nil {
			if _, ended := r.(threadEnded); !ended || t.endHow == "unwound" {
				in.closeGuard(t, name, t.id) // a raise, main's exit, the forced unwind
			}
			panic(r)
		}
	}()
	in.exec(t, body)
	leave()
	in.closeGuard(t, name, t.id)
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
		n := "guard " + guardName(h.name)
		if h.leaked {
			n += " (leaked)"
		}
		if i > 0 {
			n += " held by " + w.in.threads[h.holder].name
		}
		names = append(names, n)
	}
	return "the interpreter guards to be closed: " + strings.Join(names, ", ")
}

// Never: no held guard can be closed any more. A named guard is closed by
// a close of it, or by the end of its interp_guard block, that some live
// thread other than main still has ahead; the implicit guard of ensure
// view only by its holder, leaving the block; a leaked guard by nothing.
func (w guardWait) Never() (why, how string, ok bool) {
	in := w.in
	var whys []string
	how = chaos.ChainNever
	for _, h := range in.guards.held {
		holder := in.threads[h.holder]
		switch {
		case h.leaked:
			whys = append(whys, fmt.Sprintf("guard %s taken by %s was leaked (its name was taken again while it was held): nothing can close it", h.name, holder.name))
		case h.name == "":
			if !holder.hung && !holder.ended {
				return "", "", false
			}
			whys = append(whys, fmt.Sprintf("%s, %s, holds the implicit guard of ensure view", holder.name, holder.state()))
		default:
			why, hw, never := in.nobodyMay("close "+h.name, in.threads[0])
			if !never {
				return "", "", false
			}
			whys = append(whys, fmt.Sprintf("guard %s is held by %s (%s): %s", h.name, holder.name, holder.state(), why))
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

// waitGuards is the guard wait: main releases the GIL and waits until no
// interpreter guard is held; the flag is then set (by the close that left
// none held, or here when none was held). Releases before 3.15 have no
// guards and no wait.
func (in *Interp) waitGuards(t *thread) {
	if !in.preset.Guards {
		return
	}
	in.setPhase(t, phaseWaitGuards)
	if len(in.guards.held) > 0 {
		in.releaseGIL(t)
		in.guards.waiting = true
		in.ctl.Block(t.id, guardWait{in})
		in.guards.waiting = false
		in.takeGIL(t, "the guard wait")
	}
	in.raiseFlag() // at once when no guard was held
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

func (in *Interp) interpGuard(t *thread, st *scenario.Stmt) { in.takeGuard(t, st.Name) }

func (in *Interp) closeStmt(t *thread, st *scenario.Stmt) { in.closeGuard(t, st.Name, -1) }

func (in *Interp) interpGuardBlock(t *thread, st *scenario.Stmt) {
	if !in.takeGuard(t, st.Name) {
		in.exec(t, st.Else)
		return
	}
	in.guardBlock(t, st.Name, st.Body, func() {})
}

// ensureGuard is PyThreadState_Ensure(G).
func (in *Interp) ensureGuard(t *thread, st *scenario.Stmt) {
	if in.guards.find(st.Name) < 0 {
		in.halt(t, Corruption, KindClosedGuard, fmt.Sprintf("%s: ensure %s (PyThreadState_Ensure) with guard %s closed or refused: undefined behaviour", t.name, st.Name, st.Name))
	}
	in.ensure(t)
}

// ensureView is PyThreadState_EnsureFromView: attach holding an implicit
// guard until the body is left (PyThreadState_Release); refused once the
// flag is set, then the else block runs.
func (in *Interp) ensureView(t *thread, st *scenario.Stmt) {
	if !in.takeGuard(t, "") {
		in.exec(t, st.Else)
		return
	}
	in.ensure(t)
	in.guardBlock(t, "", st.Body, func() { in.unensure(t) })
}

func (in *Interp) ifGuarded(t *thread, st *scenario.Stmt) {
	body, v := st.Else, "not held"
	if in.guards.find(st.Name) >= 0 {
		body, v = st.Body, "held"
	}
	in.event(t, EvNote, "guard "+st.Name+" is "+v)
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
		Message: fmt.Sprintf("main waited for the interpreter guards until the step budget ran out: one was always held (guard churn starves finalization): main waits for %s (held by %s)", guardWait{in}, in.threads[guardWait{in}.Blocker()].name)}
	return true
}
